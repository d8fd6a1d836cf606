"""CT-Net from torchvision ImageNet CNNs (appendix A.6): conversion, replacement rules, weight loading."""

import pytest
import torch

from ctnet_lib import build_model
from ctnet_lib.analysis.counting.formulas import network_cost
from ctnet_lib.analysis.counting.paper_tables import (
    PAPER_TOLERANCE_PCT,
    reproduce_paper_table,
    select_reference_rows,
    temporal_config_of,
)
from ctnet_lib.analysis.fields.effective_receptive_field import preset_effective_receptive_field
from ctnet_lib.models.conv_selection import select_convs
from ctnet_lib.models.conversion import convert_to_video
from ctnet_lib.models.imagenet_backbones import IMAGENET_BACKBONES
from ctnet_lib.models.resnet import FramesToClip, replaced_layers
from ctnet_lib.models.torchvision_import import torchvision_models
from ctnet_lib.ops.module_registry import module_kinds
from ctnet_lib.ops.temporal_modules import TemporalModuleConfig

NO_MODULE = TemporalModuleConfig(kind="none")
CT_NET = TemporalModuleConfig(pwconv=True, excitation="te")
INCEPTION_RULE = tuple(f"Mixed_5{block}.branch3x3dbl_3.conv" for block in "bcd")


def _meta_inception():
    with torch.device("meta"):
        return IMAGENET_BACKBONES["inception_v3"].frame_model()


@pytest.mark.parametrize("backbone", sorted(IMAGENET_BACKBONES))
def test_per_frame_path_equals_the_2d_model_exactly(backbone):
    """With no layer replaced, the video logits are the 2D model's logits of each frame averaged over the
    frames: the same float64 ops on the same (N*T) frames, so equal bit for bit."""
    torch.manual_seed(0)
    spec = IMAGENET_BACKBONES[backbone]
    frame_model = spec.frame_model(num_classes=5).double().eval()
    size = spec.min_input_size
    clip = torch.randn(2, 3, 3, size, size, dtype=torch.float64)
    frames = clip.transpose(1, 2).reshape(6, 3, size, size)
    with torch.no_grad():
        expected = frame_model(frames).view(2, 3, 5).mean(dim=1)
        video = convert_to_video(frame_model, NO_MODULE, memory_format="contiguous").eval()
        assert torch.equal(video(clip), expected)


@pytest.mark.parametrize("backbone", sorted(IMAGENET_BACKBONES))
def test_a_torchvision_state_dict_loads_into_each_preset(backbone, tmp_path):
    torch.manual_seed(1)
    state = IMAGENET_BACKBONES[backbone].frame_model().state_dict()
    torch.save(state, tmp_path / f"{backbone}.pth")
    model = build_model(f"ctnet_{backbone}", num_classes=7, pretrained=str(tmp_path / f"{backbone}.pth"))
    report = model.pretrained_report
    replaced = {f"{name}.weight" for name in model.replaced_layers}
    assert replaced and set(report.unused) == replaced | {"fc.weight", "fc.bias"}
    assert all(".module." in key or key.startswith("fc.") for key in report.new)
    loaded = model.state_dict()
    assert len(report.loaded) == len(state) - len(report.unused)
    assert all(torch.equal(loaded[key], state[key]) for key in report.loaded)


def test_every_replaced_layer_is_reported_for_every_kind():
    for kind in module_kinds():
        resnet18 = torchvision_models().resnet18(num_classes=4)
        model = convert_to_video(resnet18, TemporalModuleConfig(kind=kind.name))
        assert model.replaced_layers == replaced_layers(model) == (
            "layer1.1.conv2", "layer2.1.conv2", "layer3.1.conv2", "layer4.1.conv2")
        modules = [model.get_submodule(name).module for name in model.replaced_layers]
        assert all(isinstance(module, kind.module_type) for module in modules)
        assert model(torch.randn(1, 3, 2, 32, 32)).shape == (1, 4)
    assert select_convs(_meta_inception(), "equal_3x3") == INCEPTION_RULE
    assert build_model("ctnet_inception_v3").replaced_layers == INCEPTION_RULE


def test_the_converted_resnet50_is_ctnet_r50_key_for_key():
    """torchvision's ResNet-50 converted by the default rule has our CT-Net-R50's state-dict keys, shapes
    and parameter count (the one naming that a torchvision checkpoint needs)."""
    converted = convert_to_video(torchvision_models().resnet50(num_classes=174), CT_NET).state_dict()
    ours = build_model("ctnet_r50").state_dict()
    assert {k: v.shape for k, v in converted.items()} == {k: v.shape for k, v in ours.items()}


@pytest.mark.parametrize(("replace", "message"), [
    ("Mixed_6a.branch3x3.conv", "Mixed_6a.branch3x3.conv maps 288 to 384 channels"),
    ("Conv2d_2a_3x3.conv", r"Conv2d_2a_3x3.conv has padding \(0, 0\)"),
    ("Mixed_5b.branch3x3dbl_3.conv+Mixed_7b.branch3x3_2a.conv", "Mixed_7b.branch3x3_2a.conv has a 1x3 "),
    ("Mixed_5b.branch5x5_1", "Mixed_5b.branch5x5_1 is a BasicConv2d, not a Conv2d"),
    ("Mixed_9z.conv", "InceptionV3|Inception3 has no module Mixed_9z.conv"),
    ("every_other", "has no stages layer1..layer4"),
])
def test_a_conv_that_cannot_be_replaced_is_named_with_the_reason(replace, message):
    with pytest.raises(ValueError, match=message):
        select_convs(_meta_inception(), replace)


def test_a_module_that_does_not_fit_a_conv_names_the_conv():
    with pytest.raises(ValueError, match=r"layer1.1.conv2 \(64 channels\) cannot become a ct module"):
        convert_to_video(torchvision_models().resnet18(), TemporalModuleConfig(last_sub_dim=7))
    with pytest.raises(ValueError, match="needs a 2D CNN whose children run in order"):
        convert_to_video(torchvision_models().inception_v3(aux_logits=True, init_weights=False), CT_NET)


def test_table_8_is_reproduced():
    table = reproduce_paper_table(select_reference_rows(["TSN-InceptionV3", "CT-Net-InceptionV3"]))
    tsn, ctnet = (row for _, row in table.iterrows())
    assert tsn["size"] == 299 and abs(tsn["rel_error_pct"]) < PAPER_TOLERANCE_PCT
    assert tsn["params_m"] == pytest.approx(22.1, rel=PAPER_TOLERANCE_PCT / 100)
    assert ctnet["note"] and abs(ctnet["rel_error_pct"]) < ctnet["tolerance_pct"]
    assert ctnet["params_m"] == pytest.approx(20.9, rel=ctnet["tolerance_pct"] / 100)
    formula = network_cost(temporal_config_of("ctnet_inception_v3"), 8, 299, backbone="inception_v3")
    assert formula.gmacs == pytest.approx(ctnet["gmacs"], abs=1e-9)
    assert formula.params_m == pytest.approx(ctnet["params_m"], abs=1e-9)


def test_effective_receptive_field_of_a_converted_backbone():
    erf = preset_effective_receptive_field("ctnet_inception_v3", (3, 75, 75), num_samples=1, stage="Mixed_5d")
    assert erf.map.shape == (3, 75, 75) and erf.stage == "Mixed_5d"
    assert erf.summary()["mass_off_centre_frame"] > 0
    assert isinstance(build_model("ctnet_resnext50").layer1[1].conv2, FramesToClip)
