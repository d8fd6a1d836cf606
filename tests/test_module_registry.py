"""A temporal-module kind registered in this test alone works wherever the library asks the registry."""

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from ctnet_lib.analysis.counting.complexity import count_complexity
from ctnet_lib.analysis.counting.formulas import compare_with_counter, network_cost, temporal_module_cost
from ctnet_lib.analysis.fields.interaction_field import interaction_fields
from ctnet_lib.models import build_model
from ctnet_lib.ops import ModuleKind, TemporalModuleConfig, module_kinds, register_module_kind
from ctnet_lib.ops.conv_bn_act import conv3d
from ctnet_lib.ops.module_registry import (
    Step,
    StepStructure,
    box,
    own_channel,
    unchanged,
    unregister_module_kind,
)
from ctnet_lib.viz.widgets.field_explorer import FieldExplorer


class DepthwiseModule(nn.Module):
    """A depth-wise 3x3x3 conv: x: (N, C, T, H, W) -> (N, C, T, H / stride, W / stride)."""

    def __init__(self, channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = conv3d(channels, channels, 3, stride=(1, stride, stride), groups=channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


def _cost(builder, channels, config, thw):
    volume = channels * thw[0] * thw[1] * thw[2]
    builder.conv("module", "depth-wise conv", "3x3x3, groups=C", volume, 27, channels, False,
                 ("C·THW·27", "27·C"))
    return (channels,)


@pytest.fixture
def depthwise_kind():
    kind = register_module_kind(ModuleKind(
        name="dw3d",
        label="DW-3D",
        module_type=DepthwiseModule,
        build=lambda channels, config, stride: DepthwiseModule(channels, stride),
        steps=lambda module: [Step("depth-wise 3x3x3", module, unchanged)],
        cost_terms=_cost,
        structure=lambda config, channels: [
            StepStructure("depth-wise 3x3x3", own_channel(channels), box(3, 3, 3))
        ],
    ))
    yield kind
    unregister_module_kind("dw3d")


def test_a_new_kind_builds_a_model_whose_counted_cost_matches_its_formulas(depthwise_kind):
    model = build_model("ctmodule_small", num_classes=5, kind="dw3d")
    assert sum(isinstance(m, DepthwiseModule) for m in model.modules()) == 4  # every_other of (2, 2, 2, 2)
    assert model(torch.zeros(1, 3, 4, 32, 32)).shape == (1, 5)
    counted = count_complexity(model, (1, 3, 4, 32, 32))
    config = TemporalModuleConfig(kind="dw3d")
    formula = network_cost(config, frames=4, size=32, num_classes=5, backbone="small")
    assert (formula.macs, formula.params) == (counted.macs, counted.params)
    check = compare_with_counter(16, {"dw": TemporalModuleConfig(kind="dw3d")}, 4, 6, 6)
    assert check["macs_difference"].tolist() == [0] and check["params_difference"].tolist() == [0]
    assert temporal_module_cost(16, TemporalModuleConfig(kind="dw3d"), 4, 6, 6).macs == 16 * 4 * 36 * 27


def test_a_new_kind_is_probed_and_explored_like_the_built_in_ones(depthwise_kind):
    config = TemporalModuleConfig(kind="dw3d")
    probed = interaction_fields(config, channels=8, num_modules=2)
    structural = interaction_fields(config, channels=8, num_modules=2, method="structural")
    assert [f.extent for f in probed] == [(3, 3, 3), (5, 5, 5)] and probed[-1].num_channels == 1
    for measured, derived in zip(probed, structural, strict=True):
        assert np.array_equal(measured.per_channel, derived.per_channel)
    explorer = FieldExplorer(channels=8, kind="dw3d", live=False)
    assert ("DW-3D", "dw3d") in explorer.module.kind.options
    assert explorer.state.error == "" and explorer.state.field.volume == 27
    assert explorer.channel_order() is None


def test_registered_kinds_are_listed_and_a_name_is_registered_once(depthwise_kind):
    assert [k.name for k in module_kinds()] == ["c3d", "r2plus1d", "csn", "ct", "dw3d"]
    with pytest.raises(ValueError, match="already registered"):
        register_module_kind(depthwise_kind)
    with pytest.raises(ValueError, match="kind 'lstm' has no temporal module; use one of c3d"):
        TemporalModuleConfig(kind="lstm")
