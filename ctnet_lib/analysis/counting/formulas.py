"""Closed-form parameters and MACs of one temporal module, term by term, and the C2 cost curve.

Costs are for one clip (batch 1) whose module output is (C, T, H, W), stride 1, under the two
conventions of ``complexity.py``: ``paper`` (conv MACs, +1 per output for a bias, 2 ops per BN output
element) and ``conv_linear`` (weight MACs only). Parameters include BN affine weights and biases
(running statistics are buffers). ``network_cost`` turns module costs into whole-network costs by
swapping them into a hook count of the plain 2D network.

Symbols in the formula strings: C channels; THW = T·H·W output positions; Ck the size of sub-dimension
k; k the kernel size; G = C / Ck the conv groups; h the TE hidden width (``grouped_hidden_width``);
r the SE hidden width.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd
from torch import nn

from ctnet_lib.analysis.counting.complexity import CONVENTIONS, ComplexityReport, InUnits, count_complexity
from ctnet_lib.models import build_model
from ctnet_lib.models.presets import ALL_BACKBONES
from ctnet_lib.models.variants import DEFAULT_NUM_CLASSES
from ctnet_lib.ops.module_registry import module_kind
from ctnet_lib.ops.temporal_modules import TemporalModuleConfig, build_temporal_module


@dataclass(frozen=True)
class CostTerm:
    """One layer's share of a module's cost; ``name`` groups terms (e.g. all 'BN'), ``part`` details it."""

    step: str
    name: str
    part: str
    macs: int
    params: int
    macs_formula: str
    params_formula: str


@dataclass(frozen=True)
class ModuleCost:
    """Closed-form cost of one temporal module; ``terms`` in execution order."""

    kind: str
    channels: int
    output_thw: tuple[int, int, int]
    sizes: tuple[int, ...]
    convention: str
    terms: tuple[CostTerm, ...]

    @property
    def macs(self) -> int:
        return sum(term.macs for term in self.terms)

    @property
    def params(self) -> int:
        return sum(term.params for term in self.terms)

    def by_term(self) -> dict[str, int]:
        """MACs summed per term name, e.g. {'spatial conv': ..., 'BN': ..., 'TE': ...}."""
        return _sum_by_name(self.terms, "macs")

    def params_by_term(self) -> dict[str, int]:
        """Parameters summed per term name."""
        return _sum_by_name(self.terms, "params")

    @property
    def table(self) -> pd.DataFrame:
        """One row per term: step, name, part, macs_formula, macs, params_formula, params."""
        columns = ["step", "name", "part", "macs_formula", "macs", "params_formula", "params"]
        return pd.DataFrame([{c: getattr(t, c) for c in columns} for t in self.terms], columns=columns)

    def summary(self) -> pd.DataFrame:
        """One row per term name with MACs, params and their share of the total MACs in %."""
        macs, params = self.by_term(), self.params_by_term()
        frame = pd.DataFrame({"term": list(macs), "macs": list(macs.values()),
                              "params": list(params.values())})
        frame["macs_share_pct"] = 100.0 * frame["macs"] / max(self.macs, 1)
        return frame


def _sum_by_name(terms: tuple[CostTerm, ...], field: str) -> dict[str, int]:
    totals: dict[str, int] = {}
    for term in terms:
        totals[term.name] = totals.get(term.name, 0) + getattr(term, field)
    return totals


class _TermBuilder:
    """Collects conv and BN terms for one module under one convention (a registry ``CostBuilder``)."""

    def __init__(self, convention: str) -> None:
        if convention not in CONVENTIONS:
            raise ValueError(f"convention {convention!r} is not one of {CONVENTIONS}")
        self.paper = convention == "paper"
        self.terms: list[CostTerm] = []

    def conv(
        self, step: str, name: str, part: str, outputs: int, per_output: int, out_channels: int,
        bias: bool, formulas: tuple[str, str],
    ) -> None:
        """A conv: ``outputs`` output elements, ``per_output`` weight MACs each, ``out_channels`` filters."""
        counted_bias = 1 if (bias and self.paper) else 0
        params = out_channels * per_output + (out_channels if bias else 0)
        macs_formula, params_formula = formulas
        if counted_bias:
            macs_formula = f"{macs_formula} + bias"
        if bias:
            params_formula = f"{params_formula} + bias"
        macs = outputs * (per_output + counted_bias)
        self.terms.append(CostTerm(step, name, part, macs, params, macs_formula, params_formula))

    def bn(
        self, step: str, name: str, part: str, outputs: int, channels: int, symbols: tuple[str, str]
    ) -> None:
        """A BatchNorm over ``outputs`` elements of ``channels`` channels (2 ops each under 'paper')."""
        macs_formula = f"2·{symbols[0]}" if self.paper else "0"
        self.terms.append(
            CostTerm(step, name, part, 2 * outputs if self.paper else 0, 2 * channels, macs_formula,
                     f"2·{symbols[1]}")
        )


def temporal_module_cost(
    channels: int,
    config: TemporalModuleConfig,
    frames: int,
    height: int,
    width: int,
    convention: str = "paper",
) -> ModuleCost:
    """Closed-form cost of ``build_temporal_module(channels, config)`` with output (C, T, H, W), stride 1.

    ``frames``, ``height``, ``width`` = T, H, W of the module's output (equal to its input at stride 1).
    """
    kind = module_kind(config.kind)
    if min(channels, frames, height, width) < 1:
        raise ValueError(f"C={channels}, T={frames}, H={height}, W={width} must all be >= 1")
    builder = _TermBuilder(convention)
    sizes = kind.cost_terms(builder, channels, config, (frames, height, width))
    return ModuleCost(config.kind, channels, (frames, height, width), sizes, convention, tuple(builder.terms))


def divisors(n: int) -> list[int]:
    """All positive divisors of ``n`` in increasing order."""
    if n < 1:
        raise ValueError(f"n={n} must be >= 1 to have divisors")
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


def ct_k2_closed_form_macs(
    channels: int, c2: int, frames: int, height: int, width: int, kernel: int = 3, convention: str = "paper"
) -> int:
    """MACs of the K=2 parallel CT-Module: C·THW·(k²+k)·(C/C2 + C2) + 4 BN · 2·C·THW (paper)."""
    if convention not in CONVENTIONS:
        raise ValueError(f"convention {convention!r} is not one of {CONVENTIONS}")
    if c2 < 1 or channels % c2:
        raise ValueError(f"C2={c2} must be a positive divisor of C={channels}")
    volume = channels * frames * height * width
    batch_norms = 4 * 2 * volume if convention == "paper" else 0
    return volume * (kernel**2 + kernel) * (channels // c2 + c2) + batch_norms


def full_3d_conv_cost(
    channels: int, frames: int, height: int, width: int, kernel: int = 3
) -> tuple[int, int]:
    """(MACs, params) of eq. 1, one dense k x k x k conv over all C channels: (C·C·k³·THW, C·C·k³)."""
    params = channels * channels * kernel**3
    return params * frames * height * width, params


def optimal_c2(channels: int) -> tuple[int, ...]:
    """Divisors C2 of C minimising C/C2 + C2 (the K=2 cost); sqrt(C) when C is a perfect square."""
    score = {c2: channels // c2 + c2 for c2 in divisors(channels)}
    best = min(score.values())
    return tuple(c2 for c2, value in score.items() if value == best)


def c2_cost_curve(
    channels: int,
    frames: int,
    height: int,
    width: int,
    config: TemporalModuleConfig | None = None,
    convention: str = "paper",
) -> pd.DataFrame:
    """Cost of one K=2 CT-Module for every divisor C2 of C (C1 = C / C2).

    Columns: c2, c1, macs, params, closed_form_macs (NaN unless parallel/serial without PW/TE/SE),
    c1_plus_c2, is_min (True at the argmin of macs), full3d_macs (eq. 1, the same for every row).
    """
    base = (config or TemporalModuleConfig()).with_options(kind="ct", num_sub_dims=2, last_sub_dim=None)
    plain = base.connection != "coupled" and not base.pwconv and base.excitation == "none"
    same_kernel = len(set(base.kernel_per_sub_dim)) == 1
    rows = []
    for c2 in divisors(channels):
        cost = temporal_module_cost(channels, base.with_options(last_sub_dim=c2), frames, height, width,
                                    convention)
        kernel = base.kernel_per_sub_dim[0]
        closed = (
            ct_k2_closed_form_macs(channels, c2, frames, height, width, kernel, convention)
            if plain and same_kernel else math.nan
        )
        rows.append({"c2": c2, "c1": channels // c2, "macs": cost.macs, "params": cost.params,
                     "closed_form_macs": closed, "c1_plus_c2": channels // c2 + c2})
    curve = pd.DataFrame(rows)
    curve["is_min"] = curve["macs"] == curve["macs"].min()
    curve["full3d_macs"] = full_3d_conv_cost(channels, frames, height, width)[0]
    return curve


@dataclass(frozen=True)
class NetworkCost(InUnits):
    """Whole-network cost from formulas: the 2D network's hook count with each replaced 3x3 swapped;
    ``replaced`` names the blocks (the replaced convs' parents)."""

    macs: int
    params: int
    replaced: tuple[str, ...]


@dataclass(frozen=True)
class _PlainNetwork:
    report: ComplexityReport
    strides: dict[str, int]  # spatial stride of every 2D conv, by name


@lru_cache(maxsize=16)
def _plain_network(backbone: str, frames: int, size: int, num_classes: int, convention: str) -> _PlainNetwork:
    model = build_model(f"tsn_{backbone}", num_classes=num_classes)
    strides = {name: m.stride[0] for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}
    return _PlainNetwork(count_complexity(model, (1, 3, frames, size, size), convention), strides)


def replaced_layer_costs(
    config: TemporalModuleConfig,
    frames: int = 8,
    size: int = 256,
    num_classes: int = DEFAULT_NUM_CLASSES,
    backbone: str = "r50",
    replace: str | None = None,
    convention: str = "paper",
) -> pd.DataFrame:
    """One row per conv that ``config``'s module replaces in ``backbone`` under rule ``replace`` (None:
    the backbone's default): layer, channels, height, width (of the conv's output), conv_macs,
    module_macs, conv_params, module_params. The plain 2D network is counted once by hooks (cached).

    Only stride-1 convs have closed forms: a rule picking a strided one (the first block of ResNet
    stages 2-4) raises ValueError (count the built model with ``count_complexity`` instead).
    """
    if backbone not in ALL_BACKBONES:
        raise ValueError(f"backbone {backbone!r} is not one of {sorted(ALL_BACKBONES)}")
    spec = ALL_BACKBONES[backbone]
    rule = spec.default_replace if replace is None else replace
    names = spec.conv_names(rule) if config.has_module else ()
    plain = _plain_network(backbone, frames, size, num_classes, convention)
    layers = {layer.name: layer for layer in plain.report.layers}
    rows = []
    for name in names:
        if plain.strides[name] != 1:
            raise ValueError(
                f"replace={rule!r} includes the strided block {name.rsplit('.', 1)[0]} (its conv {name}); "
                "network_cost covers stride-1 convs only (count the built model with count_complexity)"
            )
        conv = layers[name]
        _, channels, height, width = conv.output_shape
        module = temporal_module_cost(channels, config, frames, height, width, convention)
        rows.append({"layer": name, "channels": channels, "height": height, "width": width,
                     "conv_macs": conv.macs, "module_macs": module.macs, "conv_params": conv.params,
                     "module_params": module.params})
    columns = ["layer", "channels", "height", "width", "conv_macs", "module_macs", "conv_params",
               "module_params"]
    return pd.DataFrame(rows, columns=columns)


def network_cost(
    config: TemporalModuleConfig,
    frames: int = 8,
    size: int = 256,
    num_classes: int = DEFAULT_NUM_CLASSES,
    backbone: str = "r50",
    replace: str | None = None,
    convention: str = "paper",
) -> NetworkCost:
    """Whole-network MACs and params of ``backbone`` whose convs picked by ``replace`` (None: the
    backbone's default rule) carry ``config``'s module: the plain 2D network's hook count with each
    replaced conv's cost swapped for ``temporal_module_cost`` (see ``replaced_layer_costs``).
    """
    layers = replaced_layer_costs(config, frames, size, num_classes, backbone, replace, convention)
    report = _plain_network(backbone, frames, size, num_classes, convention).report
    macs = report.macs + int((layers["module_macs"] - layers["conv_macs"]).sum())
    params = report.params + int((layers["module_params"] - layers["conv_params"]).sum())
    return NetworkCost(macs, params, tuple(layers["layer"].str.rsplit(".", n=1).str[0]))


def backbone_comparison(
    config: TemporalModuleConfig, backbones: Sequence[str], frames: int = 8,
    num_classes: int = DEFAULT_NUM_CLASSES,
    convention: str = "paper",
) -> pd.DataFrame:
    """Each backbone at its own input size, plain (TSN) and with ``config``'s module under its default
    rule: backbone, size, replaced (convs), tsn_gmacs, gmacs, tsn_params_m, params_m, gmacs_ratio."""
    rows = []
    for backbone in backbones:
        size = ALL_BACKBONES[backbone].input_size
        plain = _plain_network(backbone, frames, size, num_classes, convention).report
        cost = network_cost(config, frames, size, num_classes, backbone, convention=convention)
        rows.append({"backbone": backbone, "size": size, "replaced": len(cost.replaced),
                     "tsn_gmacs": plain.gmacs, "gmacs": cost.gmacs, "tsn_params_m": plain.params_m,
                     "params_m": cost.params_m, "gmacs_ratio": cost.gmacs / plain.gmacs})
    return pd.DataFrame(rows)


def compare_with_counter(
    channels: int,
    configs: dict[str, TemporalModuleConfig],
    frames: int,
    height: int,
    width: int,
    convention: str = "paper",
) -> pd.DataFrame:
    """Closed form vs hook counter for each named module configuration at output (C, T, H, W).

    Columns: module, formula_macs, counted_macs, macs_difference, formula_params, counted_params,
    params_difference. Counting runs each module once on zeros (batch 1).
    """
    rows = []
    for label, config in configs.items():
        formula = temporal_module_cost(channels, config, frames, height, width, convention)
        module = build_temporal_module(channels, config)
        counted = count_complexity(module, (1, channels, frames, height, width), convention)
        rows.append({
            "module": label, "formula_macs": formula.macs, "counted_macs": counted.macs,
            "macs_difference": formula.macs - counted.macs, "formula_params": formula.params,
            "counted_params": counted.params, "params_difference": formula.params - counted.params,
        })
    return pd.DataFrame(rows)
