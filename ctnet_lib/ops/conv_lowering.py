"""Conv3d lowered to the equivalent 2D convolution where its kernel allows, chosen per device.

Most 3D convolutions of the temporal modules are degenerate: a temporal ``k x 1 x 1`` conv, a point-wise
``1 x 1 x 1`` conv, or a ``1 x k x k`` conv on a temporally pooled (T = 1) tensor. Each is exactly a 2D
convolution on a free view of the contiguous (N, C, T, H, W) input:

| kernel        | 2D convolution on                      | 2D kernel |
| ------------- | -------------------------------------- | --------- |
| k x 1 x 1     | (N, C, T, H*W)                         | k x 1     |
| 1 x 1 x 1     | (N, C, T, H*W)                         | 1 x 1     |
| 1 x k x k     | (N, C, H, W) when T = 1                | k x k     |

The results are the same sums (equal in float64 to rounding), and on the CPU the 2D kernels are far
faster: oneDNN's grouped ``3 x 1 x 1`` Conv3d backward took about 1 s where the lowered conv took 80 ms at
ResNet-50's first stage (``benchmarks/``). Other kernels, strides or dilations keep the 3D convolution.

Which implementation runs is chosen per device by :data:`IMPLEMENTATION`, or forced per model with
:func:`set_conv_implementation` (``build_model(..., implementation=...)``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ctnet_lib.devices import PerDeviceChoice

# What 'auto' runs on each device type. CPU: lowered, measured (benchmarks/README.md). CUDA: native
# cuDNN Conv3d until a GPU measurement says otherwise (no GPU has been available to measure on).
IMPLEMENTATION = PerDeviceChoice("implementation", ("native", "lowered"), auto={"cpu": "lowered"},
                                 fallback="native")


def lowerable(conv: nn.Conv3d, x: Tensor) -> bool:
    """True when ``conv`` applied to ``x``: (N, C, T, H, W) is one 2D convolution on a view of ``x``
    (x contiguous, or channels-last-3d, whose views are channels-last 2D tensors)."""
    kt, kh, kw = conv.kernel_size
    viewable = x.is_contiguous() or x.is_contiguous(memory_format=torch.channels_last_3d)
    if not viewable or conv.dilation != (1, 1, 1) or conv.padding_mode != "zeros":
        return False
    if (kh, kw) == (1, 1):
        return conv.stride == (1, 1, 1) and conv.padding[1:] == (0, 0)
    return kt == 1 and x.shape[2] == 1 and conv.stride[0] == 1 and conv.padding[0] == 0


def lowered_conv3d(conv: nn.Conv3d, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """``conv(x)`` for x: (N, C, T, H, W) as the 2D convolution of the table above (see :func:`lowerable`)."""
    n, _, t, h, w = x.shape
    c_out, c_in, kt, kh, kw = weight.shape
    if (kh, kw) == (1, 1):
        out = F.conv2d(x.view(n, -1, t, h * w), weight.view(c_out, c_in, kt, 1), bias,
                       padding=(conv.padding[0], 0), groups=conv.groups)
        return out.view(n, c_out, out.shape[2], h, w)
    out = F.conv2d(x.view(n, -1, h, w), weight.view(c_out, c_in, kh, kw), bias, stride=conv.stride[1:],
                   padding=conv.padding[1:], groups=conv.groups)
    return out.unsqueeze(2)


class Conv3d(nn.Conv3d):
    """``nn.Conv3d`` (same parameters, state dict and hooks) that runs lowered where it can and where
    :attr:`implementation` ('auto', 'native' or 'lowered') asks for it."""

    implementation: str = "auto"

    def _conv_forward(self, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        chosen = IMPLEMENTATION.resolve(self.implementation, x.device.type)
        if chosen == "lowered" and lowerable(self, x):
            return lowered_conv3d(self, x, weight, bias)
        return super()._conv_forward(x, weight, bias)


def set_conv_implementation(model: nn.Module, name: str) -> nn.Module:
    """Make every lowering-capable Conv3d of ``model`` run ``name`` ('auto', 'native', 'lowered');
    returns ``model``."""
    IMPLEMENTATION.check(name)
    for module in model.modules():
        if isinstance(module, Conv3d):
            module.implementation = name
    return model
