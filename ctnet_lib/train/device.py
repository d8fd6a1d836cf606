"""Device and precision: CUDA with automatic mixed precision when available, fp32 on the CPU.

On CUDA: bf16 autocast where the GPU supports it (no loss scaling needed), otherwise fp16 autocast with
a ``GradScaler``; ``cudnn.benchmark`` on; the 2D layers in channels-last memory format. On the CPU the
same code runs in fp32 (autocast and the scaler are disabled no-ops).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["Precision", "choose_precision", "prepare_model", "resolve_device"]


def resolve_device(name: str = "auto", local_rank: int | None = None) -> torch.device:
    """``'auto'``: ``cuda:<local_rank>`` when CUDA is available, else the CPU; or a torch device name."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank or 0)
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={name!r} but CUDA is not available here: use device='auto' or 'cpu'")
        if device.index is None:
            device = torch.device("cuda", local_rank or 0)
    return device


@dataclass(frozen=True)
class Precision:
    """The autocast dtype (None: fp32) and whether fp16 loss scaling is needed."""

    device_type: str
    dtype: torch.dtype | None

    @property
    def needs_scaler(self) -> bool:
        return self.dtype == torch.float16

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        """Autocast to ``dtype`` inside the block; a no-op for fp32."""
        with torch.autocast(self.device_type, dtype=self.dtype, enabled=self.dtype is not None):
            yield

    def grad_scaler(self) -> torch.amp.GradScaler:
        """A scaler that is active for fp16 only (disabled scalers pass values through)."""
        return torch.amp.GradScaler(self.device_type, enabled=self.needs_scaler)

    def __str__(self) -> str:
        return "fp32" if self.dtype is None else f"amp {str(self.dtype).removeprefix('torch.')}"


def choose_precision(device: torch.device, amp: bool = True) -> Precision:
    """bf16 on CUDA GPUs that support it, fp16 on older ones, fp32 on the CPU or with ``amp=False``."""
    if device.type != "cuda" or not amp:
        return Precision(device.type, None)
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return Precision("cuda", dtype)


def prepare_model(model: nn.Module, device: torch.device, channels_last: bool = True) -> nn.Module:
    """Move ``model`` to ``device``; on CUDA also channels-last (4D weights: the 2D layers) and
    ``cudnn.benchmark``. Returns the model."""
    model.to(device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        if channels_last:
            model.to(memory_format=torch.channels_last)
    return model
