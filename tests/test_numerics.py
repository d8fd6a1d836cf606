"""The reordering tolerance of tests/numerics.py: what it measures, and that it still catches real bugs."""

import pytest
import torch
from numerics import assert_equal_up_to_reordering, reduction_profile, reordering_tolerance
from test_conv_lowering import _outputs_and_grads, _pair
from test_memory_format import _train_step
from torch import nn

from ctnet_lib.models import build_model
from ctnet_lib.ops.temporal_modules import TemporalModuleConfig


def test_the_profile_counts_reducing_layers_and_their_longest_sum():
    model = nn.Sequential(nn.Conv2d(4, 6, 3, groups=2), nn.BatchNorm2d(6), nn.Flatten(),
                          nn.Linear(6 * 3 * 3, 2))
    depth, terms = reduction_profile(model.eval(), torch.randn(5, 4, 5, 5))
    # conv fan-in 2 * 3 * 3 = 18 and positions 5 * 3 * 3 = 45; BN 45; linear fan-in 54 and 5 rows
    assert (depth, terms) == (3, 54)
    assert reordering_tolerance(3, 54) == 2 * 3 * 54 * torch.finfo(torch.float64).eps
    eps32 = torch.finfo(torch.float32).eps
    assert reordering_tolerance(3, 54, torch.float32, backward=False) == 3 * 54 * eps32


def _nudge_one_weight(model: nn.Module, dims: int) -> str:
    """Add 1e-5 of the weights' largest magnitude to one element of the last ``dims``-D weight."""
    name, weight = [(n, p) for n, p in model.named_parameters() if p.dim() == dims][-1]
    with torch.no_grad():
        weight.view(-1)[weight.numel() // 2] += 1e-5 * weight.abs().max()
    return name


def test_a_one_element_change_in_a_network_weight_fails_the_memory_format_comparison():
    torch.manual_seed(0)
    contiguous = build_model("ctnet_small", num_classes=5, dropout=0.0, memory_format="contiguous").double()
    channels_last = build_model("ctnet_small", num_classes=5, dropout=0.0, memory_format="channels_last")
    channels_last.load_state_dict(contiguous.state_dict())
    channels_last.double()
    x = torch.randn(2, 3, 4, 32, 32, dtype=torch.float64)
    tolerance = reordering_tolerance(*reduction_profile(contiguous.eval(), x))
    expected = _train_step(contiguous, x)
    assert_equal_up_to_reordering(_train_step(channels_last, x), expected, tolerance)
    _nudge_one_weight(channels_last, dims=5)  # a temporal module's convolution in layer 4
    with pytest.raises(AssertionError, match="Tensor-likes are not close"):
        assert_equal_up_to_reordering(_train_step(channels_last, x), expected, tolerance)


def test_a_one_element_change_in_a_module_weight_fails_the_lowering_comparison():
    native, lowered = _pair(TemporalModuleConfig(kind="ct", pwconv=True, excitation="te"))
    x = torch.randn(2 * 4, 24, 6, 6, dtype=torch.float64)
    tolerance = reordering_tolerance(*reduction_profile(native.eval(), x))
    expected = _outputs_and_grads(native, x, True)
    assert_equal_up_to_reordering(_outputs_and_grads(lowered, x, True), expected, tolerance)
    _nudge_one_weight(lowered, dims=5)
    with pytest.raises(AssertionError, match="Tensor-likes are not close"):
        assert_equal_up_to_reordering(_outputs_and_grads(lowered, x, True), expected, tolerance)


def test_integer_tensors_must_be_equal_and_shapes_must_match():
    assert_equal_up_to_reordering([torch.tensor(3)], [torch.tensor(3)], 0.0)
    with pytest.raises(AssertionError):
        assert_equal_up_to_reordering([torch.tensor(4)], [torch.tensor(3)], 1.0)
    with pytest.raises(AssertionError):
        assert_equal_up_to_reordering([torch.zeros(2, 3)], [torch.zeros(3, 2)], 1.0)
