"""Device preparation and precision: CUDA with automatic mixed precision when available, fp32 on the CPU.

On CUDA: bf16 autocast on GPUs with bf16 hardware (no loss scaling needed), otherwise fp16 autocast with
a ``GradScaler``; ``cudnn.benchmark`` on. On the CPU the same code runs in fp32 (autocast and the scaler
are disabled no-ops). On either device, a model whose frames run channels-last there (its
``memory_format``, resolved by ``ops.memory_format.MEMORY_FORMAT``) also stores its 2D convolutions' weights
channels-last and the temporal modules' ``Conv3d`` weights in :data:`TEMPORAL_MEMORY_FORMAT`.

The devices themselves are named and resolved by :func:`ctnet_lib.devices.resolve_device`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from ctnet_lib.ops.memory_format import runs_channels_last

__all__ = ["BF16_MIN_CAPABILITY", "TEMPORAL_MEMORY_FORMAT", "Precision", "choose_precision", "prepare_model",
           "to_channels_last"]

# Ampere (8.0) and later compute in bf16; older GPUs only emulate it, slower than fp16 with a scaler.
BF16_MIN_CAPABILITY = (8, 0)

# Memory format of the temporal modules' Conv3d weights under channels-last 2D layers: contiguous, an
# explicit default. The modules receive the 2D layers' channels-last activations as channels_last_3d
# views (see ``FramesToClip``) and cuDNN and oneDNN follow the input's layout, so their first 3D convs
# run channels-last either way. Measured on the CPU only (no GPU at hand): channels_last_3d weights were
# not consistently faster (benchmarks/README.md). Measure on a GPU before changing it.
TEMPORAL_MEMORY_FORMAT = torch.contiguous_format


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
    """bf16 on GPUs with bf16 hardware (compute capability >= :data:`BF16_MIN_CAPABILITY`), fp16 with a
    ``GradScaler`` on older ones, fp32 on the CPU or with ``amp=False``.

    ``torch.cuda.is_bf16_supported()`` is not used: it also counts bf16 that older GPUs only emulate.
    """
    if device.type != "cuda" or not amp:
        return Precision(device.type, None)
    capability = torch.cuda.get_device_capability(device)
    return Precision("cuda", torch.bfloat16 if capability >= BF16_MIN_CAPABILITY else torch.float16)


def to_channels_last(
    model: nn.Module, temporal_format: torch.memory_format = TEMPORAL_MEMORY_FORMAT
) -> nn.Module:
    """Store the 2D convolutions' weights (4D) channels-last and the temporal modules' ``Conv3d`` weights
    (5D) in ``temporal_format``; values, parameters and outputs stay the same. Returns ``model``.

    ``model.to(memory_format=torch.channels_last)`` cannot do this: it raises on the 5D weights.
    """
    nn.utils.convert_conv2d_weight_memory_format(model, torch.channels_last)
    nn.utils.convert_conv3d_weight_memory_format(model, temporal_format)
    return model


def prepare_model(model: nn.Module, device: torch.device) -> nn.Module:
    """Move ``model`` to ``device``; :func:`to_channels_last` where its frames run channels-last on that
    device; ``cudnn.benchmark`` on CUDA. Returns the model."""
    model.to(device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    if runs_channels_last(model, device.type):
        to_channels_last(model)
    return model
