"""``TrainConfig``: every knob of a training run in one frozen, printable dataclass.

Learning-rate rule (linear scaling, Goyal et al. 2017): ``lr`` is the rate for ``base_batch_size``
clips per step; the optimiser uses ``lr * batch_size / base_batch_size`` (``batch_size`` is the global
batch of one optimiser step, summed over all processes and over the ``accumulate`` micro-batches whose
gradients it adds up). To give the rate for your own batch directly, set ``base_batch_size = batch_size``.
The classifier ``fc`` gets ``fc_lr_multiplier`` times that rate.

The two recipes of the paper (appendix A.1) are the presets ``something`` and ``kinetics``; other
values are overridden with :func:`make_config` or :meth:`TrainConfig.replace`.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctnet_lib.data.datasets import BAD_ITEMS
from ctnet_lib.data.decoding import FIRST_FRAME_INDEX, FRAME_TEMPLATE
from ctnet_lib.data.synthetic import DEFAULT_SETTINGS
from ctnet_lib.models.presets import model_config
from ctnet_lib.parsed_files import read_yaml_mapping
from ctnet_lib.validation import check_at_least, check_field_types, check_in_range, field_type_problem

__all__ = ["RECIPES", "TrainConfig", "config_from_dict", "load_config_file", "make_config",
           "notebook_config", "parameter_changes"]

SAMPLINGS = ("sparse", "dense")
FLIPS = ("none", "plain", "classes")
VIEW_AVERAGES = ("softmax", "logits")
# where the videos are; 'none': the checkpoint records no data set (converted from the authors' release)
DATA_KINDS = ("synthetic", "lists", "none")


# The recipes of the paper (appendix A.1): batch, epochs, lr, dropout, weight decay, 10 warm-up epochs.
RECIPES: dict[str, dict[str, Any]] = {
    "something": {"batch_size": 64, "epochs": 45, "lr": 0.02, "dropout": 0.3, "weight_decay": 5e-4,
                  "warmup_epochs": 10.0, "sampling": "sparse", "flip": "none"},
    "kinetics": {"batch_size": 64, "epochs": 110, "lr": 0.01, "dropout": 0.5, "weight_decay": 1e-4,
                 "warmup_epochs": 10.0, "sampling": "dense", "flip": "plain"},
    # the built-in synthetic set on a laptop CPU, as the training report trains it: 6 order-only
    # classes, 8 frames of 64x64, 12 epochs from scratch (where CT-Net separates what TSN cannot)
    "synthetic": {"synthetic_classes": 6, "synthetic_train_per_class": 128, "synthetic_val_per_class": 16,
                  "synthetic_frames": 16, "synthetic_size": 64, "num_frames": 8, "crop_size": 64,
                  "short_side": 64, "crop_scales": (1.0, 0.875), "flip": "classes", "sampling": "sparse",
                  "epochs": 12, "batch_size": 16, "base_batch_size": 16, "lr": 0.02, "warmup_epochs": 0.5,
                  "dropout": 0.2, "weight_decay": 1e-4, "fc_lr_multiplier": 1.0, "workers": 0,
                  "cache_videos": True},
}
# the committed model zoo (ctnet zoo build): the training report's recipe at output stride 8, so that a
# Saliency Tube has 8 x 8 cells per 64 x 64 frame, and 32 held-out videos per class (192 clips) for tighter
# intervals; measured on the idle 2-core CPU: 30-36 clips/s for CT-Net and R(2+1)D at stride 8 (56-75 at
# stride 16), about 5 minutes per model
RECIPES["zoo"] = {**RECIPES["synthetic"], "model_options": {"output_stride": 8},
                  "synthetic_val_per_class": 32, "device": "cpu", "progress": False}
DEFAULT_RECIPE = "something"  # the recipe ctnet train starts from; TrainConfig's defaults are its values
_DEFAULT_RECIPE = RECIPES[DEFAULT_RECIPE]


@dataclass(frozen=True)
class TrainConfig:
    """A training run: model, data, optimisation recipe, evaluation and system settings."""

    # model
    model: str = "ctnet_r50"  # a preset of ctnet_lib.models.list_presets()
    model_options: Mapping[str, Any] = field(default_factory=dict)  # build_model options (no dropout)
    pretrained: str | None = None  # path of a torchvision ImageNet ResNet checkpoint, or None
    freeze_backbone: bool = False  # freeze the pretrained 2D layers (not the temporal modules, not fc)
    # data
    data: str = "synthetic"  # 'synthetic' (into synthetic_dir), 'lists', or 'none' (a converted checkpoint)
    train_list: str | None = None  # list file of the training videos (data='lists')
    val_list: str | None = None  # list file of the validation videos (data='lists')
    root: str | None = None  # folder the list paths are relative to
    class_file: str | None = None  # classes.json (names, flip partners); optional
    frame_template: str = FRAME_TEMPLATE  # file names of frame folders, e.g. 'img_{:05d}.jpg'
    first_frame_index: int = FIRST_FRAME_INDEX  # number of the first frame file (0 or 1)
    num_classes: int | None = None  # None: from the class file, else 1 + the largest label
    synthetic_dir: str | None = None  # where the synthetic set lives; None: a cache folder
    synthetic_classes: int = DEFAULT_SETTINGS.num_classes  # even, 2 to 10
    synthetic_train_per_class: int = 48  # a training set, larger than `ctnet data synth` writes
    synthetic_val_per_class: int = 16
    synthetic_frames: int = DEFAULT_SETTINGS.num_frames  # frames per synthetic video
    synthetic_size: int = DEFAULT_SETTINGS.size  # synthetic frame side in pixels
    num_frames: int = 8  # frames per clip T
    sampling: str = _DEFAULT_RECIPE["sampling"]  # 'sparse' (TSN segments) or 'dense' (strided window)
    dense_stride: int = 2  # frame step of dense windows
    crop_size: int = 224  # training and test crop side in pixels
    short_side: int | None = None  # resize the short side first (None: keep training frames as decoded)
    crop_scales: tuple[float, ...] = (1.0, 0.875, 0.75, 0.66)  # TSN multi-scale crop scales
    flip: str = _DEFAULT_RECIPE["flip"]  # 'none' | 'plain' (keep labels) | 'classes' (swap by the class file)
    cache_videos: bool = False  # keep decoded training videos in memory (small data sets, workers=0)
    check_data: bool = True  # before training, probe every item of the list files (paths, headers)
    bad_items: str = "fail"  # an unreadable training video: 'fail' (stop) or 'skip' (warn, count, go on)
    min_frames: int | None = None  # refuse training items with fewer frames (found by the data check)
    # optimisation (the Something-Something recipe of appendix A.1)
    epochs: int = _DEFAULT_RECIPE["epochs"]
    batch_size: int = _DEFAULT_RECIPE["batch_size"]  # clips per step, summed over processes, micro-batches
    accumulate: int = 1  # micro-batches (of batch_size / accumulate clips) per optimiser step
    lr: float = _DEFAULT_RECIPE["lr"]  # at base_batch_size clips per step
    base_batch_size: int = _DEFAULT_RECIPE["batch_size"]
    momentum: float = 0.9
    weight_decay: float = _DEFAULT_RECIPE["weight_decay"]  # not applied to BatchNorm parameters and biases
    dropout: float = _DEFAULT_RECIPE["dropout"]  # before the classifier
    warmup_epochs: float = _DEFAULT_RECIPE["warmup_epochs"]  # linear warm-up from warmup_start_factor * lr
    warmup_start_factor: float = 0.01
    min_lr_factor: float = 0.0  # the cosine ends at min_lr_factor * lr
    fc_lr_multiplier: float = 5.0  # the new classifier learns this much faster
    clip_grad_norm: float | None = 20.0  # None: no clipping
    label_smoothing: float = 0.0
    # evaluation
    test_clips: int = 1  # clips per video at test time
    test_crops: int = 1  # 1 (centre) or 3 (three crops)
    view_average: str = "softmax"  # average 'softmax' scores or raw 'logits' over test views
    # system
    device: str = "auto"  # 'auto' (CUDA when available), 'cpu', 'cuda', 'cuda:1'
    amp: bool = True  # mixed precision on CUDA (bf16 where supported, else fp16); fp32 on the CPU
    workers: int = 2  # DataLoader worker processes per training process
    threads: int | None = None  # CPU threads of torch (torch.set_num_threads); None: torch's default
    seed: int = 0
    run_dir: str = "runs/train"  # checkpoints and metrics go here
    resume: bool = True  # continue from run_dir/last.pt when it exists
    progress: bool = True  # tqdm progress bars (rank 0 only)

    def __post_init__(self) -> None:
        check_field_types(self)
        object.__setattr__(self, "model_options", dict(self.model_options))
        object.__setattr__(self, "crop_scales", tuple(float(s) for s in self.crop_scales))
        choices = {"sampling": SAMPLINGS, "flip": FLIPS, "view_average": VIEW_AVERAGES,
                   "bad_items": BAD_ITEMS}
        for name, valid in choices.items():
            if getattr(self, name) not in valid:
                raise ValueError(f"{name}={getattr(self, name)!r} is not valid; use one of {valid}")
        if self.data not in DATA_KINDS:
            raise ValueError(f"data={self.data!r}: use 'synthetic' or 'lists' (with train_list, val_list)")
        if self.data == "lists" and not (self.train_list and self.val_list):
            raise ValueError("data='lists' needs train_list and val_list (paths of list files)")
        if self.min_frames is not None and not self.check_data:
            raise ValueError("min_frames counts the frames of each item in the data check: leave check_data "
                             "on (no --no-check-data) or drop min_frames")
        self._check_ranges()
        if self.batch_size % self.accumulate:
            raise ValueError(
                f"batch_size={self.batch_size} is not a multiple of accumulate={self.accumulate}: batch_size "
                "is the clips of one optimiser step, split into accumulate micro-batches"
            )
        if self.test_crops not in (1, 3):
            raise ValueError(f"test_crops must be 1 or 3, got {self.test_crops}")
        if "dropout" in self.model_options:
            raise ValueError("set dropout with the config field 'dropout', not in model_options")
        model_config(self.model, **self.model_options)  # rejects a bad model option before any data

    def _check_ranges(self) -> None:
        """Raise ValueError naming the first number out of its range (:data:`AT_LEAST`, :data:`RANGES`)."""
        for name, minimum in AT_LEAST.items():
            check_at_least(name, getattr(self, name), minimum, optional=True)
        for name, (low, high, low_open, high_open) in RANGES.items():
            check_in_range(name, getattr(self, name), low, high, low_open=low_open, high_open=high_open,
                           optional=True)
        if not self.crop_scales:
            raise ValueError("crop_scales is empty: give at least one scale, such as [1.0, 0.875]")
        for scale in self.crop_scales:
            check_in_range("each of crop_scales", scale, 0, 1, low_open=True)

    @property
    def scaled_lr(self) -> float:
        """The lr the optimiser uses: ``lr * batch_size / base_batch_size`` (linear scaling rule)."""
        return self.lr * self.batch_size / self.base_batch_size

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied (unknown names raise ValueError)."""
        return make_config(None, base=self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain values only (lists for tuples), for YAML, JSON and checkpoints."""
        values = dataclasses.asdict(self)
        values["crop_scales"] = list(self.crop_scales)
        values["model_options"] = dict(self.model_options)
        return values

    def __str__(self) -> str:
        lines = [f"TrainConfig (lr used: {self.scaled_lr:g})"]
        lines += [f"  {name}: {value!r}" for name, value in self.to_dict().items()]
        return "\n".join(lines)


# the smallest value of each number field (None, where a field allows it, passes)
AT_LEAST: dict[str, float] = {
    "epochs": 1, "batch_size": 1, "base_batch_size": 1, "accumulate": 1, "num_frames": 1, "crop_size": 1,
    "short_side": 1, "dense_stride": 1, "test_clips": 1, "num_classes": 1, "first_frame_index": 0,
    "synthetic_train_per_class": 1, "synthetic_val_per_class": 1, "synthetic_frames": 1,
    "synthetic_size": 1, "synthetic_classes": 1, "workers": 0, "threads": 1, "min_frames": 1,
    "weight_decay": 0.0,
    "warmup_epochs": 0.0,
}
# (low, high, low end open, high end open) of the number fields with an upper bound, or an open low end
RANGES: dict[str, tuple[float, float, bool, bool]] = {
    "lr": (0.0, math.inf, True, True), "clip_grad_norm": (0.0, math.inf, True, True),
    "fc_lr_multiplier": (0.0, math.inf, True, True), "momentum": (0.0, 1.0, False, True),
    "dropout": (0.0, 1.0, False, True), "label_smoothing": (0.0, 1.0, False, True),
    "warmup_start_factor": (0.0, 1.0, True, False), "min_lr_factor": (0.0, 1.0, False, False),
}


FIELD_NAMES = tuple(f.name for f in dataclasses.fields(TrainConfig))


def make_config(
    recipe: str | None = DEFAULT_RECIPE, *, base: TrainConfig | None = None, **changes: Any
) -> TrainConfig:
    """A config from a ``recipe`` of :data:`RECIPES` (or ``base``), with ``changes`` on top.

    Changing ``batch_size`` alone keeps ``lr`` per ``base_batch_size`` clips, so the lr used scales
    linearly (see the module docstring).
    """
    unknown = sorted(set(changes) - set(FIELD_NAMES))
    if unknown:
        raise ValueError(f"unknown TrainConfig fields {unknown}; valid fields: {', '.join(FIELD_NAMES)}")
    values = (base or TrainConfig()).to_dict()
    if recipe is not None:
        if recipe not in RECIPES:
            raise ValueError(f"unknown recipe {recipe!r}; valid recipes: {', '.join(RECIPES)}")
        values.update(RECIPES[recipe])
    values.update(changes)
    return TrainConfig(**values)


def config_from_dict(values: Mapping[str, Any], source: str = "the saved config") -> TrainConfig:
    """The config saved in a checkpoint or a ``config.yaml``: fields it lacks (added to TrainConfig since)
    take their defaults; a field TrainConfig does not know raises ValueError naming ``source``."""
    values = dict(values)
    if values.pop("channels_last", True) is False:  # a field of earlier versions: now a model option
        values["model_options"] = {"memory_format": "contiguous", **values.get("model_options", {})}
    unknown = sorted(set(values) - set(FIELD_NAMES))
    if unknown:
        raise ValueError(f"{source} has config fields this version of ctnet-lab does not know ({unknown}): "
                         "read it with the version that wrote it")
    return TrainConfig(**values)


def notebook_config(recipe: str, parameters: Mapping[str, Any], **changes: Any) -> TrainConfig:
    """The config of a notebook: ``recipe`` with every TrainConfig field among ``parameters`` (the
    notebook's namespace after its parameters cell, e.g. ``globals()``; other names are ignored) applied
    as :func:`parameter_changes` reads them, then ``changes`` (values the notebook derives, such as the
    model to inspect)."""
    declared = {name: parameters[name] for name in FIELD_NAMES if name in parameters}
    return make_config(recipe, **{**parameter_changes(**declared), **changes})


def parameter_changes(**values: Any) -> dict[str, Any]:
    """The TrainConfig changes a notebook's parameters cell asks for, for :func:`make_config`.

    ``None`` keeps the recipe's value (the parameter is left out); ``""`` (an empty path) and ``0`` for
    ``short_side`` (keep frames as decoded) and ``threads`` (torch's default) become None; a
    ``batch_size`` also sets ``base_batch_size``, so a notebook's ``lr`` is the rate at its batch size.
    """
    changes = {name: value for name, value in values.items() if value is not None}
    for name, value in changes.items():
        if value == "" or (name in ("short_side", "threads") and value == 0):
            changes[name] = None
    if "batch_size" in changes:
        changes.setdefault("base_batch_size", changes["batch_size"])
    return changes


def load_config_file(path: str | Path) -> dict[str, Any]:
    """The mapping of TrainConfig fields in a YAML file (a key ``recipe`` names the starting recipe).

    A syntax error, an empty file, a top level that is not a mapping, an unknown key or a value of the
    wrong type raise FileNotFoundError or ValueError naming the file, the line and the fix."""
    parsed = read_yaml_mapping(path, "config file", "epochs: 10")
    for key, value in parsed.values.items():
        if key == "recipe":
            if value not in RECIPES:
                raise ValueError(f"{parsed.where(key)}: unknown recipe {value!r}; valid recipes: "
                                 f"{', '.join(RECIPES)}")
            continue
        if key not in FIELD_NAMES:
            close = difflib.get_close_matches(key, FIELD_NAMES, n=1)
            guess = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{parsed.where(key)}: unknown key {key!r}{guess}; valid keys: recipe, "
                             f"{', '.join(FIELD_NAMES)}")
        problem = field_type_problem(TrainConfig, key, value)
        if problem:
            raise ValueError(f"{parsed.where(key)}: {problem}")
    return dict(parsed.values)
