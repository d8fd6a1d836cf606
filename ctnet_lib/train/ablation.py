"""The Table 2 ablation study: configurations x seeds, one recipe, on the hard synthetic level.

A study is a list of independent cells, one (configuration, seed) each (``models.ablations``); a cell is
one call of :func:`run_cell` (``ctnet ablate --only NAME --seed S``) that trains in
``<work_dir>/<name>-seed<S>`` (resuming from its ``last.pt`` when killed) and then writes one JSON file,
``<out_dir>/<name>-seed<S>.json``, atomically. A cell whose JSON exists is never trained again, so a
scheduler may run cells in any order or in parallel.

Reproducibility: the data set is fixed (its own seed), the data order and augmentation of a cell
follow its seed (``train.engine``), torch runs with deterministic algorithms, and the recipe fixes the
thread count (float sums depend on it). The same machine therefore retrains a cell to the same numbers
up to what the CPU kernels leave open (see ``benchmarks/ablation/README.md`` for a measured rerun).
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ctnet_lib.analysis.counting.complexity import count_complexity
from ctnet_lib.data.synthetic_hard import HardSyntheticSettings, generate_hard_synthetic_dataset
from ctnet_lib.io_utils import atomic_write_text
from ctnet_lib.models.ablations import ABLATION_CONFIGS, ablation_config
from ctnet_lib.train.checkpoint import LAST, load_checkpoint
from ctnet_lib.train.config import TrainConfig, make_config
from ctnet_lib.train.data_setup import default_cache_dir
from ctnet_lib.train.experiment import build_training_model, train
from ctnet_lib.validation import check_at_least, check_output_folder

__all__ = ["STUDY", "AblationStudy", "Cell", "cell_status", "cells", "run_cell"]

FORMAT_VERSION = 1
# TrainConfig fields that say where things are on this machine, not how the cell was trained
_LOCAL_FIELDS = ("train_list", "val_list", "root", "class_file", "synthetic_dir", "run_dir", "model",
                 "model_options", "seed", "progress", "device")


@dataclass(frozen=True)
class AblationStudy:
    """The data and the recipe every cell shares (the reasons for each value: the README)."""

    data: HardSyntheticSettings = field(default_factory=lambda: HardSyntheticSettings(num_frames=16, size=32))
    train_per_class: int = 96
    val_per_class: int = 12
    # TrainConfig fields of the recipe (the rest keep TrainConfig's defaults)
    recipe: Mapping[str, Any] = field(default_factory=lambda: {
        "num_frames": 4, "sampling": "sparse", "crop_size": 32, "short_side": 32, "crop_scales": (1.0, 0.875),
        "flip": "plain", "epochs": 20, "batch_size": 16, "base_batch_size": 16, "lr": 0.005,
        "warmup_epochs": 2.0, "dropout": 0.2, "weight_decay": 1e-4, "fc_lr_multiplier": 1.0,
        "cache_videos": True, "workers": 0, "threads": 2, "check_data": False,
    })
    seeds: tuple[int, ...] = (0, 1, 2)

    def __post_init__(self) -> None:
        check_at_least("train_per_class", self.train_per_class, 1)
        check_at_least("val_per_class", self.val_per_class, 1)
        if not self.seeds:
            raise ValueError("seeds is empty: give at least one seed, such as (0, 1, 2)")

    def replace(self, **changes: Any) -> AblationStudy:
        """A copy with ``changes``: fields of this class, or recipe fields (``epochs=2``)."""
        own = {k: v for k, v in changes.items() if k in {f.name for f in dataclasses.fields(self)}}
        recipe = {**self.recipe, **{k: v for k, v in changes.items() if k not in own}}
        make_config(None, **recipe)  # an unknown or bad recipe field fails here, naming it
        return dataclasses.replace(self, **own, recipe=recipe)

    def fingerprint(self) -> dict[str, Any]:
        """What a cell's JSON records of the study; a result counts only under the same fingerprint."""
        return {"data": {**dataclasses.asdict(self.data), "train_per_class": self.train_per_class,
                         "val_per_class": self.val_per_class},
                "recipe": json.loads(json.dumps(dict(self.recipe)))}


STUDY = AblationStudy()


@dataclass(frozen=True)
class Cell:
    """One (configuration, seed) of a study."""

    name: str
    seed: int

    @property
    def stem(self) -> str:
        return f"{self.name}-seed{self.seed}"

    @classmethod
    def parse(cls, text: str) -> Cell:
        """``'ctnet-seed0'`` -> ``Cell('ctnet', 0)``; ValueError names the text and the form."""
        name, sep, seed = text.strip().rpartition("-seed")
        if not sep or not seed.isdigit():
            raise ValueError(f"cell {text!r} is not <configuration>-seed<S> (for example 'ctnet-seed0')")
        ablation_config(name)
        return cls(name, int(seed))


def cells(study: AblationStudy = STUDY, only: Sequence[str] | None = None,
          seeds: Sequence[int] | None = None) -> list[Cell]:
    """The cells in seed rounds (every configuration with the first seed, then the next, ...), so a
    partial study stays balanced; ``only`` / ``seeds`` select (unknown names raise ValueError)."""
    names = list(only) if only else list(ABLATION_CONFIGS)
    for name in names:
        ablation_config(name)
    return [Cell(name, seed) for seed in (seeds if seeds is not None else study.seeds) for name in names]


