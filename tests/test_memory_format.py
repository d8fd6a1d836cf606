"""Channels-last frames give the same network (values and gradients) and stay channels-last inside it."""

import pytest
import torch
from numerics import assert_equal_up_to_reordering, reduction_profile, reordering_tolerance
from torch import nn

from ctnet_lib.models import build_model
from ctnet_lib.models.presets import FAMILIES
from ctnet_lib.ops import conv_lowering, permute_channel_layout
from ctnet_lib.ops.conv_bn_act import conv3d
from ctnet_lib.ops.conv_lowering import lowerable
from ctnet_lib.ops.excitation import apply_gate, average_pool
from ctnet_lib.ops.memory_format import MEMORY_FORMAT, frames_in_memory_format
from ctnet_lib.train import TrainConfig, make_config
from ctnet_lib.train.config import config_from_dict
from ctnet_lib.train.device import prepare_model
from ctnet_lib.train.experiment import build_training_model


def _train_step(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    model.train()
    model.zero_grad(set_to_none=True)
    out = model(x)
    (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
    return [out, *(p.grad for p in model.parameters()), *model.buffers()]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_channels_last_network_equals_the_contiguous_one_in_float64(family):
    torch.manual_seed(0)
    contiguous = build_model(f"{family}_small", num_classes=5, dropout=0.0, memory_format="contiguous")
    channels_last = build_model(f"{family}_small", num_classes=5, dropout=0.0, memory_format="channels_last")
    channels_last.load_state_dict(contiguous.state_dict())
    contiguous, channels_last = contiguous.double(), channels_last.double()
    x = torch.randn(2, 3, 4, 32, 32, dtype=torch.float64)
    tolerance = reordering_tolerance(*reduction_profile(contiguous.eval(), x))
    expected, got = _train_step(contiguous, x), _train_step(channels_last, x)
    assert_equal_up_to_reordering(got, expected, tolerance)


def test_every_temporal_module_sees_channels_last_clips_and_returns_channels_last_frames():
    model = build_model("ctnet_small", num_classes=3, memory_format="channels_last").eval()
    seen = []

    def record(module, inputs, output):
        seen.append((inputs[0].is_contiguous(memory_format=torch.channels_last_3d),
                     output.is_contiguous(memory_format=torch.channels_last_3d)))

    handles = [m.module.register_forward_hook(record) for m in model._adapters]
    with torch.no_grad():
        features = model.frame_features(torch.randn(2, 3, 4, 64, 64))
    for handle in handles:
        handle.remove()
    assert len(seen) == len(model._adapters) > 0
    assert all(clip_in and clip_out for clip_in, clip_out in seen)
    assert features.is_contiguous(memory_format=torch.channels_last)


def test_channels_last_clips_lower_every_degenerate_convolution(monkeypatch):
    calls = {"contiguous": 0, "channels_last": 0}
    original = conv_lowering.lowered_conv3d
    for memory_format in calls:
        def count(*args, memory_format=memory_format):
            calls[memory_format] += 1
            return original(*args)

        monkeypatch.setattr(conv_lowering, "lowered_conv3d", count)
        model = build_model("ctnet_small", num_classes=3, implementation="lowered",
                            memory_format=memory_format)
        with torch.no_grad():
            model.eval()(torch.randn(1, 3, 4, 32, 32))
    assert calls["channels_last"] == calls["contiguous"] > 0  # the same convolutions lower in both formats
    x = torch.randn(1, 8, 4, 6, 6).contiguous(memory_format=torch.channels_last_3d)
    assert lowerable(conv3d(8, 8, (3, 1, 1), groups=2), x)
    assert lowerable(conv3d(8, 8, (1, 3, 3)), x[:, :, :1])


LAYOUT_CHANGES = [((0, 1, 2), (1, 2, 0)), ((0, 1, 2), (0, 2, 1)), ((2, 0, 1), (0, 1, 2))]


@pytest.mark.parametrize("source, target", LAYOUT_CHANGES)
def test_channel_permutation_keeps_the_memory_format(source, target):
    x = torch.randn(2, 24, 3, 4, 5)
    expected = permute_channel_layout(x, (2, 3, 4), source, target)
    clip = x.contiguous(memory_format=torch.channels_last_3d)
    got = permute_channel_layout(clip, (2, 3, 4), source, target)
    assert torch.equal(got, expected)
    assert expected.is_contiguous() and got.is_contiguous(memory_format=torch.channels_last_3d)


def test_auto_chooses_per_device_and_bad_names_are_rejected():
    assert MEMORY_FORMAT.resolve("auto", "cpu") == "channels_last"
    assert MEMORY_FORMAT.resolve("auto", "cuda") == "channels_last"
    assert MEMORY_FORMAT.resolve("contiguous", "cpu") == "contiguous"
    frames = torch.randn(2, 3, 8, 8)
    assert frames_in_memory_format(frames, "auto").is_contiguous(memory_format=torch.channels_last)
    assert frames_in_memory_format(frames, "contiguous") is frames
    with pytest.raises(ValueError, match="'nhwc' is not one of auto, contiguous, channels_last"):
        build_model("tsn_small", memory_format="nhwc")


GATE_SHAPES = [(2, 6, 4, 1, 1), (2, 6, 1, 5, 5), (2, 6, 1, 1, 1), (2, 6, 4, 5, 5)]


@pytest.mark.parametrize("gate_shape", GATE_SHAPES, ids=str)
@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last_3d], ids=str)
def test_apply_gate_has_the_gradients_of_the_broadcast_product(gate_shape, memory_format):
    torch.manual_seed(0)
    x = torch.randn(2, 6, 4, 5, 5, dtype=torch.float64).contiguous(memory_format=memory_format)
    x.requires_grad_(True)
    gate = torch.rand(gate_shape, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(apply_gate, (x, gate))
    upstream = torch.randn(2, 6, 4, 5, 5, dtype=torch.float64).contiguous(memory_format=memory_format)
    expected = torch.autograd.grad(x * gate, (x, gate), upstream)
    got = torch.autograd.grad(apply_gate(x, gate), (x, gate), upstream)
    # one product, then the gate's gradient sums over the positions it broadcasts to (at most 4*5*5*2)
    assert_equal_up_to_reordering(got, expected, reordering_tolerance(depth=2, terms=x.numel()))


@pytest.mark.parametrize("dims", [(2,), (3, 4), (2, 3, 4)], ids=str)
def test_channels_last_pooling_equals_the_mean(dims):
    x = torch.randn(2, 6, 4, 5, 5, dtype=torch.float64)
    for tensor in (x, x.contiguous(memory_format=torch.channels_last_3d)):
        # one sum over at most 4*5*5 elements, one division
        assert_equal_up_to_reordering([average_pool(tensor, dims)], [x.mean(dim=dims, keepdim=True)],
                                      reordering_tolerance(depth=2, terms=x[0, 0].numel(), backward=False))


def test_prepare_model_stores_weights_in_the_format_the_frames_run_in():
    cpu = torch.device("cpu")
    channels_last = prepare_model(build_model("ctnet_small", num_classes=3), cpu)
    contiguous = prepare_model(build_model("ctnet_small", num_classes=3, memory_format="contiguous"), cpu)
    assert channels_last.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert not channels_last.conv1.weight.is_contiguous()
    assert contiguous.conv1.weight.is_contiguous()


def test_one_option_decides_the_memory_format_and_old_configs_keep_theirs():
    config = make_config("synthetic", model="tsn_small", model_options={"memory_format": "contiguous"})
    assert build_training_model(config, 6).memory_format == "contiguous"
    assert build_training_model(make_config("synthetic", model="tsn_small"), 6).memory_format == "auto"
    assert "channels_last" not in TrainConfig.__dataclass_fields__
    saved = {**make_config("synthetic", model="tsn_small").to_dict(), "channels_last": False}  # before
    assert config_from_dict(saved).model_options == {"memory_format": "contiguous"}
    saved["channels_last"] = True
    assert config_from_dict(saved).model_options == {}
