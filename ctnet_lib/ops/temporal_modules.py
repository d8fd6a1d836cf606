"""The family of temporal modules that replace the 3x3 conv of a ResNet bottleneck.

Each module maps x: (N, C, T, H, W) to (N, C, T, H / stride, W / stride). The block's own BN and
ReLU follow the module, as they followed the 3x3 conv it replaces.

| kind       | what it is (paper Table 1 / 2a)                                   |
| ---------- | ----------------------------------------------------------------- |
| c3d        | full 3x3x3 conv                                                   |
| r2plus1d   | full 1x3x3 conv -> BN -> ReLU -> full 3x1x1 conv                  |
| csn        | full 1x1x1 conv -> BN -> ReLU -> depth-wise 3x3x3 conv (ip-CSN)   |
| ct         | K tensor separable convs over C = C1 x ... x CK (+ PWConv, TE/SE) |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from torch import Tensor, nn

from ctnet_lib.ops.conv_bn_act import ConvBnAct3d, conv3d
from ctnet_lib.ops.factorisation import factorise
from ctnet_lib.ops.tensor_separable_conv import (
    CONNECTIONS,
    EXCITATIONS,
    TensorSeparableConv,
    mixing_layout,
    permute_channel_layout,
)


@dataclass(frozen=True)
class TemporalModuleConfig:
    """Every architectural knob of a temporal module (only ``kind='ct'`` reads the CT fields)."""

    kind: str = "ct"
    num_sub_dims: int = 2
    last_sub_dim: int | None = None  # size of CK; None = balanced factorisation
    kernels: tuple[int, ...] = (3,)  # one odd size per sub-dimension, first to last; one value = all
    connection: str = "parallel"
    pwconv: bool = False
    excitation: str = "none"
    te_reduction: int = 4
    se_reduction: int = 16
    kernel_per_sub_dim: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in TEMPORAL_MODULES:
            raise ValueError(f"temporal module kind {self.kind!r} is not one of {sorted(TEMPORAL_MODULES)}")
        if self.num_sub_dims < 1:
            raise ValueError(f"num_sub_dims={self.num_sub_dims} must be >= 1")
        kernels = tuple(int(k) for k in self.kernels)
        if len(kernels) == 1:
            kernels = kernels * self.num_sub_dims
        if len(kernels) != self.num_sub_dims:
            raise ValueError(
                f"kernels={self.kernels} gives {len(kernels)} sizes for num_sub_dims={self.num_sub_dims}; "
                "give one size per sub-dimension or a single size for all"
            )
        if any(k < 1 or k % 2 == 0 for k in kernels):
            raise ValueError(f"kernels={self.kernels}: every kernel size must be a positive odd number")
        if self.connection not in CONNECTIONS:
            raise ValueError(f"connection={self.connection!r} is not one of {CONNECTIONS}")
        if self.excitation not in EXCITATIONS:
            raise ValueError(f"excitation={self.excitation!r} is not one of {EXCITATIONS}")
        object.__setattr__(self, "kernel_per_sub_dim", kernels)

    def with_options(self, **options: object) -> TemporalModuleConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **options)


class C3DModule(nn.Module):
    """Full 3x3x3 convolution over all channels (Tran et al., 2015)."""

    def __init__(self, channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = conv3d(channels, channels, 3, stride=(1, stride, stride))

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class R2Plus1DModule(nn.Module):
    """Full 1x3x3 spatial conv, BN, ReLU, then full 3x1x1 temporal conv (Tran et al., 2018)."""

    def __init__(self, channels: int, stride: int = 1) -> None:
        super().__init__()
        self.spatial = ConvBnAct3d(channels, channels, (1, 3, 3), stride=(1, stride, stride))
        self.temporal = conv3d(channels, channels, (3, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.temporal(self.spatial(x))


class CSNModule(nn.Module):
    """Interaction-preserved CSN: full 1x1x1 conv, BN, ReLU, depth-wise 3x3x3 (Tran et al., 2019)."""

    def __init__(self, channels: int, stride: int = 1) -> None:
        super().__init__()
        self.pointwise = ConvBnAct3d(channels, channels, 1)
        self.depthwise = conv3d(channels, channels, 3, stride=(1, stride, stride), groups=channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.depthwise(self.pointwise(x))


class CTModule(nn.Module):
    """Channel Tensorization Module: K tensor separable sub-operations over C = C1 x ... x CK.

    Sub-operation k mixes sub-dimension k (the larger sizes first). With ``pwconv`` a dense
    1x1x1 conv -> BN -> ReLU sits between consecutive sub-operations (not after the last).
    """

    def __init__(self, channels: int, config: TemporalModuleConfig, stride: int = 1) -> None:
        super().__init__()
        self.sizes = factorise(channels, config.num_sub_dims, config.last_sub_dim)
        self.layouts = [mixing_layout(k, len(self.sizes)) for k in range(len(self.sizes))]
        self.sub_ops = nn.ModuleList(
            TensorSeparableConv(
                channels, size, kernel, config.connection, config.excitation,
                stride=stride if k == 0 else 1,
                te_reduction=config.te_reduction, se_reduction=config.se_reduction,
            )
            for k, (size, kernel) in enumerate(zip(self.sizes, config.kernel_per_sub_dim, strict=True))
        )
        self.pwconvs = nn.ModuleList(
            ConvBnAct3d(channels, channels, 1) for _ in range(len(self.sizes) - 1) if config.pwconv
        )

    def forward(self, x: Tensor) -> Tensor:
        layout = tuple(range(len(self.sizes)))
        for k, sub_op in enumerate(self.sub_ops):
            x = permute_channel_layout(x, self.sizes, layout, self.layouts[k])
            layout = self.layouts[k]
            x = sub_op(x)
            if k < len(self.pwconvs):
                x = self.pwconvs[k](x)
        return permute_channel_layout(x, self.sizes, layout, tuple(range(len(self.sizes))))


ModuleFactory = Callable[[int, TemporalModuleConfig, int], nn.Module]

TEMPORAL_MODULES: dict[str, ModuleFactory | None] = {
    "none": None,
    "c3d": lambda c, cfg, s: C3DModule(c, s),
    "r2plus1d": lambda c, cfg, s: R2Plus1DModule(c, s),
    "csn": lambda c, cfg, s: CSNModule(c, s),
    "ct": CTModule,
}


def build_temporal_module(channels: int, config: TemporalModuleConfig, stride: int = 1) -> nn.Module:
    """The temporal module of ``config.kind`` for ``channels`` channels (kind 'none' has no module)."""
    factory = TEMPORAL_MODULES[config.kind]
    if factory is None:
        raise ValueError("kind 'none' keeps the 2D 3x3 conv; there is no temporal module to build")
    return factory(channels, config, stride)
