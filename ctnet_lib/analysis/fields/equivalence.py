"""C3D, R(2+1)D and CSN as special cases of the CT-Module (the paper's Discussion), checked numerically.

Each baseline's weights are copied into a CT-Module of the matching configuration. Every CT
sub-operation ends in BN -> ReLU while the baseline ends in a bare conv, so the exact statement is
``ct(x) == relu(bn(baseline(x)))`` with ``bn`` the CT-Module's last BatchNorm in eval mode:

| baseline | CT configuration                                                                   |
| -------- | ---------------------------------------------------------------------------------- |
| C3D      | K=1, kernels (3,), coupled: one dense 3x3x3 conv                                    |
| R(2+1)D  | K=1, kernels (3,), serial: dense 1x3x3 then dense 3x1x1 (no tensorisation)          |
| CSN      | K=2, sizes (C, 1), kernels (1, 3), coupled: dense 1x1x1, then groups of one: 3x3x3  |
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import torch
from torch import Tensor, nn

from ctnet_lib.ops.ct_module import CTModule
from ctnet_lib.ops.module_registry import baseline_kinds
from ctnet_lib.ops.temporal_modules import C3DModule, CSNModule, R2Plus1DModule, TemporalModuleConfig

# Each baseline's CT form (its registry entry's ``as_ct``) and its module class.
EQUIVALENT_CT_CONFIGS: dict[str, TemporalModuleConfig] = {
    kind.name: kind.as_ct(TemporalModuleConfig(kind=kind.name)) for kind in baseline_kinds() if kind.as_ct
}
BASELINES: dict[str, type[nn.Module]] = {kind.name: kind.module_type for kind in baseline_kinds()}


def _copy_conv(source: nn.Conv3d, target: nn.Conv3d) -> None:
    if source.weight.shape != target.weight.shape:
        raise ValueError(
            f"cannot map conv weight {tuple(source.weight.shape)} onto {tuple(target.weight.shape)}"
        )
    target.weight.copy_(source.weight)


def _copy_bn(source: nn.BatchNorm3d, target: nn.BatchNorm3d) -> None:
    target.load_state_dict(source.state_dict())


def c3d_as_ct(baseline: C3DModule) -> CTModule:
    """The CT-Module (K=1, coupled 3x3x3) holding ``baseline``'s conv weights."""
    ct = CTModule(baseline.conv.out_channels, EQUIVALENT_CT_CONFIGS["c3d"]).to(baseline.conv.weight)
    with torch.no_grad():
        _copy_conv(baseline.conv, ct.sub_ops[0].coupled.conv)
    return ct


def r2plus1d_as_ct(baseline: R2Plus1DModule) -> CTModule:
    """The CT-Module (K=1, serial 1x3x3 then 3x1x1) holding ``baseline``'s convs and inner BN."""
    config = EQUIVALENT_CT_CONFIGS["r2plus1d"]
    ct = CTModule(baseline.temporal.out_channels, config).to(baseline.temporal.weight)
    sub_op = ct.sub_ops[0]
    with torch.no_grad():
        _copy_conv(baseline.spatial.conv, sub_op.spatial.conv)
        _copy_bn(baseline.spatial.bn, sub_op.spatial.bn)
        _copy_conv(baseline.temporal, sub_op.temporal.conv)
    return ct


def csn_as_ct(baseline: CSNModule) -> CTModule:
    """The CT-Module (K=2, sizes (C, 1), kernels (1, 3), coupled) holding ``baseline``'s weights."""
    ct = CTModule(baseline.depthwise.out_channels, EQUIVALENT_CT_CONFIGS["csn"]).to(baseline.depthwise.weight)
    if ct.sizes[-1] != 1:
        raise ValueError(f"CSN needs a last sub-dimension of size 1, the CT-Module has sizes {ct.sizes}")
    with torch.no_grad():
        _copy_conv(baseline.pointwise.conv, ct.sub_ops[0].coupled.conv)
        _copy_bn(baseline.pointwise.bn, ct.sub_ops[0].coupled.bn)
        _copy_conv(baseline.depthwise, ct.sub_ops[1].coupled.conv)
    return ct


AS_CT: dict[str, Callable[[nn.Module], CTModule]] = {
    "c3d": c3d_as_ct,
    "r2plus1d": r2plus1d_as_ct,
    "csn": csn_as_ct,
}


def last_batch_norm(ct: CTModule) -> nn.BatchNorm3d:
    """The BN that closes the CT-Module's last sub-operation."""
    last = ct.sub_ops[-1]
    return last.coupled.bn if last.connection == "coupled" else last.temporal.bn


def randomise_batch_norms(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """Give every BN non-trivial affine weights and running statistics (so the check is not vacuous)."""
    with torch.no_grad():
        for bn in module.modules():
            if isinstance(bn, nn.BatchNorm3d):
                shape = bn.running_mean.shape
                kwargs = {"generator": generator, "dtype": bn.running_mean.dtype}
                bn.running_mean.copy_(torch.randn(shape, **kwargs))
                bn.running_var.copy_(torch.rand(shape, **kwargs) + 0.5)
                bn.weight.copy_(torch.randn(shape, **kwargs))
                bn.bias.copy_(torch.randn(shape, **kwargs))
    return module


def equivalence_error(
    kind: str, channels: int = 16, thw: tuple[int, int, int] = (4, 6, 6), seed: int = 0
) -> float:
    """max |ct(x) - relu(bn(baseline(x)))| (float64) for a random ``kind`` baseline, x: (2, C, T, H, W).

    The baseline's BNs and the CT-Module's last BN get random statistics; the global RNG is untouched.
    """
    if kind not in AS_CT:
        raise ValueError(f"kind {kind!r} has no CT equivalent here; use one of {sorted(AS_CT)}")
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        baseline = BASELINES[kind](channels).double().eval()
    randomise_batch_norms(baseline, generator)
    ct = AS_CT[kind](baseline).eval()
    randomise_batch_norms(last_batch_norm(ct), generator)
    x = torch.randn(2, channels, *thw, generator=generator, dtype=torch.float64)
    return compare_outputs(ct, baseline, x)


def check_all_equivalences(
    channels: tuple[int, ...] = (8, 16), thw: tuple[int, int, int] = (4, 6, 6), seed: int = 0
) -> pd.DataFrame:
    """One row per (baseline, C): the CT configuration and the float64 max abs difference."""
    rows = []
    for kind, config in EQUIVALENT_CT_CONFIGS.items():
        for c in channels:
            rows.append({
                "baseline": kind, "channels": c, "num_sub_dims": config.num_sub_dims,
                "sizes": CTModule(c, config).sizes, "kernels": config.kernel_per_sub_dim,
                "connection": config.connection, "max_abs_diff": equivalence_error(kind, c, thw, seed),
            })
    return pd.DataFrame(rows)


def compare_outputs(ct: CTModule, baseline: nn.Module, x: Tensor) -> float:
    """max |ct(x) - relu(bn(baseline(x)))| for an already mapped pair (both in eval mode)."""
    with torch.no_grad():
        return float((ct(x) - torch.relu(last_batch_norm(ct)(baseline(x)))).abs().max())
