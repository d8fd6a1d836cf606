"""One call per job: train a config end to end, reload a trained model, evaluate a checkpoint."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import torch
import yaml
from torch import nn
from torch.utils.data import DataLoader, Subset

from ctnet_lib.data.list_files import check_class_names, read_class_list
from ctnet_lib.devices import resolve_device
from ctnet_lib.models import build_model
from ctnet_lib.models.presets import model_config
from ctnet_lib.models.pretrained import load_matching_weights
from ctnet_lib.train.checkpoint import BEST, LAST
from ctnet_lib.train.checkpoint_sources import read_any_checkpoint, resolve_zoo_path
from ctnet_lib.train.config import TrainConfig, config_from_dict
from ctnet_lib.train.data_setup import DataSource, eval_dataset, list_source, resolve_data, train_dataset
from ctnet_lib.train.device import choose_precision, prepare_model
from ctnet_lib.train.distributed import DistributedContext, shard_indices
from ctnet_lib.train.engine import RESUMABLE_CHANGES, TrainResult, fit, seed_everything
from ctnet_lib.train.evaluation import EvaluationResult, evaluate
from ctnet_lib.validation import check_at_least, check_output_folder

__all__ = [
    "TrainedModel",
    "build_training_model",
    "check_evaluation_options",
    "compare_runs",
    "evaluate_run",
    "final_test",
    "load_trained_model",
    "recorded_recipe",
    "train",
    "train_models",
    "train_or_reuse",
]


def build_training_model(config: TrainConfig, num_classes: int) -> nn.Module:
    """``build_model(config.model, ...)`` with the config's dropout, pretrained weights and options."""
    options = dict(config.model_options)
    if config.pretrained:
        options["pretrained"] = config.pretrained
    return build_model(config.model, num_classes=num_classes, num_frames=config.num_frames,
                       dropout=config.dropout, **options)


def train(config: TrainConfig, stop_after_epochs: int | None = None) -> TrainResult:
    """Resolve the data (generating the synthetic set if needed), build the model and :func:`fit` it.

    With ``config.check_data`` every item of the list files is probed first (``VideoClipDataset.check``),
    so a missing or unreadable video ends the run in seconds, naming its list-file line (with
    ``bad_items='skip'`` the training items are only reported). A complete run in ``config.run_dir``
    (with ``resume``) is not trained again.
    """
    check_output_folder(config.run_dir, "run folder")
    source = resolve_data(config)
    train_set, val_set = train_dataset(source, config), eval_dataset(source, config)
    if config.check_data and config.data == "lists":  # the synthetic set is written and checked by us
        for dataset in (train_set, val_set):
            dataset.check()
    seed_everything(config.seed)
    model = build_training_model(config, source.num_classes)
    return fit(model, train_set, val_set, config, class_names=source.class_names,
               num_classes=source.num_classes, stop_after_epochs=stop_after_epochs)


@dataclass(frozen=True)
class TrainedModel:
    """A model in eval mode with the config and class names it was trained with, and the ``source`` of
    its checkpoint (a row of ``checkpoint_sources.CHECKPOINT_SOURCES``: 'ctnet-lab' or 'release')."""

    model: nn.Module
    config: TrainConfig
    class_names: tuple[str, ...]
    epoch: int
    checkpoint: Path
    source: str = "ctnet-lab"


def _class_names(recorded: Sequence[str], num_classes: int, class_file: str | Path | None, source: str
                 ) -> tuple[str, ...]:
    """The recorded names; for a checkpoint that records none, those of ``class_file``, else '0', '1'..."""
    if recorded:
        names = tuple(str(name) for name in recorded)
        if class_file is not None:
            check_class_names(names, read_class_list(class_file).names, str(class_file))
        return names
    if class_file is None:
        return tuple(str(label) for label in range(num_classes))
    names = read_class_list(class_file).names
    if len(names) != num_classes:
        raise ValueError(f"class file {class_file} names {len(names)} classes but {source} has "
                         f"{num_classes}: pass the class file the model was trained with (one name per "
                         "line, in label order)")
    return names


