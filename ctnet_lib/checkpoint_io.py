"""The library's one checkpoint reader: ``torch.load(path, map_location="cpu", weights_only=True)``.

Tensors always come back on the CPU, whatever device wrote them, so a checkpoint saved during GPU
training reads on a machine without one and its random states restore as CPU tensors;
``load_state_dict`` copies them on to the model's (or optimiser's) device. ``weights_only`` runs no
code from the file: only tensors and plain Python values load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

__all__ = ["read_checkpoint", "read_state_dict"]


def read_checkpoint(path: str | Path, what: str = "checkpoint") -> Any:
    """The object saved at ``path``, its tensors on the CPU. ``what`` names the file in errors.

    Raises FileNotFoundError for a missing file and ValueError for a file torch cannot read this way.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist: check the path (a local file; nothing is "
                                "downloaded)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except OSError:
        raise
    except Exception as error:  # torch.load signals a foreign file with many types (KeyError, EOFError...)
        reason = (str(error).strip().splitlines() or [""])[0][:120]
        raise ValueError(
            f"{what} {path} is not a readable torch checkpoint ({type(error).__name__}: {reason}): pass a "
            "file written by torch.save that holds only tensors and plain Python values"
        ) from error


def read_state_dict(path: str | Path, what: str = "state dict") -> dict[str, torch.Tensor]:
    """Tensors of a checkpoint file: a plain state dict or one under 'state_dict' / 'model'; the
    ``module.`` prefix that DDP adds is dropped."""
    state = read_checkpoint(path, what)
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in state.items()}
