"""Recomputing in the backward pass (``checkpointing``) changes memory only: outputs, gradients and
BatchNorm statistics equal those of the model that keeps its activations."""

import pytest
import torch
from test_conv_lowering import CT_CONFIGS
from torch import nn

from ctnet_lib.analysis.timing.measure import saved_activation_bytes
from ctnet_lib.models import build_model
from ctnet_lib.models.resnet import FramesToClip
from ctnet_lib.ops.recompute import CHECKPOINTING, parse_checkpointing
from ctnet_lib.ops.temporal_modules import build_temporal_module

RECOMPUTING = [level for level in CHECKPOINTING if level != "none"]


def _train_step(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    model.train()
    model.zero_grad(set_to_none=True)
    out = model(x)
    (out * torch.arange(out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
    return [out, *(p.grad for p in model.parameters())]


def _assert_same_steps(kept: nn.Module, recomputing: nn.Module, x: torch.Tensor) -> None:
    """Two training steps give bit-identical outputs and gradients, and leave identical parameters and
    buffers (the second step starts from running statistics updated once, not twice). Recomputation runs
    the same kernels on the same inputs in the same order, so no rounding can differ: exact equality."""
    for _ in range(2):
        for index, (a, b) in enumerate(zip(_train_step(kept, x), _train_step(recomputing, x), strict=True)):
            assert torch.equal(a, b), (index, float((a - b).abs().max()))
    for (name, a), b in zip(kept.state_dict().items(), recomputing.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("level", RECOMPUTING)
@pytest.mark.parametrize("config", CT_CONFIGS[::2], ids=repr)
def test_a_recomputing_ct_module_equals_the_kept_one(config, level):
    torch.manual_seed(0)
    kept = FramesToClip(build_temporal_module(24, config)).double()
    recomputing = FramesToClip(build_temporal_module(24, config), level).double()
    recomputing.load_state_dict(kept.state_dict())
    kept.num_frames = recomputing.num_frames = 4
    _assert_same_steps(kept, recomputing, torch.randn(8, 24, 6, 6, dtype=torch.float64))


@pytest.mark.parametrize("level", RECOMPUTING)
@pytest.mark.parametrize("preset", ["ctnet_small", "r2plus1d_small"])
def test_a_recomputing_network_equals_the_kept_one(preset, level):
    torch.manual_seed(0)
    kept = build_model(preset, num_classes=5, dropout=0.0).double()
    recomputing = build_model(preset, num_classes=5, dropout=0.0, checkpointing=level).double()
    recomputing.load_state_dict(kept.state_dict())
    _assert_same_steps(kept, recomputing, torch.randn(2, 3, 4, 32, 32, dtype=torch.float64))


def test_each_level_keeps_fewer_activations():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 64, 64)
    saved = {level: saved_activation_bytes(build_model("ctnet_small", num_classes=5, checkpointing=level), x)
             for level in CHECKPOINTING}
    tsn = saved_activation_bytes(build_model("tsn_small", num_classes=5), x)
    assert saved["modules"] < saved["activations"] < saved["none"]
    # the BN, ReLU and gate outputs are about half of what a CT-Module keeps beyond its input
    assert saved["none"] - saved["activations"] > 0.4 * (saved["none"] - saved["modules"])
    assert saved["modules"] < 1.1 * tsn


def test_the_levels_parse_and_old_boolean_values_still_load():
    assert [parse_checkpointing(v) for v in ("none", "Activations", " modules ")] == list(CHECKPOINTING)
    assert [parse_checkpointing(v) for v in (True, False, "true", "0")] == ["modules", "none"] * 2
    with pytest.raises(ValueError, match="checkpointing 'some' is not one of none, activations, modules"):
        build_model("ctnet_small", checkpointing="some")
