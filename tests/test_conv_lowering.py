"""The lowered (2D) convolutions equal the readable Conv3d ones."""

import copy

import pytest
import torch
from numerics import assert_equal_up_to_reordering, reduction_profile, reordering_tolerance
from torch import nn

from ctnet_lib.models import build_model
from ctnet_lib.models.resnet import FramesToClip
from ctnet_lib.ops import conv_lowering
from ctnet_lib.ops.conv_bn_act import conv3d
from ctnet_lib.ops.conv_lowering import IMPLEMENTATION, Conv3d, lowerable, set_conv_implementation
from ctnet_lib.ops.temporal_modules import TemporalModuleConfig, build_temporal_module

CT_CONFIGS = [
    TemporalModuleConfig(kind="ct", connection=connection, num_sub_dims=k, kernels=kernels, pwconv=pwconv,
                         excitation=excitation)
    for connection in ("parallel", "serial", "coupled")
    for k, kernels in ((1, (3,)), (2, (3,)), (2, (1, 5)), (3, (3, 1, 3)))
    for pwconv, excitation in ((False, "none"), (True, "te"), (True, "se"))
]
BASELINE_CONFIGS = [TemporalModuleConfig(kind=kind) for kind in ("c3d", "r2plus1d", "csn")]


def _pair(config: TemporalModuleConfig, channels: int = 24, stride: int = 1) -> tuple[nn.Module, nn.Module]:
    """The same module (same weights, float64, frames in and out) run native and lowered."""
    torch.manual_seed(0)
    native = FramesToClip(build_temporal_module(channels, config, stride)).double()
    native.num_frames = 4
    with torch.no_grad():  # random BN statistics and affine parameters, so eval mode is not an identity
        for module in native.modules():
            if isinstance(module, nn.BatchNorm3d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
    lowered = copy.deepcopy(native)
    return set_conv_implementation(native, "native"), set_conv_implementation(lowered, "lowered")


def _outputs_and_grads(module: nn.Module, x: torch.Tensor, train: bool) -> list[torch.Tensor]:
    module.train(train)
    x = x.clone().requires_grad_(True)
    out = module(x)
    (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
    return [out, x.grad, *(p.grad for p in module.parameters())]


@pytest.mark.parametrize("config", CT_CONFIGS + BASELINE_CONFIGS, ids=repr)
@pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last], ids=str)
def test_lowered_module_equals_the_readable_one_in_float64(config, train, memory_format):
    """The readable module on contiguous frames against the lowered one on frames in ``memory_format``."""
    native, lowered = _pair(config)
    x = torch.randn(2 * 4, 24, 6, 6, dtype=torch.float64)
    tolerance = reordering_tolerance(*reduction_profile(native.eval(), x))
    expected = _outputs_and_grads(native, x, train)
    got = _outputs_and_grads(lowered, x.contiguous(memory_format=memory_format), train)
    assert_equal_up_to_reordering(got, expected, tolerance)
    if train:  # the same running statistics after the step
        assert_equal_up_to_reordering(list(lowered.buffers()), list(native.buffers()), tolerance)


def test_strided_modules_fall_back_where_they_cannot_lower_and_stay_equal():
    native, lowered = _pair(TemporalModuleConfig(kind="ct", pwconv=True, excitation="te"), stride=2)
    x = torch.randn(2 * 4, 24, 8, 8, dtype=torch.float64)
    tolerance = reordering_tolerance(*reduction_profile(native.eval(), x))
    assert_equal_up_to_reordering(_outputs_and_grads(lowered, x, True), _outputs_and_grads(native, x, True),
                                  tolerance)


def test_which_convolutions_lower():
    x = torch.randn(1, 8, 4, 6, 6)
    assert lowerable(conv3d(8, 8, (3, 1, 1), groups=2), x)
    assert lowerable(conv3d(8, 8, 1), x)
    assert lowerable(conv3d(8, 8, (1, 3, 3)), x[:, :, :1].contiguous())  # a temporally pooled input
    assert not lowerable(conv3d(8, 8, (1, 3, 3)), x)  # T > 1: stays 3D
    assert not lowerable(conv3d(8, 8, 3), x)
    assert not lowerable(conv3d(8, 8, (3, 1, 1), stride=(1, 2, 2)), x)
    assert not lowerable(conv3d(8, 8, (3, 1, 1)), x.transpose(3, 4))  # not contiguous


def test_a_lowered_model_calls_2d_convolutions_for_its_degenerate_kernels(monkeypatch):
    calls = []
    original = conv_lowering.lowered_conv3d
    monkeypatch.setattr(conv_lowering, "lowered_conv3d", lambda *args: calls.append(1) or original(*args))
    model = build_model("ctnet_small", num_classes=3, implementation="lowered").eval()
    with torch.no_grad():
        model(torch.randn(1, 3, 4, 32, 32))
    convs = [m for m in model.modules() if isinstance(m, Conv3d)]
    spatial_on_frames = sum(m.kernel_size == (1, 3, 3) and m.in_channels == m.out_channels for m in convs)
    assert len(calls) == len(convs) - spatial_on_frames > 0
    calls.clear()
    set_conv_implementation(model, "native")
    with torch.no_grad():
        model(torch.randn(1, 3, 4, 32, 32))
    assert calls == []


def test_auto_chooses_per_device_and_bad_names_are_rejected():
    assert IMPLEMENTATION.resolve("auto", "cpu") == "lowered"
    assert IMPLEMENTATION.resolve("auto", "cuda") == "native"
    assert IMPLEMENTATION.resolve("native", "cpu") == "native"
    model = build_model("ctmodule_small", num_classes=3, implementation="native")
    assert {m.implementation for m in model.modules() if isinstance(m, Conv3d)} == {"native"}
    with pytest.raises(ValueError, match="implementation 'fast' is not one of auto, native, lowered"):
        build_model("ctmodule_small", implementation="fast")
