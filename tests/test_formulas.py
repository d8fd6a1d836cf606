import itertools
import math

import pytest

from ctnet_lib import build_model
from ctnet_lib.analysis.counting.complexity import CONVENTIONS, count_complexity
from ctnet_lib.analysis.counting.formulas import (
    c2_cost_curve,
    ct_k2_closed_form_macs,
    divisors,
    full_3d_conv_cost,
    network_cost,
    optimal_c2,
    temporal_module_cost,
)
from ctnet_lib.ops import TemporalModuleConfig, build_temporal_module

CHANNELS, THW = 48, (2, 3, 4)

CT_GRID = [
    {"num_sub_dims": k, "connection": connection, "pwconv": pwconv, "excitation": excitation}
    for k, connection, pwconv, excitation in itertools.product(
        (1, 2, 3, 4), ("parallel", "serial", "coupled"), (False, True), ("none", "te", "se")
    )
]
CT_VARIANTS = [
    {"kernels": (1,)},
    {"kernels": (5,)},
    {"kernels": (1, 3), "excitation": "te"},
    {"kernels": (3, 5), "pwconv": True},
    {"kernels": (5, 1, 3), "num_sub_dims": 3, "connection": "serial", "excitation": "te"},
    {"last_sub_dim": 1, "excitation": "te"},
    {"last_sub_dim": 2, "excitation": "te"},
    {"last_sub_dim": 4, "kernels": (1, 5), "excitation": "se"},
    {"last_sub_dim": 12, "connection": "coupled"},
    {"last_sub_dim": 48, "pwconv": True, "excitation": "te"},
    {"num_sub_dims": 3, "last_sub_dim": 2, "excitation": "te", "pwconv": True},
    {"excitation": "te", "te_reduction": 2},
    {"excitation": "se", "se_reduction": 4},
]
CONFIGS = (
    [TemporalModuleConfig(kind=kind) for kind in ("c3d", "r2plus1d", "csn")]
    + [TemporalModuleConfig(kind="ct", **options) for options in CT_GRID + CT_VARIANTS]
)


@pytest.mark.parametrize("config", CONFIGS, ids=repr)
def test_closed_form_equals_the_hook_counter_exactly(config):
    module = build_temporal_module(CHANNELS, config)
    for convention in CONVENTIONS:
        counted = count_complexity(module, (1, CHANNELS, *THW), convention)
        formula = temporal_module_cost(CHANNELS, config, *THW, convention)
        assert (formula.macs, formula.params) == (counted.macs, counted.params)
        assert formula.params == sum(p.numel() for p in module.parameters())


def test_terms_group_the_cost_by_name():
    cost = temporal_module_cost(64, TemporalModuleConfig(pwconv=True, excitation="te"), 8, 56, 56)
    assert list(cost.by_term()) == ["spatial conv", "BN", "temporal conv", "TE", "PWConv"]
    assert sum(cost.by_term().values()) == cost.macs
    assert sum(cost.params_by_term().values()) == cost.params
    volume = 64 * 8 * 56 * 56
    assert cost.by_term()["spatial conv"] == volume * (8 + 8) * 9
    assert cost.by_term()["temporal conv"] == volume * (8 + 8) * 3
    assert cost.by_term()["BN"] == 4 * 2 * volume
    assert cost.by_term()["PWConv"] == volume * 64 + 2 * volume
    assert set(cost.table["step"]) == {"sub-op 1", "PWConv 1", "sub-op 2"}
    assert cost.summary()["macs_share_pct"].sum() == pytest.approx(100.0)


def test_conv_linear_convention_drops_bn_and_bias_but_keeps_params():
    config = TemporalModuleConfig(excitation="te")
    paper = temporal_module_cost(32, config, *THW, "paper")
    bare = temporal_module_cost(32, config, *THW, "conv_linear")
    assert bare.by_term()["BN"] == 0 and bare.macs < paper.macs and bare.params == paper.params


@pytest.mark.parametrize("connection", ["parallel", "serial"])
@pytest.mark.parametrize("kernel", [1, 3, 5])
def test_k2_closed_form_holds_for_every_divisor(connection, kernel):
    config = TemporalModuleConfig(connection=connection, kernels=(kernel,))
    for c2 in divisors(CHANNELS):
        for convention in CONVENTIONS:
            expected = temporal_module_cost(CHANNELS, config.with_options(last_sub_dim=c2), *THW, convention)
            assert ct_k2_closed_form_macs(CHANNELS, c2, *THW, kernel, convention) == expected.macs


@pytest.mark.parametrize(
    ("channels", "best"),
    [(64, (8,)), (128, (8, 16)), (256, (16,)), (512, (16, 32)), (48, (6, 8)), (13, (1, 13))],
)
def test_cost_is_least_at_the_divisors_nearest_sqrt_c(channels, best):
    assert optimal_c2(channels) == best
    curve = c2_cost_curve(channels, 2, 7, 7)
    assert tuple(curve.loc[curve["is_min"], "c2"]) == best
    assert (curve["c1"] * curve["c2"] == channels).all()
    assert (curve["c1_plus_c2"] >= 2 * math.sqrt(channels)).all()
    assert (curve["closed_form_macs"] == curve["macs"]).all()
    assert (curve["macs"] < curve["full3d_macs"]).all()


def test_curve_leaves_the_closed_form_empty_where_it_does_not_apply():
    curve = c2_cost_curve(64, 2, 4, 4, TemporalModuleConfig(pwconv=True, excitation="te"))
    assert curve["closed_form_macs"].isna().all()
    assert curve.loc[curve["is_min"], "c2"].tolist() == [8]


def test_full_3d_conv_is_the_c3d_module():
    macs, params = full_3d_conv_cost(16, *THW)
    counted = count_complexity(build_temporal_module(16, TemporalModuleConfig(kind="c3d")), (1, 16, *THW))
    assert (macs, params) == (counted.macs, counted.params)


@pytest.mark.parametrize(
    ("preset", "options"),
    [
        ("ctnet_small", {}),
        ("csn_small", {}),
        ("c3d_small", {"replace": "layer1:1+layer4:1"}),
        ("ctmodule_small", {"num_sub_dims": 3, "kernels": "1,3,5", "connection": "serial"}),
    ],
)
def test_network_cost_from_formulas_equals_counting_the_built_model(preset, options):
    model = build_model(preset, num_classes=10, **options)
    counted = count_complexity(model, (1, 3, 2, 32, 32))
    replace = options.get("replace", "every_other")
    formula = network_cost(model.temporal_config, 2, 32, 10, "small", replace)
    assert (formula.macs, formula.params) == (counted.macs, counted.params)
    assert len(formula.replaced) == (2 if "replace" in options else 4)


def test_bad_requests_are_rejected_with_the_reason():
    with pytest.raises(ValueError, match="kind 'none'"):
        temporal_module_cost(16, TemporalModuleConfig(kind="none"), *THW)
    with pytest.raises(ValueError, match="convention"):
        temporal_module_cost(16, TemporalModuleConfig(), *THW, convention="flops")
    with pytest.raises(ValueError, match="divisor"):
        ct_k2_closed_form_macs(16, 3, *THW)
    with pytest.raises(ValueError, match=r"strided block layer2\.0"):
        network_cost(TemporalModuleConfig(), 2, 32, 10, "small", replace="all")
