"""The CUDA preparation on the CPU: channels-last conversion of every preset, and the precision choice
with a mocked GPU capability."""

import copy

import pytest
import torch
from torch import nn

from ctnet_lib.models import build_model, list_presets
from ctnet_lib.train.device import TEMPORAL_MEMORY_FORMAT, choose_precision, to_channels_last

CHANNELS_LAST_PRESETS = [name for name in list_presets() if name.endswith("_small")] + [
    pytest.param("ctnet_r50", marks=pytest.mark.slow)]


@pytest.mark.parametrize("preset", CHANNELS_LAST_PRESETS)
def test_channels_last_preparation_keeps_the_outputs(preset):
    torch.manual_seed(0)
    model = build_model(preset, num_classes=5, num_frames=4).eval()
    clip = torch.randn(2, 3, 4, 64, 64)
    prepared = to_channels_last(copy.deepcopy(model))
    convs_2d = [m for m in prepared.modules() if isinstance(m, nn.Conv2d)]
    convs_3d = [m for m in prepared.modules() if isinstance(m, nn.Conv3d)]
    assert all(m.weight.is_contiguous(memory_format=torch.channels_last) for m in convs_2d)
    assert all(m.weight.is_contiguous(memory_format=TEMPORAL_MEMORY_FORMAT) for m in convs_3d)
    assert bool(convs_3d) == (not preset.startswith("tsn"))  # the temporal modules were converted too
    with torch.no_grad():
        torch.testing.assert_close(prepared(clip), model(clip), rtol=1e-4, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("temporal_format", [torch.contiguous_format, torch.channels_last_3d])
def test_both_temporal_formats_train_like_the_contiguous_model(temporal_format):
    """Gradients too, with the frames entering channels-last; the other temporal format stays usable."""
    torch.manual_seed(1)
    model = build_model("ctnet_small", num_classes=3, num_frames=4)
    prepared = to_channels_last(copy.deepcopy(model), temporal_format)
    clip = torch.randn(2, 3, 4, 32, 32)
    for network in (model, prepared):
        torch.manual_seed(2)  # the same dropout mask
        network(clip).logsumexp(dim=1).sum().backward()
    for (name, weight), prepared_weight in zip(model.named_parameters(), prepared.parameters(), strict=True):
        scale = weight.grad.abs().max().item()  # train-mode BN on 8 frames amplifies rounding to ~0.5 %
        torch.testing.assert_close(prepared_weight.grad, weight.grad, rtol=0, atol=1e-2 * scale, msg=name)


@pytest.fixture
def gpu_with_capability(monkeypatch):
    """Pretend a CUDA GPU of the given compute capability; bf16 is reported supported (emulated) everywhere,
    as ``torch.cuda.is_bf16_supported()`` does on pre-Ampere GPUs."""

    def pretend(major: int, minor: int) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (major, minor))
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)

    return pretend


@pytest.mark.parametrize(("capability", "dtype"), [
    ((6, 1), torch.float16), ((7, 0), torch.float16), ((7, 5), torch.float16),
    ((8, 0), torch.bfloat16), ((8, 9), torch.bfloat16), ((9, 0), torch.bfloat16),
])
def test_bf16_needs_bf16_hardware_else_fp16_with_a_scaler(gpu_with_capability, capability, dtype):
    gpu_with_capability(*capability)
    precision = choose_precision(torch.device("cuda", 0))
    assert precision.dtype == dtype and precision.device_type == "cuda"
    assert precision.needs_scaler == (dtype == torch.float16)


def test_fp32_on_the_cpu_and_without_amp(gpu_with_capability):
    gpu_with_capability(9, 0)
    assert choose_precision(torch.device("cuda", 0), amp=False).dtype is None
    cpu = choose_precision(torch.device("cpu"))
    assert cpu.dtype is None and not cpu.needs_scaler and str(cpu) == "fp32"
