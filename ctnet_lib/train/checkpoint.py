"""Checkpoints: written atomically, read onto the CPU with ``torch.load(..., weights_only=True)``.

A checkpoint is a dict of tensors and plain Python values only (what ``weights_only`` accepts): model,
optimiser, schedule and scaler states, the random states of Python, numpy, torch and CUDA (as tensors
and lists), the finished ``epoch`` (1-based), the best validation top-1 so far and the config dict.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ctnet_lib.checkpoint_io import read_checkpoint
from ctnet_lib.io_utils import atomic_output

__all__ = ["capture_rng_state", "load_checkpoint", "restore_rng_state", "save_checkpoint"]

LAST = "last.pt"
BEST = "best.pt"


def capture_rng_state() -> dict[str, Any]:
    """The random states of Python, numpy, torch (CPU) and every CUDA device, as plain values/tensors."""
    version, python_state, gauss = random.getstate()
    name, keys, position, has_gauss, cached = np.random.get_state()
    return {
        "python": {"version": version, "state": list(python_state), "gauss": gauss},
        "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "position": int(position),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng_state(state: dict[str, Any]) -> None:
    """Undo :func:`capture_rng_state`: the next random numbers are those that would have followed."""
    python = state["python"]
    random.setstate((python["version"], tuple(python["state"]), python["gauss"]))
    numpy = state["numpy"]
    np.random.set_state((numpy["name"], numpy["keys"].numpy().astype(np.uint32), numpy["position"],
                         numpy["has_gauss"], numpy["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    with atomic_output(path) as temporary:
        torch.save(state, temporary)
    return Path(path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`, every tensor on the CPU (see
    :mod:`ctnet_lib.checkpoint_io`): the random states restore as they must, whatever device wrote them,
    and ``load_state_dict`` copies the weights to the model's device."""
    state = read_checkpoint(path, "training checkpoint")
    if not isinstance(state, dict) or "model" not in state:
        raise ValueError(f"{path} is not a ctnet training checkpoint (no 'model' entry): pass a last.pt or "
                         "best.pt of a run folder")
    return state
