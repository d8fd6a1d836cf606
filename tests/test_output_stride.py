"""The small ResNets' ``output_stride`` option: finer last feature maps (for Saliency Tubes), counted."""

import pytest
import torch

from ctnet_lib.analysis.counting.complexity import count_complexity
from ctnet_lib.models import build_model
from ctnet_lib.models.presets import model_config
from ctnet_lib.models.resnet import stage_strides


@pytest.mark.parametrize(("output_stride", "cells"), [(32, 2), (16, 4), (8, 8)])
def test_last_feature_map_has_size_over_output_stride(output_stride, cells):
    model = build_model("ctnet_small", num_classes=3, num_frames=2, output_stride=output_stride).eval()
    features = model.frame_features(torch.randn(1, 3, 2, 64, 64))
    assert features.shape == (2, 512, cells, cells)
    assert model.output_stride == output_stride


def test_strides_and_parameters():
    assert stage_strides(32) == (1, 2, 2, 2)
    assert stage_strides(16) == (1, 2, 2, 1)
    assert stage_strides(8) == (1, 2, 1, 1)
    counts = {s: sum(p.numel() for p in build_model("r2plus1d_small", 4, output_stride=s).parameters())
              for s in (32, 16)}
    assert counts[32] == counts[16]  # no stride, no dilation: the same weights


def test_counter_counts_the_unstrided_last_stage():
    """At output stride 16 every layer4 layer but the first 1x1 conv and its BN (which run before the
    stride) sees 4x the positions, so 4x the MACs; layer1-3 are unchanged."""
    tables = {s: count_complexity(build_model("tsn_small", 4, output_stride=s), (1, 3, 2, 64, 64)).table
              for s in (32, 16)}
    before_stride = ["layer4.0.conv1", "layer4.0.bn1"]
    layer4 = {s: t[(t["stage"] == "layer4") & ~t["name"].isin(before_stride)]["macs"].sum()
              for s, t in tables.items()}
    earlier = {s: t[t["stage"].isin(["layer1", "layer2", "layer3"])]["macs"].sum() for s, t in tables.items()}
    assert layer4[16] == 4 * layer4[32]
    assert earlier[16] == earlier[32]


def test_bad_output_stride_names_the_choices():
    with pytest.raises(ValueError, match=r"output_stride=4: use one of \(32, 16, 8\)"):
        model_config("ctnet_small", output_stride=4)
    with pytest.raises(ValueError, match="torchvision backbone keeps its own strides"):
        model_config("ctnet_r152", output_stride=16)
