"""A checkpoint of any accepted source (the authors' release included) as an ordinary ctnet-lab run folder."""

from __future__ import annotations

from pathlib import Path

import yaml

from ctnet_lib.io_utils import atomic_write_text
from ctnet_lib.train.checkpoint import BEST, save_checkpoint
from ctnet_lib.train.checkpoint_sources import read_any_checkpoint
from ctnet_lib.train.config import config_from_dict
from ctnet_lib.train.experiment import load_trained_model

__all__ = ["convert_checkpoint"]


def convert_checkpoint(path: str | Path, run_dir: str | Path, class_file: str | Path | None = None) -> Path:
    """Write ``<run_dir>/best.pt`` (config, class names, weights) and ``config.yaml`` from the checkpoint
    file ``path`` (e.g. ``ct_net_8f_r50.pth.tar``), so every entry point reads it as one of its own runs.

    ``class_file`` (classes.json, or one name per line) names classes the file does not record; without
    one they are numbered. The weights are loaded into the model first, so a file of another
    architecture raises ValueError and nothing is written; an existing ``best.pt`` is never replaced.
    """
    run_dir = Path(run_dir)
    target = run_dir / BEST
    if target.exists():
        raise ValueError(f"{target} exists: choose another --out folder (nothing is overwritten)")
    trained = load_trained_model(path, class_file=class_file)
    state, source = read_any_checkpoint(path)
    config = config_from_dict(state["config"], str(path))
    best = state.get("best_top1", state.get("release", {}).get("best_prec1", float("nan")))
    checkpoint = {
        "model": trained.model.state_dict(), "epoch": trained.epoch, "best_top1": float(best),
        "config": config.to_dict(), "class_names": list(trained.class_names),
        "num_classes": len(trained.class_names), "converted_from": {"path": str(path), "source": source.name},
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    save_checkpoint(target, checkpoint)
    atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(config.to_dict(), sort_keys=False))
    return target
