"""The library's one device resolver: ``'auto'``, ``'cpu'``, ``'cuda'`` or ``'cuda:N'`` -> ``torch.device``.

Under ``torchrun`` each process owns the GPU of its ``LOCAL_RANK``: ``'auto'`` and ``'cuda'`` resolve to
that GPU there, so every caller (training, the final test, evaluation, analysis) lands on the same one.
"""

from __future__ import annotations

import os
import re

import torch

__all__ = ["DEVICE_NAMES", "resolve_device", "torchrun_local_rank"]

DEVICE_NAMES = "'auto', 'cpu', 'cuda' or 'cuda:N'"
_CUDA_NAME = re.compile(r"cuda(?::(\d+))?")


def torchrun_local_rank() -> int:
    """This process's rank on its machine: ``LOCAL_RANK`` as ``torchrun`` sets it, 0 outside torchrun."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def resolve_device(name: str | torch.device = "auto", local_rank: int | None = None) -> torch.device:
    """``'auto'``: the GPU ``cuda:<local_rank>`` when CUDA is available, else the CPU; ``'cpu'``;
    ``'cuda'``: ``cuda:<local_rank>``; ``'cuda:N'``: GPU N. ``local_rank`` defaults to
    :func:`torchrun_local_rank`. A ``torch.device`` of type cpu or cuda is accepted as well.

    Raises ValueError naming the value and the fix for any other name, for CUDA without a GPU and for
    a GPU index torch does not see.
    """
    text = str(name).strip().lower()
    if text == "cpu" or (text == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    match = _CUDA_NAME.fullmatch("cuda" if text == "auto" else text)
    if match is None:
        raise ValueError(f"device {name!r} is not one of {DEVICE_NAMES}: pass one of those")
    if not torch.cuda.is_available():
        raise ValueError(f"device={name!r} was asked for but torch sees no GPU: use device='auto' or 'cpu'")
    index = int(match.group(1)) if match.group(1) else (
        torchrun_local_rank() if local_rank is None else local_rank)
    count = torch.cuda.device_count()
    if index >= count:
        raise ValueError(f"device={name!r} needs GPU {index} but torch sees {count} GPU(s): use 'cuda:0' to "
                         f"'cuda:{count - 1}', 'auto', or fewer processes per machine")
    return torch.device("cuda", index)
