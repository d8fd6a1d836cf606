"""One call per job: train a config end to end, reload a trained model, evaluate a checkpoint."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml
from torch import nn
from torch.utils.data import DataLoader

from ctnet_lib.models import build_model
from ctnet_lib.train.checkpoint import BEST, LAST, load_checkpoint
from ctnet_lib.train.config import TrainConfig
from ctnet_lib.train.data_setup import DataSource, eval_dataset, resolve_data, train_dataset
from ctnet_lib.train.device import choose_precision, prepare_model, resolve_device
from ctnet_lib.train.engine import RESUMABLE_CHANGES, TrainResult, fit, seed_everything
from ctnet_lib.train.evaluation import EvaluationResult, evaluate

__all__ = [
    "TrainedModel",
    "build_training_model",
    "compare_runs",
    "evaluate_run",
    "load_trained_model",
    "recorded_recipe",
    "train",
    "train_models",
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

    A complete run in ``config.run_dir`` (with ``resume``) is not trained again.
    """
    source = resolve_data(config)
    seed_everything(config.seed)
    model = build_training_model(config, source.num_classes)
    return fit(model, train_dataset(source, config), eval_dataset(source, config), config,
               class_names=source.class_names, num_classes=source.num_classes,
               stop_after_epochs=stop_after_epochs)


@dataclass(frozen=True)
class TrainedModel:
    """A model in eval mode with the config and class names it was trained with."""

    model: nn.Module
    config: TrainConfig
    class_names: tuple[str, ...]
    epoch: int
    checkpoint: Path


def load_trained_model(path: str | Path, which: str = "best", device: str = "cpu") -> TrainedModel:
    """Rebuild the model of a checkpoint file, or of ``<run_dir>/best.pt`` (``which='last'``: last.pt)."""
    path = Path(path)
    if path.is_dir():
        if which not in ("best", "last"):
            raise ValueError(f"which={which!r}: use 'best' or 'last'")
        path = path / (BEST if which == "best" else LAST)
    state = load_checkpoint(path)
    config = TrainConfig(**{**state["config"], "pretrained": None})
    model = build_training_model(config, int(state["num_classes"]))
    model.load_state_dict(state["model"])
    prepare_model(model, resolve_device(device), channels_last=False).eval()
    return TrainedModel(model, config, tuple(state["class_names"]), int(state["epoch"]), path)


def evaluate_run(
    trained: TrainedModel,
    clips: int = 1,
    crops: int = 1,
    *,
    list_file: str | Path | None = None,
    root: str | Path | None = None,
    view_average: str | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
    source: DataSource | None = None,
    progress: bool = True,
) -> EvaluationResult:
    """Test ``trained`` with ``clips`` x ``crops`` views per video on its validation list (or
    ``list_file`` under ``root``); the views' softmax scores are averaged unless ``view_average='logits'``.
    """
    config = trained.config
    source = source or resolve_data(config)
    dataset = eval_dataset(source, config, clips, crops, list_file, root)
    device = next(trained.model.parameters()).device
    loader = DataLoader(dataset, batch_size or max(1, config.batch_size // (clips * crops)),
                        num_workers=config.workers if workers is None else workers,
                        pin_memory=device.type == "cuda")
    return evaluate(trained.model, loader, device, class_names=trained.class_names,
                    view_average=view_average or config.view_average,
                    precision=choose_precision(device, config.amp), progress=progress,
                    description=f"test {clips}x{crops}")


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
    configs = {path.parent.name: yaml.safe_load(path.read_text(encoding="utf-8"))
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
