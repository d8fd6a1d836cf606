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

from dataclasses import dataclass, field, replace

from torch import Tensor, nn

from ctnet_lib.ops.conv_bn_act import ConvBnAct3d, conv3d
from ctnet_lib.ops.factorisation import factorise
from ctnet_lib.ops.module_registry import (
    NO_MODULE,
    CostBuilder,
    ModuleKind,
    PaperClaim,
    Size3,
    Step,
    StepStructure,
    box,
    dense_mixing,
    module_kind,
    own_channel,
    register_module_kind,
    unchanged,
)
from ctnet_lib.ops.tensor_separable_conv import CONNECTIONS, EXCITATIONS
from ctnet_lib.ops.variants import DEFAULT_VARIANT, CTVariant, ct_variant


@dataclass(frozen=True)
class TemporalModuleConfig:
    """Every architectural knob of a temporal module (only ``kind='ct'`` reads the CT fields).

    ``kind`` is a registered kind (``module_registry``) or 'none' (the plain 2D 3x3 conv).
    """

    kind: str = "ct"
    num_sub_dims: int = 2
    last_sub_dim: int | None = None  # size of CK; None = balanced factorisation
    kernels: tuple[int, ...] = (3,)  # one odd size per sub-dimension, first to last; one value = all
    connection: str = "parallel"
    pwconv: bool = False
    excitation: str = "none"
    te_reduction: int = 4
    se_reduction: int = 16
    variant: str = DEFAULT_VARIANT  # 'paper' or 'release' (kind 'ct' only; see ops.variants)
    kernel_per_sub_dim: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind != NO_MODULE:
            module_kind(self.kind)
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
        ct_variant(self.variant)
        if self.variant != DEFAULT_VARIANT and self.kind != "ct":
            raise ValueError(f"variant={self.variant!r} exists for kind 'ct' only (the released CT-Net), "
                             f"not kind {self.kind!r}")
        object.__setattr__(self, "kernel_per_sub_dim", kernels)

    @property
    def has_module(self) -> bool:
        """False for kind 'none', which keeps the plain 2D 3x3 conv."""
        return self.kind != NO_MODULE

    @property
    def variant_spec(self) -> CTVariant:
        """The layout details of ``variant`` (channel order, gate bias, BN and ReLU after the module)."""
        return ct_variant(self.variant)

    def sizes(self, channels: int) -> tuple[int, ...]:
        """Sub-dimension sizes (C1, ..., CK) of ``channels`` under num_sub_dims and last_sub_dim."""
        return factorise(channels, self.num_sub_dims, self.last_sub_dim)

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

def _c3d_cost(
    builder: CostBuilder, channels: int, config: TemporalModuleConfig, thw: Size3
) -> tuple[int, ...]:
    volume = channels * thw[0] * thw[1] * thw[2]
    builder.conv("module", "3D conv", "full 3x3x3", volume, 27 * channels, channels, False,
                 ("C·THW·C·27", "27·C²"))
    return (channels,)


C3D = register_module_kind(ModuleKind(
    name="c3d",
    label="C3D",
    module_type=C3DModule,
    build=lambda channels, config, stride: C3DModule(channels, stride),
    steps=lambda module: [Step("full 3x3x3", module, unchanged)],
    cost_terms=_c3d_cost,
    structure=lambda config, channels: [StepStructure("full 3x3x3", dense_mixing(channels), box(3, 3, 3))],
    paper_claims=lambda config, channels: [PaperClaim("STC", channels, (3, 3, 3))],
    as_ct=lambda config: TemporalModuleConfig(kind="ct", num_sub_dims=1, kernels=(3,), connection="coupled"),
    baseline=True,
))