def load_trained_model(
    path: str | Path,
    which: str = "best",
    device: str | torch.device = "cpu",
    *,
    class_file: str | Path | None = None,
    model: str | None = None,
) -> TrainedModel:
    """Rebuild the model of a checkpoint file, or of ``<run_dir>/best.pt`` (``which='last'``: last.pt),
    on ``device`` (``'auto'``, ``'cpu'``, ``'cuda'`` or ``'cuda:N'``).

    The file may be any row of ``checkpoint_sources.CHECKPOINT_SOURCES``: a ``ctnet train`` checkpoint or
    the authors' released one as it is (``ct_net_8f_r50.pth.tar``, its state dict alone, with or without
    ``module.``), recognised by content, or a model of the zoo (``'zoo:ctnet_small'``, see
    ``train.zoo``). ``class_file`` (classes.json, or one name per line) names the
    classes of a checkpoint that records none (the release's); a recorded list must equal it. ``model``:
    the preset the caller expects; another one in the file raises ValueError naming both.
    """
    if model is not None:
        model_config(model)  # an unknown preset is named before the file is read
    path = resolve_zoo_path(path)
    if path.is_dir():
        if which not in ("best", "last"):
            raise ValueError(f"which={which!r}: use 'best' or 'last'")
        path = path / (BEST if which == "best" else LAST)
    state, source = read_any_checkpoint(path)
    config = config_from_dict({**state["config"], "pretrained": None}, str(path))
    if model is not None and model != config.model:
        raise ValueError(f"{path} holds a {config.model}, which does not fit --model {model} (pass --model "
                         f"{config.model} or another checkpoint)")
    num_classes = int(state["num_classes"])
    network = build_training_model(config, num_classes)
    load_matching_weights(network, state["model"], str(path))
    names = _class_names(state.get("class_names") or (), num_classes, class_file, str(path))
    prepare_model(network, resolve_device(device)).eval()
    return TrainedModel(network, config, names, int(state["epoch"]), path, source.name)