def _result_path(out_dir: Path, cell: Cell) -> Path:
    return out_dir / f"{cell.stem}.json"


def cell_status(cell: Cell, study: AblationStudy, out_dir: str | Path, work_dir: str | Path) -> str:
    """'done' (its JSON exists, for this study), 'partial (k/N epochs)' (a killed run to resume) or
    'to do'. A JSON of another study raises ValueError naming it."""
    path = _result_path(Path(out_dir), cell)
    if path.is_file():
        recorded = json.loads(path.read_text(encoding="utf-8"))
        if {"data": recorded.get("data"), "recipe": recorded.get("recipe_study")} != study.fingerprint():
            raise ValueError(f"{path} holds a result of another study (other data or recipe): write this "
                             "study elsewhere (--out) or move that file away")
        return "done"
    last = Path(work_dir) / cell.stem / LAST
    if last.is_file():
        return f"partial ({int(load_checkpoint(last)['epoch'])}/{study.recipe.get('epochs')} epochs)"
    return "to do"


@contextmanager
def deterministic_algorithms() -> Iterator[None]:
    """Run with ``torch.use_deterministic_algorithms(True)`` (warning where torch has no deterministic
    kernel), restoring the earlier setting afterwards."""
    before, warn_only = torch.are_deterministic_algorithms_enabled(), \
        torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before, warn_only=warn_only)


def _machine() -> dict[str, Any]:
    cpu = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.partition(":")[2].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    return {"cpu": cpu, "cores": os.cpu_count(), "system": platform.system(), "machine": platform.machine(),
            "python": sys.version.split()[0], "torch": torch.__version__,
            "torch_threads": torch.get_num_threads()}


def cell_config(cell: Cell, study: AblationStudy, work_dir: str | Path, data_dir: str | Path | None,
                device: str = "cpu", progress: bool = False) -> TrainConfig:
    """The TrainConfig of ``cell``: the study's recipe on the hard set (generated into ``data_dir``,
    default a cache folder named by the set's settings and size), the configuration's preset and
    options, the cell's seed."""
    row = ablation_config(cell.name)
    folder = Path(data_dir) if data_dir else default_cache_dir() / (
        f"synthetic-hard-t{study.data.num_frames}-s{study.data.size}-seed{study.data.seed}"
        f"-n{study.train_per_class}-{study.val_per_class}")  # one folder per size: lists hold the counts
    files = generate_hard_synthetic_dataset(folder, study.train_per_class, study.val_per_class, study.data)
    return make_config(None, **study.recipe, model=row.preset, model_options=dict(row.options),
                       data="lists", train_list=str(files.train_list), val_list=str(files.val_list),
                       class_file=str(files.class_file), seed=cell.seed, device=device, progress=progress,
                       run_dir=str(Path(work_dir) / cell.stem))


def run_cell(cell: Cell, study: AblationStudy = STUDY, out_dir: str | Path = "benchmarks/ablation",
             work_dir: str | Path = "runs/ablation", data_dir: str | Path | None = None, *,
             device: str = "cpu", progress: bool = False) -> tuple[Path, bool]:
    """Train ``cell`` (resuming a killed run) and write its JSON; returns (the JSON path, whether it
    trained now). A cell whose JSON exists is not trained again."""
    out_dir = check_output_folder(out_dir, "ablation results folder")
    path = _result_path(out_dir, cell)
    if cell_status(cell, study, out_dir, work_dir) == "done":
        return path, False
    config = cell_config(cell, study, work_dir, data_dir, device, progress)
    started = time.perf_counter()
    with deterministic_algorithms():
        result = train(config)
    history = result.history
    best = history.loc[history["top1"].idxmax()]
    final = history.iloc[-1]
    model = build_training_model(config, len(json.loads(Path(config.class_file).read_text())["classes"]))
    input_shape = (1, 3, config.num_frames, config.crop_size, config.crop_size)
    complexity = count_complexity(model, input_shape)
    row = ablation_config(cell.name)
    record = {
        "format_version": FORMAT_VERSION,
        "config": cell.name, "label": row.label, "preset": row.preset, "options": dict(row.options),
        "seed": cell.seed,
        "recipe": {k: v for k, v in config.to_dict().items() if k not in _LOCAL_FIELDS},
        "recipe_study": study.fingerprint()["recipe"],
        "data": study.fingerprint()["data"],
        "curves": {column: history[column].tolist() for column in history},
        "best": {"epoch": int(best["epoch"]), "top1": float(best["top1"]), "top5": float(best["top5"])},
        "final": {"epoch": int(final["epoch"]), "top1": float(final["top1"]), "top5": float(final["top5"])},
        "macs": complexity.macs, "params": complexity.params, "input_shape": list(input_shape),
        "train_time_s": float(history["epoch_time_s"].sum()),
        "wall_time_this_call_s": time.perf_counter() - started,
        "deterministic_algorithms": True,
        "machine": _machine(),
    }
    atomic_write_text(path, json.dumps(record, indent=1) + "\n")
    return path, True