class R2Plus1DModule(nn.Module):
    """Full 1x3x3 spatial conv, BN, ReLU, then full 3x1x1 temporal conv (Tran et al., 2018)."""

    def __init__(self, channels: int, stride: int = 1) -> None:
        super().__init__()
        self.spatial = ConvBnAct3d(channels, channels, (1, 3, 3), stride=(1, stride, stride))
        self.temporal = conv3d(channels, channels, (3, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.temporal(self.spatial(x))

def _r2plus1d_cost(
    builder: CostBuilder, channels: int, config: TemporalModuleConfig, thw: Size3
) -> tuple[int, ...]:
    volume = channels * thw[0] * thw[1] * thw[2]
    builder.conv("module", "spatial conv", "full 1x3x3", volume, 9 * channels, channels, False,
                 ("C·THW·C·9", "9·C²"))
    builder.bn("module", "BN", "after spatial conv", volume, channels, ("C·THW", "C"))
    builder.conv("module", "temporal conv", "full 3x1x1", volume, 3 * channels, channels, False,
                 ("C·THW·C·3", "3·C²"))
    return (channels,)


R2PLUS1D = register_module_kind(ModuleKind(
    name="r2plus1d",
    label="R(2+1)D",
    module_type=R2Plus1DModule,
    build=lambda channels, config, stride: R2Plus1DModule(channels, stride),
    steps=lambda module: [Step("full 1x3x3", module.spatial, unchanged),
                          Step("full 3x1x1", module.temporal, unchanged)],
    cost_terms=_r2plus1d_cost,
    structure=lambda config, channels: [StepStructure("full 1x3x3", dense_mixing(channels), box(1, 3, 3)),
                                        StepStructure("full 3x1x1", dense_mixing(channels), box(3, 1, 1))],
    paper_claims=lambda config, channels: [PaperClaim("SC", channels, (1, 3, 3)),
                                           PaperClaim("TC", channels, (3, 3, 3))],
    as_ct=lambda config: TemporalModuleConfig(kind="ct", num_sub_dims=1, kernels=(3,), connection="serial"),
    baseline=True,
))


class CSNModule(nn.Module):
    """Interaction-preserved CSN: full 1x1x1 conv, BN, ReLU, depth-wise 3x3x3 (Tran et al., 2019)."""

    def __init__(self, channels: int, stride: int = 1) -> None:
        super().__init__()
        self.pointwise = ConvBnAct3d(channels, channels, 1)
        self.depthwise = conv3d(channels, channels, 3, stride=(1, stride, stride), groups=channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.depthwise(self.pointwise(x))

def _csn_cost(
    builder: CostBuilder, channels: int, config: TemporalModuleConfig, thw: Size3
) -> tuple[int, ...]:
    volume = channels * thw[0] * thw[1] * thw[2]
    builder.conv("module", "point-wise conv", "full 1x1x1", volume, channels, channels, False,
                 ("C·THW·C", "C²"))
    builder.bn("module", "BN", "after point-wise conv", volume, channels, ("C·THW", "C"))
    builder.conv("module", "depth-wise conv", "3x3x3, groups=C", volume, 27, channels, False,
                 ("C·THW·27", "27·C"))
    return (channels,)


CSN = register_module_kind(ModuleKind(
    name="csn",
    label="CSN",
    module_type=CSNModule,
    build=lambda channels, config, stride: CSNModule(channels, stride),
    steps=lambda module: [Step("full 1x1x1", module.pointwise, unchanged),
                          Step("depth-wise 3x3x3", module.depthwise, unchanged)],
    cost_terms=_csn_cost,
    structure=lambda config, channels: [
        StepStructure("full 1x1x1", dense_mixing(channels), box(1, 1, 1)),
        StepStructure("depth-wise 3x3x3", own_channel(channels), box(3, 3, 3)),
    ],
    paper_claims=lambda config, channels: [PaperClaim("C", channels, (1, 1, 1)),
                                           PaperClaim("ST", channels, (3, 3, 3))],
    as_ct=lambda config: TemporalModuleConfig(kind="ct", num_sub_dims=2, last_sub_dim=1, kernels=(1, 3),
                                              connection="coupled"),
    baseline=True,
))


def build_temporal_module(channels: int, config: TemporalModuleConfig, stride: int = 1) -> nn.Module:
    """The temporal module of ``config.kind`` for ``channels`` channels (kind 'none' has no module)."""
    return module_kind(config.kind).build(channels, config, stride)