def evaluate_run(
    trained: TrainedModel,
    clips: int = 1,
    crops: int = 1,
    *,
    list_file: str | Path | None = None,
    root: str | Path | None = None,
    class_file: str | Path | None = None,
    view_average: str | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
    source: DataSource | None = None,
    context: DistributedContext | None = None,
    progress: bool = True,
) -> EvaluationResult:
    """Test ``trained`` with ``clips`` x ``crops`` views per video on its validation list (or
    ``list_file`` under ``root``); the views' softmax scores are averaged unless ``view_average='logits'``.
    Under DDP (``context``) each rank tests its shard of the videos and every rank gets the whole result.

    The class names of the data (``class_file`` when given, else the run's data set) must be those the
    checkpoint was trained with, in the same order; otherwise ValueError names the first difference.
    """
    check_evaluation_options(clips, crops, batch_size, workers)
    config = trained.config
    context = context or DistributedContext()
    if source is None and config.data == "none" and list_file is not None:  # a converted checkpoint
        source = list_source(list_file, root, trained.class_names)
    source = source or resolve_data(config)
    if class_file is not None:
        source = replace(source, class_names=read_class_list(class_file).names)
    check_class_names(trained.class_names, source.class_names,
                      str(class_file) if class_file else f"the data set of {trained.checkpoint}")
    dataset = eval_dataset(source, config, clips, crops, list_file, root)
    device = next(trained.model.parameters()).device
    per_process = max(1, config.batch_size // (context.world_size * clips * crops))
    loader = DataLoader(Subset(dataset, shard_indices(len(dataset), context)), batch_size or per_process,
                        num_workers=config.workers if workers is None else workers,
                        pin_memory=device.type == "cuda")
    return evaluate(trained.model, loader, device, class_names=trained.class_names,
                    view_average=view_average or config.view_average,
                    precision=choose_precision(device, config.amp), context=context, progress=progress,
                    description=f"test {clips}x{crops}")


def check_evaluation_options(clips: int = 1, crops: int = 1, batch_size: int | None = None,
                             workers: int | None = None) -> None:
    """Raise ValueError naming an option of :func:`evaluate_run` out of its range."""
    check_at_least("clips", clips, 1)
    if crops not in (1, 3):
        raise ValueError(f"crops must be 1 or 3, got {crops!r}: pass 1 (centre) or 3 (three crops)")
    check_at_least("batch_size", batch_size, 1, optional=True)
    check_at_least("workers", workers, 0, optional=True)


def final_test(config: TrainConfig, context: DistributedContext) -> EvaluationResult:
    """The multi-view test after training: the best checkpoint in ``config.run_dir`` with
    ``config.test_clips`` x ``config.test_crops`` views, on this rank's device (``config.device``
    resolved with its local rank) and, under DDP, on its shard of the videos."""
    device = resolve_device(config.device, context.local_rank)
    trained = load_trained_model(config.run_dir, "best", device)
    return evaluate_run(trained, config.test_clips, config.test_crops, context=context,
                        progress=config.progress and context.is_main)


def train_models(config: TrainConfig, models: Sequence[str]) -> dict[str, TrainResult]:
    """Train every preset in ``models`` with the same recipe, each in ``<config.run_dir>/<model>``;
    complete runs found there are reused, not retrained."""
    return {name: train(config.replace(model=name, run_dir=str(Path(config.run_dir) / name)))
            for name in models}


def compare_runs(
    run_dirs: Mapping[str, str | Path], clips: int = 1, crops: int = 1, device: str = "cpu"
) -> tuple[pd.DataFrame, dict[str, EvaluationResult]]:
    """Test the best checkpoint of each run with one view and with ``clips`` x ``crops`` views.

    Returns a table (one row per run: epochs, params (M), training time (s), top-1/top-5 of both
    tests) and the multi-view evaluations by run name.
    """
    rows, evaluations = [], {}
    for name, run_dir in run_dirs.items():
        trained = load_trained_model(run_dir, "best", device)
        source = resolve_data(trained.config)
        single = evaluate_run(trained, source=source, progress=False)
        multi = evaluate_run(trained, clips, crops, source=source, progress=False)
        history = pd.read_csv(Path(run_dir) / "metrics.csv")
        rows.append({
            "model": name, "best_epoch": trained.epoch, "epochs": int(history["epoch"].max()),
            "params_m": sum(p.numel() for p in trained.model.parameters()) / 1e6,
            "train_time_s": float(history["epoch_time_s"].sum()),
            "top1_1view": single.top1, "top5_1view": single.top5,
            f"top1_{clips}x{crops}": multi.top1, f"top5_{clips}x{crops}": multi.top5,
        })
        evaluations[name] = multi
    return pd.DataFrame(rows).set_index("model"), evaluations


def recorded_recipe(run_dir: str | Path) -> TrainConfig | None:
    """The recipe shared by the runs in ``run_dir`` (folders ``<run_dir>/<model>`` with a config.yaml,
    as :func:`train_models` writes them), or None when it holds none. A missing model trained with it
    joins the folder without a second recipe; runs that disagree raise ValueError naming them."""
    configs = {path.parent.name: config_from_dict(yaml.safe_load(path.read_text(encoding="utf-8")),
                                                  str(path)).to_dict()
               for path in sorted(Path(run_dir).glob("*/config.yaml"))}
    if not configs:
        return None
    ignored = RESUMABLE_CHANGES | {"model"}
    recipes = {run: {k: v for k, v in values.items() if k not in ignored} for run, values in configs.items()}
    first, *others = recipes
    differing = [name for name in others if recipes[name] != recipes[first]]
    if differing:
        raise ValueError(
            f"the runs in {run_dir} were trained with different recipes ({first} vs {', '.join(differing)}): "
            "use one run folder per recipe"
        )
    return TrainConfig(**configs[first])


SYSTEM_FIELDS = ("device", "workers", "threads", "progress")


def train_or_reuse(
    run_dir: str | Path, models: Sequence[str], fallback: TrainConfig
) -> dict[str, TrainResult]:
    """Every preset of ``models`` trained in ``<run_dir>/<model>``: complete runs are reused, missing ones
    are trained with the recipe the folder already records (see :func:`recorded_recipe`), or with
    ``fallback`` in an empty folder. The system settings (device, workers, threads, progress) are
    ``fallback``'s."""
    recipe = recorded_recipe(run_dir) or fallback
    system = {name: getattr(fallback, name) for name in SYSTEM_FIELDS}
    return train_models(recipe.replace(run_dir=str(run_dir), **system), models)
