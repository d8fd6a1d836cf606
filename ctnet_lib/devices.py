"""The library's one device resolver: ``'auto'``, ``'cpu'``, ``'cuda'`` or ``'cuda:N'`` -> ``torch.device``.

Under ``torchrun`` each process owns the GPU of its ``LOCAL_RANK``: ``'auto'`` and ``'cuda'`` resolve to
that GPU there, so every caller (training, the final test, evaluation, analysis) lands on the same one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

import torch

__all__ = ["DEVICE_NAMES", "PerDeviceChoice", "resolve_device", "torchrun_local_rank"]

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


@dataclass(frozen=True)
class PerDeviceChoice:
    """A setting that changes how a model runs, not what it computes, whose value ``'auto'`` picks one of
    ``choices`` per device type: ``auto[device_type]`` where measured, else ``fallback``."""

    name: str
    choices: tuple[str, ...]
    auto: Mapping[str, str]
    fallback: str

    def check(self, value: str) -> str:
        """``value`` if it is 'auto' or one of the choices, else a ValueError naming them."""
        if value != "auto" and value not in self.choices:
            raise ValueError(f"{self.name} {value!r} is not one of {', '.join(('auto', *self.choices))}")
        return value

    def resolve(self, value: str, device_type: str) -> str:
        """The choice that ``value`` runs on ``device_type`` ('cpu', 'cuda')."""
        return self.auto.get(device_type, self.fallback) if self.check(value) == "auto" else value
