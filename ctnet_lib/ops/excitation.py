"""Excitation gates: Tensor Excitation (paper eq. 6-8, appendix A.2) and Squeeze-and-Excitation.

Every gate maps x: (N, C, T, H, W) to x * sigmoid(attention). The Tensor Excitation gates use the
same channel groups as the sub-operation they follow (``groups`` contiguous groups of C / groups
channels), with a hidden width of C / ``reduction`` split evenly over the groups.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from ctnet_lib.ops.conv_bn_act import ConvBnAct3d, conv3d
from ctnet_lib.ops.memory_format import is_channels_last


def sum_over(x: Tensor, dims: tuple[int, ...]) -> Tensor:
    """The sum of x: (N, C, ...) over ``dims`` (not N or C; each kept as size 1). A channels-last x is summed
    as (N, ..., C) rows: torch's keep-dim sum of the channels-last tensor itself took 30x as long on the
    CPU."""
    if is_channels_last(x):
        return x.movedim(1, -1).sum(dim=tuple(d - 1 for d in dims), keepdim=True).movedim(-1, 1)
    return x.sum(dim=dims, keepdim=True)


def average_pool(x: Tensor, dims: tuple[int, ...]) -> Tensor:
    """The mean of x over ``dims`` (kept as size 1), as a sum divided on the pooled tensor: its backward
    is then a broadcast view, where ``Tensor.mean``'s divides a full-size gradient."""
    return sum_over(x, dims) / math.prod(x.shape[d] for d in dims)


class _ApplyGate(torch.autograd.Function):
    """x * gate, the gate broadcast over some of x's dims; its gradient is reduced with :func:`sum_over`
    (autograd's own reduction of a broadcast product is the slow keep-dim sum on channels-last tensors)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, gate: Tensor) -> Tensor:
        ctx.save_for_backward(x, gate)
        return x * gate

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None]:
        x, gate = ctx.saved_tensors
        grad_x = grad * gate if ctx.needs_input_grad[0] else None
        grad_gate = None
        if ctx.needs_input_grad[1]:
            dims = tuple(d for d in range(x.dim()) if gate.shape[d] == 1 < x.shape[d])
            grad_gate = sum_over(grad * x, dims) if dims else grad * x
        return grad_x, grad_gate


def apply_gate(x: Tensor, gate: Tensor) -> Tensor:
    """x: (N, C, T, H, W) times ``gate`` (N, C, and T, H, W or 1 each), the gate broadcast."""
    return _ApplyGate.apply(x, gate)


def grouped_hidden_width(channels: int, groups: int, reduction: int) -> int:
    """Hidden width of a grouped bottleneck: C / reduction, at least one channel per group."""
    return groups * max(1, channels // groups // reduction)


class _GroupedGate(nn.Module):
    """pool -> grouped conv -> BN -> ReLU -> grouped conv (with ``bias``) -> sigmoid, broadcast over the
    pooled dims."""

    def __init__(
        self,
        channels: int,
        groups: int,
        kernel_size: tuple[int, int, int],
        pool_dims: tuple[int, ...],
        reduction: int,
        bias: bool = True,
    ) -> None:
        super().__init__()
        hidden = grouped_hidden_width(channels, groups, reduction)
        self.pool_dims = pool_dims
        self.reduce = ConvBnAct3d(channels, hidden, kernel_size, groups=groups)
        self.expand = conv3d(hidden, channels, kernel_size, groups=groups, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        return apply_gate(x, torch.sigmoid(self.expand(self.reduce(average_pool(x, self.pool_dims)))))


class SpatialExcitation(_GroupedGate):
    """Eq. 6: temporal pooling, two 1 x k x k grouped convs, attention shared by all frames."""

    def __init__(
        self, channels: int, groups: int, kernel: int, reduction: int = 4, bias: bool = True
    ) -> None:
        super().__init__(channels, groups, (1, kernel, kernel), pool_dims=(2,), reduction=reduction,
                         bias=bias)


class TemporalExcitation(_GroupedGate):
    """Eq. 7: spatial pooling, two k x 1 x 1 grouped convs, attention shared by all positions."""

    def __init__(
        self, channels: int, groups: int, kernel: int, reduction: int = 4, bias: bool = True
    ) -> None:
        super().__init__(channels, groups, (kernel, 1, 1), pool_dims=(3, 4), reduction=reduction, bias=bias)


class ChannelExcitation(_GroupedGate):
    """Eq. 8: spatial pooling, two point-wise grouped convs, one weight per (channel, frame)."""

    def __init__(self, channels: int, groups: int, reduction: int = 4, bias: bool = True) -> None:
        super().__init__(channels, groups, (1, 1, 1), pool_dims=(3, 4), reduction=reduction, bias=bias)


class SqueezeExcitation(nn.Module):
    """Hu et al.: global (T, H, W) pooling, dense C -> C/r -> C bottleneck, one weight per channel."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.reduce = conv3d(channels, hidden, 1, bias=True)
        self.act = nn.ReLU(inplace=True)
        self.expand = conv3d(hidden, channels, 1, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        return apply_gate(x, torch.sigmoid(self.expand(self.act(self.reduce(average_pool(x, (2, 3, 4)))))))
