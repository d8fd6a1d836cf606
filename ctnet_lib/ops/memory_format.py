"""The memory format a video ResNet runs its frames in, chosen per device.

In the channels-last format a (N*T, C, H, W) tensor keeps each pixel's C channels together in memory
(strides (H*W*C, 1, W*C, C)). The whole network then stays channels-last at no cost: a temporal module's
clip view (N, C, T, H, W) of such frames is channels-last-3d, the lowered 3D convolutions
(``conv_lowering``) remain 2D views of it, and the CT-Module reorders channels as rows of (N, T, H, W, C)
(``permute_channel_layout``). On the CPU, oneDNN's convolutions and max pooling run faster on it: the
small backbone's training step took 0.4-0.7x the time; at ResNet-50 and 224 pixels the gain varied between
runs (benchmarks/README.md). The values are the same sums in another order.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ctnet_lib.devices import PerDeviceChoice

# What 'auto' runs on each device type. CPU: channels-last, measured (benchmarks/README.md). CUDA:
# channels-last, as training has run there from the start (cuDNN's layout for mixed-precision convolutions),
# not yet measured against the contiguous format on a GPU. ``train.device.prepare_model`` also stores the
# convolution weights to match.
MEMORY_FORMAT = PerDeviceChoice("memory_format", ("contiguous", "channels_last"),
                                auto={"cpu": "channels_last", "cuda": "channels_last"}, fallback="contiguous")
_TORCH_FORMATS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}


def is_channels_last(x: Tensor) -> bool:
    """True when x: (N, C, ...) keeps each position's channels together in memory (channel stride 1) and
    is not also contiguous, as channels-last and channels-last-3d tensors are."""
    return x.dim() > 2 and x.stride(1) == 1 and not x.is_contiguous()


def runs_channels_last(model: nn.Module, device_type: str) -> bool:
    """True when ``model`` (its ``memory_format`` attribute, 'auto' where it has none) runs its frames
    channels-last on ``device_type``."""
    return MEMORY_FORMAT.resolve(getattr(model, "memory_format", "auto"), device_type) == "channels_last"


def torch_memory_format(name: str, device_type: str) -> torch.memory_format:
    """The torch memory format of 4D frames that ``name`` ('auto', 'contiguous' or 'channels_last') runs
    on ``device_type``."""
    return _TORCH_FORMATS[MEMORY_FORMAT.resolve(name, device_type)]


def frames_in_memory_format(frames: Tensor, name: str) -> Tensor:
    """``frames``: (N*T, C, H, W) in the memory format that ``name`` runs on their device (see
    :func:`torch_memory_format`); a copy only where the format differs."""
    return frames.contiguous(memory_format=torch_memory_format(name, frames.device.type))
