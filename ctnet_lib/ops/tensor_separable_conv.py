"""Tensor separable convolution: one sub-operation of the CT-Module (paper eq. 2-8).

The channel axis of x: (N, C, T, H, W) is viewed as sub-dimensions (C1, ..., CK) in row-major
order. A grouped convolution mixes contiguous channel groups, so to mix along sub-dimension k the
channels are first put in a layout where k is innermost; each group is then one fibre of Ck
channels (the other sub-dimensions fixed) and every fibre has its own weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import Tensor, nn

from ctnet_lib.ops.conv_bn_act import ConvBnAct3d
from ctnet_lib.ops.excitation import (
    ChannelExcitation,
    SpatialExcitation,
    SqueezeExcitation,
    TemporalExcitation,
)
from ctnet_lib.ops.memory_format import is_channels_last
from ctnet_lib.ops.recompute import recompute_in_backward

CONNECTIONS = ("parallel", "serial", "coupled")
EXCITATIONS = ("none", "se", "te")


def mixing_layout(k: int, num_sub_dims: int) -> tuple[int, ...]:
    """Channel layout (sub-dimension ids, outermost first) in which sub-dimension k is innermost."""
    return (*(i for i in range(num_sub_dims) if i != k), k)


def permute_channel_layout(
    x: Tensor, sizes: Sequence[int], source: Sequence[int], target: Sequence[int]
) -> Tensor:
    """Reorder the channels of x: (N, C, ...) from layout ``source`` to layout ``target``.

    A layout lists sub-dimension ids outermost first; ``sizes[i]`` is the size of sub-dimension i.
    The result keeps x's memory format: a channels-last x (channels innermost in memory) is reordered
    as (N, ..., C) rows and stays channels-last.
    """
    if tuple(source) == tuple(target):
        return x
    if is_channels_last(x):
        return _permute_sub_dims(x.movedim(1, -1), x.dim() - 1, sizes, source, target).movedim(-1, 1)
    return _permute_sub_dims(x, 1, sizes, source, target)


def _permute_sub_dims(
    x: Tensor, dim: int, sizes: Sequence[int], source: Sequence[int], target: Sequence[int]
) -> Tensor:
    """x with its axis ``dim`` split as layout ``source``, reordered to ``target`` and merged again."""
    split = x.unflatten(dim, [sizes[i] for i in source])
    moved = [dim + list(source).index(d) for d in target]
    order = [*range(dim), *moved, *range(dim + len(source), split.dim())]
    return split.permute(order).flatten(dim, dim + len(source) - 1)


class TensorSeparableConv(nn.Module):
    """One sub-operation on x: (N, C, T, H, W) whose mixed sub-dimension (size ``group_size``) is innermost.

    ``connection``: 'parallel' sums a spatial 1 x k x k and a temporal k x 1 x 1 branch (eq. 5);
    'serial' applies spatial then temporal; 'coupled' is one k x k x k conv. Each conv is followed
    by BN and ReLU. ``excitation``: 'te' gates the spatial branch (eq. 6), the temporal branch
    (eq. 7) and their sum (eq. 8) with the same channel groups; 'se' gates the output (Hu et al.).
    ``gate_bias``: whether the TE gates' expanding convs have a bias (see ``ops.variants``).
    ``stride`` is the spatial stride of the convs (applied to both parallel branches). With
    ``recompute_activations`` everything after the convs is recomputed in the backward pass.
    """

    def __init__(
        self,
        channels: int,
        group_size: int,
        kernel: int,
        connection: str = "parallel",
        excitation: str = "none",
        stride: int = 1,
        te_reduction: int = 4,
        se_reduction: int = 16,
        gate_bias: bool = True,
    ) -> None:
        super().__init__()
        if connection not in CONNECTIONS:
            raise ValueError(f"connection {connection!r} is not one of {CONNECTIONS}")
        if excitation not in EXCITATIONS:
            raise ValueError(f"excitation {excitation!r} is not one of {EXCITATIONS}")
        if channels % group_size:
            raise ValueError(f"group size {group_size} does not divide C={channels}")
        self.connection = connection
        self.excitation = excitation
        groups = channels // group_size
        spatial_stride = (1, stride, stride)
        if connection == "coupled":
            self.coupled = ConvBnAct3d(channels, channels, kernel, spatial_stride, groups)
        else:
            self.spatial = ConvBnAct3d(channels, channels, (1, kernel, kernel), spatial_stride, groups)
            temporal_stride = spatial_stride if connection == "parallel" else 1
            self.temporal = ConvBnAct3d(channels, channels, (kernel, 1, 1), temporal_stride, groups)
        if excitation == "te":
            self.spatial_gate = SpatialExcitation(channels, groups, kernel, te_reduction, gate_bias)
            self.temporal_gate = TemporalExcitation(channels, groups, kernel, te_reduction, gate_bias)
            self.channel_gate = ChannelExcitation(channels, groups, te_reduction, gate_bias)
        elif excitation == "se":
            self.channel_gate = SqueezeExcitation(channels, se_reduction)
        self.recompute_activations = False  # see ops.recompute

    def _gate(self, name: str, x: Tensor) -> Tensor:
        gate = getattr(self, name, None)
        return x if gate is None else gate(x)

    def forward(self, x: Tensor) -> Tensor:
        if self.connection == "coupled":
            return self._after_convs(self._coupled_tail, self.coupled.conv(x))
        if self.connection == "serial":
            spatial = self._after_convs(self._spatial_branch, self.spatial.conv(x))
            return self._after_convs(self._serial_tail, self.temporal.conv(spatial))
        return self._after_convs(self._parallel_tail, self.spatial.conv(x), self.temporal.conv(x))

    def _after_convs(self, tail: Callable[..., Tensor], *conv_outputs: Tensor) -> Tensor:
        """``tail`` of the conv outputs, recomputed in the backward pass with ``recompute_activations``."""
        return recompute_in_backward(tail, *conv_outputs, owner=self, enabled=self.recompute_activations)

    def _spatial_branch(self, spatial: Tensor) -> Tensor:
        return self._gate("spatial_gate", self.spatial.activate(spatial))

    def _parallel_tail(self, spatial: Tensor, temporal: Tensor) -> Tensor:
        summed = self._spatial_branch(spatial) + self._gate("temporal_gate", self.temporal.activate(temporal))
        return self._gate("channel_gate", summed)

    def _serial_tail(self, temporal: Tensor) -> Tensor:
        return self._gate("channel_gate", self._gate("temporal_gate", self.temporal.activate(temporal)))

    def _coupled_tail(self, coupled: Tensor) -> Tensor:
        gated = self._gate("temporal_gate", self._gate("spatial_gate", self.coupled.activate(coupled)))
        return self._gate("channel_gate", gated)
