"""The CT-Module (kind ``ct``) and its registry entry: class, steps, cost terms and field structure.

K tensor separable sub-operations over C = C1 x ... x CK (+ PWConv between them, TE or SE gates).
Maps x: (N, C, T, H, W) to (N, C, T, H / stride, W / stride).
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
from torch import Tensor, nn

from ctnet_lib.ops.channel_groups import step_mixing_matrix
from ctnet_lib.ops.conv_bn_act import ConvBnAct3d
from ctnet_lib.ops.excitation import grouped_hidden_width
from ctnet_lib.ops.module_registry import (
    CostBuilder,
    ModuleKind,
    PaperClaim,
    Size3,
    Step,
    StepStructure,
    box,
    dense_mixing,
    register_module_kind,
)
from ctnet_lib.ops.recompute import recompute_in_backward
from ctnet_lib.ops.temporal_modules import TemporalModuleConfig
from ctnet_lib.ops.tensor_separable_conv import TensorSeparableConv, mixing_layout, permute_channel_layout


class CTModule(nn.Module):
    """Channel Tensorization Module: K tensor separable sub-operations over C = C1 x ... x CK.

    Sub-operation k mixes sub-dimension k (the larger sizes first). With ``pwconv`` a dense
    1x1x1 conv -> BN -> ReLU sits between consecutive sub-operations (not after the last).
    ``home`` is the layout of the module's input and output channels: sub-dimension 1 outermost
    (variant 'paper') or innermost (variant 'release', see ``ops.variants``).
    """

    def __init__(self, channels: int, config: TemporalModuleConfig, stride: int = 1) -> None:
        super().__init__()
        self.sizes = config.sizes(channels)
        variant = config.variant_spec
        order = tuple(range(len(self.sizes)))
        self.home = order[::-1] if variant.first_mixed_innermost else order
        self.layouts = [mixing_layout(k, len(self.sizes)) for k in range(len(self.sizes))]
        self.sub_ops = nn.ModuleList(
            TensorSeparableConv(
                channels, size, kernel, config.connection, config.excitation,
                stride=stride if k == 0 else 1,
                te_reduction=config.te_reduction, se_reduction=config.se_reduction,
                gate_bias=variant.gate_bias,
            )
            for k, (size, kernel) in enumerate(zip(self.sizes, config.kernel_per_sub_dim, strict=True))
        )
        self.pwconvs = nn.ModuleList(
            ConvBnAct3d(channels, channels, 1) for _ in range(len(self.sizes) - 1) if config.pwconv
        )
        self.recompute_activations = False  # PWConv's BN and ReLU too (see ops.recompute)

    def forward(self, x: Tensor) -> Tensor:
        layout = self.home
        for k, sub_op in enumerate(self.sub_ops):
            x = permute_channel_layout(x, self.sizes, layout, self.layouts[k])
            layout = self.layouts[k]
            x = sub_op(x)
            if k < len(self.pwconvs):
                x = self._pwconv(self.pwconvs[k], x)
        return permute_channel_layout(x, self.sizes, layout, self.home)

    def _pwconv(self, pwconv: ConvBnAct3d, x: Tensor) -> Tensor:
        """``pwconv(x)``; called as a module where nothing is recomputed, so that hooks on it (the PWConv
        step of ``ct_steps``) see its output."""
        if self.recompute_activations:
            return recompute_in_backward(pwconv.activate, pwconv.conv(x), owner=pwconv)
        return pwconv(x)


def ct_step_name(k: int, size: int, kernel: int, connection: str) -> str:
    """Name of sub-operation k (0-based) of a CT-Module, e.g. 'C1=8: 1x3x3 + 3x1x1'."""
    spatial, temporal, cube = f"1x{kernel}x{kernel}", f"{kernel}x1x1", f"{kernel}x{kernel}x{kernel}"
    shape = {"parallel": f"{spatial} + {temporal}", "serial": f"{spatial} -> {temporal}", "coupled": cube}
    return f"C{k + 1}={size}: {shape[connection]}"


def _tsconv_kernel(sub_op: TensorSeparableConv) -> int:
    conv = sub_op.coupled.conv if sub_op.connection == "coupled" else sub_op.temporal.conv
    return conv.kernel_size[0]


def ct_steps(module: CTModule) -> list[Step]:
    """Sub-operation k (with its gates) for k = 1..K; with PWConv, each point-wise conv is a step too."""
    steps = []
    for k, sub_op in enumerate(module.sub_ops):
        to_order = partial(permute_channel_layout, sizes=module.sizes, source=module.layouts[k],
                           target=module.home)
        steps.append(Step(ct_step_name(k, module.sizes[k], _tsconv_kernel(sub_op), sub_op.connection),
                          sub_op, to_order))
        if k < len(module.pwconvs):
            steps.append(Step(f"PWConv {k + 1}", module.pwconvs[k], to_order))
    return steps


def _pad_to(support: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    pads = [((n - s) // 2, (n - s) // 2) for s, n in zip(support.shape, shape, strict=True)]
    return np.pad(support, pads)


def tsconv_support(kernel: int, connection: str) -> np.ndarray:
    """Offsets one tensor separable conv reaches: a 'cross' 1xkxk U kx1x1 for parallel, else kxkxk."""
    if connection == "parallel":
        return _pad_to(box(1, kernel, kernel), (kernel,) * 3) | _pad_to(box(kernel, 1, 1), (kernel,) * 3)
    return box(kernel, kernel, kernel)


def ct_structure(config: TemporalModuleConfig, channels: int) -> list[StepStructure]:
    """Step k mixes the fibres of sub-dimension k over a tensor separable support; PWConv mixes all."""
    sizes = config.sizes(channels)
    steps = []
    for k, (size, kernel) in enumerate(zip(sizes, config.kernel_per_sub_dim, strict=True)):
        name = ct_step_name(k, size, kernel, config.connection)
        support = tsconv_support(kernel, config.connection)
        steps.append(StepStructure(name, step_mixing_matrix(sizes, k), support))
        if config.pwconv and k < len(sizes) - 1:
            steps.append(StepStructure(f"PWConv {k + 1}", dense_mixing(channels), box(1, 1, 1)))
    return steps


def ct_paper_claims(config: TemporalModuleConfig, channels: int) -> list[PaperClaim | None]:
    """After sub-operation k: C1 x ... x Ck channels and a cube of side 1 + sum of (kernel_j - 1), j <= k
    ((2k + 1)^3 for 3-kernels); None for the PWConv steps the paper's Table 1 omits."""
    sizes = config.sizes(channels)
    claims: list[PaperClaim | None] = []
    for k in range(len(sizes)):
        side = 1 + sum(kernel - 1 for kernel in config.kernel_per_sub_dim[: k + 1])
        claims.append(PaperClaim(f"STC_{k + 1}", math.prod(sizes[: k + 1]), (side,) * 3))
        if config.pwconv and k < len(sizes) - 1:
            claims.append(None)
    return claims


