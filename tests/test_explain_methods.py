"""Saliency tubes: the CAM and Grad-CAM identities on every small preset, a tube from a hand-made feature
map, normalisation, target choice, and that no hook or mode change outlives ``explain``."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ctnet_lib import build_model
from ctnet_lib.explain.methods import METHODS, explain, explain_tube, resolve_target, supervoxel_mask
from ctnet_lib.explain.volumes import normalise_volume
from ctnet_lib.models import list_presets

SMALL = [name for name in list_presets() if name.endswith("_small")]


def float64_model(name, num_classes=5, seed=0):
    torch.manual_seed(seed)
    model = build_model(name, num_classes=num_classes, num_frames=4).double().eval()
    nn.init.normal_(model.fc.weight, std=0.2)
    nn.init.normal_(model.fc.bias, std=0.2)
    for module in model.modules():  # non-trivial BatchNorm statistics, as after training
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    return model


def hook_count(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
               + len(getattr(m, "_backward_pre_hooks", {})) for m in model.modules())


@pytest.mark.parametrize("name", SMALL)
def test_cam_mean_plus_bias_is_the_logit_and_gradcam_is_relu_cam_over_the_volume(name):
    model = float64_model(name)
    clip = torch.randn(3, 4, 64, 64, dtype=torch.float64)
    # float64, values of order 1: the CAM route (class weights times the last features, then a mean over
    # 16 cells) and the logit route (pool, then the classifier) sum the same 512 * 16 products in two
    # orders; 2 reductions of 8192 terms differ by at most 2 * 8192 * eps ~ 4e-12 (tests/numerics.py).
    # Grad-CAM reaches the same cells through autograd: one product and one division per cell.
    for target in (0, 3):
        cam = explain_tube(model, clip, target, "cam")
        assert cam.raw.shape == (4, 2, 2)  # T kept at the last stage, 64 px / 32
        assert torch.allclose(cam.raw.mean() + model.fc.bias[target], cam.logits[target], atol=1e-10)
        gradcam = explain_tube(model, clip, target, "gradcam")
        t, h, w = cam.raw.shape
        assert torch.allclose(gradcam.raw, cam.raw.clamp(min=0) / (t * h * w), atol=1e-12)
    assert hook_count(model) == 0


class FixedFeatures(nn.Module):
    """layer4 stand-in: ignores its input and returns fixed features (N*T, C, h, w)."""

    def __init__(self, features):
        super().__init__()
        self.register_buffer("features", features)

    def forward(self, frames):
        return self.features.repeat(frames.shape[0] // self.features.shape[0], 1, 1, 1) + 0 * frames.mean()


class TinyVideoNet(nn.Module):
    """The head of a video ResNet around a given feature layer: pool, linear, mean over frames."""

    def __init__(self, layer4, channels, num_classes):
        super().__init__()
        self.layer4 = layer4
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        n, c, t, h, w = x.shape
        features = self.layer4(x.transpose(1, 2).reshape(n * t, c, h, w))
        return self.fc(features.mean(dim=(2, 3))).view(n, t, -1).mean(dim=1)


def test_tube_from_a_hand_made_feature_map_is_the_weighted_sum_upsampled_and_normalised():
    torch.manual_seed(1)
    t, c, h, w = 3, 4, 2, 3
    features = torch.rand(t, c, h, w, dtype=torch.float64)
    model = TinyVideoNet(FixedFeatures(features), c, 2).double()
    clip = torch.zeros(3, t, 8, 12, dtype=torch.float64)
    tube = explain_tube(model, clip, target=1, method="cam")
    weighted = (features * model.fc.weight[1].view(1, c, 1, 1)).sum(dim=1).detach()
    assert torch.allclose(tube.raw, weighted)
    upsampled = F.interpolate(weighted[None, None], (t, 8, 12), mode="trilinear", align_corners=False)[0, 0]
    expected = (upsampled - upsampled.min()) / (upsampled.max() - upsampled.min())
    assert torch.allclose(tube.volume, expected)
    # a single hot feature voxel: the tube peaks inside its upsampled cell, in its frame only
    hot = torch.zeros(t, 1, h, w, dtype=torch.float64)
    hot[1, 0, 1, 2] = 1.0
    hot_model = TinyVideoNet(FixedFeatures(hot), 1, 1).double()
    nn.init.constant_(hot_model.fc.weight, 2.0)
    volume = explain(hot_model, clip, target=0)
    peaks = (volume == 1.0).nonzero()
    assert len(peaks) and bool((peaks[:, 0] == 1).all())
    assert bool((peaks[:, 1] >= 4).all()) and bool((peaks[:, 2] >= 8).all())
    assert float(volume[[0, 2]].max()) == 0.0


def test_clip_normalisation_keeps_relative_frame_strength_and_frame_normalisation_does_not():
    volume = torch.stack([torch.full((2, 2), 1.0), torch.tensor([[0.0, 2.0], [4.0, 4.0]])])
    clip = normalise_volume(volume, "clip")
    assert torch.allclose(clip, volume / 4)
    frame = normalise_volume(volume, "frame")
    assert torch.equal(frame[0], torch.ones(2, 2))  # a constant frame: no preference
    assert torch.allclose(frame[1], torch.tensor([[0.0, 0.5], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="normalise='video'"):
        normalise_volume(volume, "video")


def test_target_policies_and_their_errors():
    logits = torch.tensor([0.1, 3.0, -1.0])
    assert resolve_target(None, logits) == resolve_target("predicted", logits) == 1
    assert resolve_target("label", logits, label=2) == 2
    assert resolve_target(0, logits) == 0
    with pytest.raises(ValueError, match="needs the clip's label"):
        resolve_target("label", logits)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        resolve_target(3, logits)
    with pytest.raises(ValueError, match="'predicted' or 'label'"):
        resolve_target("best", logits)


@pytest.mark.parametrize("method", list(METHODS))
def test_no_hook_outlives_explain_and_the_mode_is_restored(method):
    model = build_model("ctnet_small", num_classes=3, num_frames=2).train()
    clip = torch.randn(3, 2, 32, 32)
    for _ in range(3):  # repeated calls must not pile hooks up
        volume = explain(model, clip, method=method)
        assert volume.shape == (2, 32, 32) and float(volume.min()) >= 0 and float(volume.max()) == 1
    assert hook_count(model) == 0
    assert model.training and all(m.training for m in model.modules())
    assert all(p.grad is None for p in model.parameters())


class RegionDetector(nn.Module):
    """Logit 0 = mean of colour channel 0 in the top-left quarter of frame 1 (a model-agnostic probe)."""

    def __init__(self):
        super().__init__()
        self.layer4 = nn.Conv2d(3, 1, 1)
        self.fc = nn.Linear(1, 2)

    def forward(self, x):
        h, w = x.shape[-2:]
        region = x[:, 0, 1, : h // 2, : w // 2].mean(dim=(1, 2))
        self.layer4(x[:, :, 0])  # keeps the feature-layer contract of explain
        return torch.stack([region, torch.zeros_like(region)], dim=1)


def test_ablation_puts_the_evidence_on_the_supervoxels_the_model_reads():
    clip = torch.ones(3, 3, 16, 16)
    volume = explain(RegionDetector(), clip, target=0, method="ablation")
    assert torch.all(volume[1, :8, :8] == 1.0)
    assert float(volume[1, 8:, :].max()) == 0.0 and float(volume[[0, 2]].max()) == 0.0


def test_supervoxels_are_one_frame_by_a_square_patch():
    groups = supervoxel_mask((2, 16, 16), grid=4)
    assert groups.shape == (2, 16, 16) and len(groups.unique()) == 32
    assert len(groups[0, :4, :4].unique()) == 1 and groups[0, 0, 0] != groups[1, 0, 0]


def test_explain_rejects_a_bad_clip_or_method():
    model = build_model("tsn_small", num_classes=3)
    with pytest.raises(ValueError, match=r"expected \(3, T, H, W\)"):
        explain(model, torch.randn(2, 3, 4, 32, 32))
    with pytest.raises(ValueError, match="method='lime'"):
        explain(model, torch.randn(3, 4, 32, 32), method="lime")
