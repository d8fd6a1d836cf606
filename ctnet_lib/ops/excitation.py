"""Excitation gates: Tensor Excitation (paper eq. 6-8, appendix A.2) and Squeeze-and-Excitation.

Every gate maps x: (N, C, T, H, W) to x * sigmoid(attention). The Tensor Excitation gates use the
same channel groups as the sub-operation they follow (``groups`` contiguous groups of C / groups
channels), with a hidden width of C / ``reduction`` split evenly over the groups.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ctnet_lib.ops.conv_bn_act import ConvBnAct3d, conv3d
from ctnet_lib.ops.memory_format import is_channels_last


def average_pool(x: Tensor, dims: tuple[int, ...]) -> Tensor:
    """The mean of x: (N, C, ...) over ``dims`` (kept as size 1, never 0 or 1), as a sum divided on the
    pooled tensor: its backward is then a broadcast view, where ``Tensor.mean``'s divides a full-size
    gradient. A channels-last x is summed as (N, ..., C) rows: torch's keep-dim sum of the channels-last
    tensor itself took 30x as long on the CPU."""
    count = math.prod(x.shape[d] for d in dims)
    if is_channels_last(x):
        rows = x.movedim(1, -1).sum(dim=tuple(d - 1 for d in dims), keepdim=True)
        return rows.movedim(-1, 1) / count
    return x.sum(dim=dims, keepdim=True) / count


def grouped_hidden_width(channels: int, groups: int, reduction: int) -> int:
    """Hidden width of a grouped bottleneck: C / reduction, at least one channel per group."""
    return groups * max(1, channels // groups // reduction)


class _GroupedGate(nn.Module):
    """pool -> grouped conv -> BN -> ReLU -> grouped conv -> sigmoid, broadcast over the pooled dims."""

    def __init__(
        self,
        channels: int,
        groups: int,
        kernel_size: tuple[int, int, int],
        pool_dims: tuple[int, ...],
        reduction: int,
    ) -> None:
        super().__init__()
        hidden = grouped_hidden_width(channels, groups, reduction)
        self.pool_dims = pool_dims
        self.reduce = ConvBnAct3d(channels, hidden, kernel_size, groups=groups)
        self.expand = conv3d(hidden, channels, kernel_size, groups=groups, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.sigmoid(self.expand(self.reduce(average_pool(x, self.pool_dims))))


class SpatialExcitation(_GroupedGate):
    """Eq. 6: temporal pooling, two 1 x k x k grouped convs, attention shared by all frames."""

    def __init__(self, channels: int, groups: int, kernel: int, reduction: int = 4) -> None:
        super().__init__(channels, groups, (1, kernel, kernel), pool_dims=(2,), reduction=reduction)


class TemporalExcitation(_GroupedGate):
    """Eq. 7: spatial pooling, two k x 1 x 1 grouped convs, attention shared by all positions."""

    def __init__(self, channels: int, groups: int, kernel: int, reduction: int = 4) -> None:
        super().__init__(channels, groups, (kernel, 1, 1), pool_dims=(3, 4), reduction=reduction)


class ChannelExcitation(_GroupedGate):
    """Eq. 8: spatial pooling, two point-wise grouped convs, one weight per (channel, frame)."""

    def __init__(self, channels: int, groups: int, reduction: int = 4) -> None:
        super().__init__(channels, groups, (1, 1, 1), pool_dims=(3, 4), reduction=reduction)


class SqueezeExcitation(nn.Module):
    """Hu et al.: global (T, H, W) pooling, dense C -> C/r -> C bottleneck, one weight per channel."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.reduce = conv3d(channels, hidden, 1, bias=True)
        self.act = nn.ReLU(inplace=True)
        self.expand = conv3d(hidden, channels, 1, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.sigmoid(self.expand(self.act(self.reduce(average_pool(x, (2, 3, 4))))))