def ct_cost_terms(
    builder: CostBuilder, channels: int, config: TemporalModuleConfig, thw: Size3
) -> tuple[int, ...]:
    """Per sub-operation: its convs and BNs, its TE or SE gates, then the PWConv that follows it."""
    sizes = config.sizes(channels)
    volume = channels * math.prod(thw)
    for k, (size, kernel) in enumerate(zip(sizes, config.kernel_per_sub_dim, strict=True)):
        step, ck = f"sub-op {k + 1}", f"C{k + 1}"
        if config.connection == "coupled":
            builder.conv(step, "3D conv", f"{kernel}x{kernel}x{kernel}, groups=C/{ck}", volume,
                         size * kernel**3, channels, False, (f"C·THW·{ck}·k³", f"C·{ck}·k³"))
            builder.bn(step, "BN", "after 3D conv", volume, channels, ("C·THW", "C"))
        else:
            builder.conv(step, "spatial conv", f"1x{kernel}x{kernel}, groups=C/{ck}", volume,
                         size * kernel**2, channels, False, (f"C·THW·{ck}·k²", f"C·{ck}·k²"))
            builder.bn(step, "BN", "after spatial conv", volume, channels, ("C·THW", "C"))
            builder.conv(step, "temporal conv", f"{kernel}x1x1, groups=C/{ck}", volume,
                         size * kernel, channels, False, (f"C·THW·{ck}·k", f"C·{ck}·k"))
            builder.bn(step, "BN", "after temporal conv", volume, channels, ("C·THW", "C"))
        if config.excitation == "te":
            _tensor_excitation_terms(builder, step, ck, channels, size, kernel, thw, config.te_reduction,
                                     config.variant_spec.gate_bias)
        elif config.excitation == "se":
            hidden = max(1, channels // config.se_reduction)
            builder.conv(step, "SE", "squeeze 1x1x1", hidden, channels, hidden, True, ("r·C", "r·C"))
            builder.conv(step, "SE", "excite 1x1x1", channels, hidden, channels, True, ("C·r", "C·r"))
        if config.pwconv and k < len(sizes) - 1:
            pw_step = f"PWConv {k + 1}"
            builder.conv(pw_step, "PWConv", "dense 1x1x1", volume, channels, channels, False,
                         ("C·THW·C", "C²"))
            builder.bn(pw_step, "PWConv", "BN", volume, channels, ("C·THW", "C"))
    return sizes


def _tensor_excitation_terms(
    builder: CostBuilder, step: str, ck: str, channels: int, size: int, kernel: int, thw: Size3,
    reduction: int, bias: bool,
) -> None:
    """The three TE gates of one sub-operation (eq. 6-8): grouped C -> h -> C bottlenecks."""
    frames, height, width = thw
    groups = channels // size
    hidden = grouped_hidden_width(channels, groups, reduction)
    gates = (
        ("spatial gate", height * width, kernel**2, "HW", "k²"),
        ("temporal gate", frames, kernel, "T", "k"),
        ("channel gate", frames, 1, "T", "1"),
    )
    for gate, positions, taps, where, tap_symbol in gates:
        builder.conv(step, "TE", f"{gate} reduce", hidden * positions, size * taps, hidden, False,
                     (f"h·{where}·{ck}·{tap_symbol}", f"h·{ck}·{tap_symbol}"))
        builder.bn(step, "TE", f"{gate} BN", hidden * positions, hidden, (f"h·{where}", "h"))
        builder.conv(step, "TE", f"{gate} expand", channels * positions, hidden // groups * taps, channels,
                     bias, (f"C·{where}·(h/G)·{tap_symbol}", f"C·(h/G)·{tap_symbol}"))


CT = register_module_kind(ModuleKind(
    name="ct",
    label="CT-Module",
    module_type=CTModule,
    build=CTModule,
    steps=ct_steps,
    cost_terms=ct_cost_terms,
    structure=ct_structure,
    paper_claims=ct_paper_claims,
    radius=lambda config: sum(k // 2 for k in config.kernel_per_sub_dim),
    as_ct=lambda config: config,
))
