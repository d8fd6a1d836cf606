import pytest
import torch

from ctnet_lib import build_model, list_presets
from ctnet_lib.models import load_imagenet_weights
from ctnet_lib.models.block_selection import select_blocks
from ctnet_lib.models.imagenet_backbones import IMAGENET_BACKBONES
from ctnet_lib.models.presets import model_config
from ctnet_lib.models.resnet import FramesToClip

R50_BLOCKS = (3, 4, 6, 3)
# every family on our ResNets; the converted torchvision backbones share one code path (test_conversion.py
# covers every kind on them), so CT-Net alone here
PRESETS_RUN = [name for name in list_presets()
               if not name.endswith(tuple(IMAGENET_BACKBONES)) or name.startswith("ctnet_")]


@pytest.mark.parametrize("name", PRESETS_RUN)
def test_every_preset_runs_forward_and_backward_on_a_small_clip(name):
    torch.manual_seed(0)
    model = build_model(name, num_classes=7, num_frames=2)
    size = model_config(name).backbone.min_input_size
    x = torch.randn(2, 3, 2, size, size)
    logits = model(x)
    assert logits.shape == (2, 7)
    logits.logsumexp(dim=1).mean().backward()
    for module in model.modules():
        if isinstance(module, FramesToClip):
            assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())


def test_paper_block_placement_replaces_seven_blocks_of_r50():
    assert select_blocks("every_other", R50_BLOCKS) == {
        "layer1": (1,), "layer2": (1, 3), "layer3": (1, 3, 5), "layer4": (1,),
    }
    model = build_model("ctnet_r50")
    replaced = [n for n, m in model.named_modules() if isinstance(m, FramesToClip)]
    assert replaced == [
        "layer1.1.conv2", "layer2.1.conv2", "layer2.3.conv2",
        "layer3.1.conv2", "layer3.3.conv2", "layer3.5.conv2", "layer4.1.conv2",
    ]


def test_explicit_block_selection_and_strided_blocks():
    assert select_blocks("layer3:5,1,3+layer4:1", R50_BLOCKS) == {"layer3": (1, 3, 5), "layer4": (1,)}
    assert sum(len(v) for v in select_blocks("all_but_first", R50_BLOCKS).values()) == 12
    model = build_model("ctnet_small", num_classes=3, replace="all")
    assert model(torch.randn(1, 3, 4, 64, 64)).shape == (1, 3)
    with pytest.raises(ValueError, match=r"layer2 has blocks 0\.\.3"):
        select_blocks("layer2:4", R50_BLOCKS)


def test_logits_are_the_mean_of_per_frame_predictions():
    model = build_model("tsn_small", num_classes=5).eval()
    x = torch.randn(1, 3, 3, 32, 32)
    per_frame = torch.stack([model(x[:, :, t : t + 1]) for t in range(3)]).mean(0)
    assert torch.allclose(model(x), per_frame, atol=1e-6)


def test_tsn_r50_has_torchvision_resnet50_structure():
    """Key names, count and parameter totals of torchvision's resnet50 / resnet101 (1000 classes)."""
    r50 = build_model("tsn_r50", num_classes=1000)
    state = r50.state_dict()
    assert len(state) == 320
    assert sum(p.numel() for p in r50.parameters()) == 25_557_032
    assert state["layer1.0.downsample.0.weight"].shape == (256, 64, 1, 1)
    assert state["layer2.0.conv2.weight"].shape == (128, 128, 3, 3)
    assert state["layer4.2.bn3.running_var"].shape == (2048,)
    assert state["fc.weight"].shape == (1000, 2048)
    r101 = build_model("tsn_r101", num_classes=1000)
    assert sum(p.numel() for p in r101.parameters()) == 44_549_160


def test_paper_parameter_counts():
    names = ("tsn_r50", "ctnet_r50")
    params_m = {name: sum(p.numel() for p in build_model(name).parameters()) / 1e6 for name in names}
    assert params_m["tsn_r50"] == pytest.approx(23.9, rel=0.01)
    assert params_m["ctnet_r50"] == pytest.approx(21.0, rel=0.01)


@pytest.fixture(scope="module")
def imagenet_checkpoint(tmp_path_factory):
    torch.manual_seed(1)
    state = build_model("tsn_r50", num_classes=1000).state_dict()
    path = tmp_path_factory.mktemp("weights") / "resnet50.pth"
    torch.save(state, path)
    return path, state


def test_torchvision_checkpoint_loads_into_the_backbone_exactly(imagenet_checkpoint):
    path, state = imagenet_checkpoint
    model = build_model("tsn_r50", num_classes=1000, pretrained=str(path))
    report = model.pretrained_report
    assert len(report.loaded) == 320 and report.unused == () and report.new == ()
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())


def test_checkpoint_into_ctnet_skips_replaced_convs_and_the_classifier(imagenet_checkpoint):
    path, state = imagenet_checkpoint
    model = build_model("ctnet_r50", num_classes=174, pretrained=str(path))
    report = model.pretrained_report
    assert set(report.unused) == {
        "fc.weight", "fc.bias", "layer1.1.conv2.weight", "layer2.1.conv2.weight", "layer2.3.conv2.weight",
        "layer3.1.conv2.weight", "layer3.3.conv2.weight", "layer3.5.conv2.weight", "layer4.1.conv2.weight",
    }
    assert all(".conv2.module." in k or k.startswith("fc.") for k in report.new)
    assert torch.equal(model.state_dict()["layer3.4.conv2.weight"], state["layer3.4.conv2.weight"])


def test_bad_checkpoints_are_rejected_with_the_reason(imagenet_checkpoint, tmp_path):
    _, state = imagenet_checkpoint
    with pytest.raises(FileNotFoundError, match=r"pretrained weights .*missing\.pth does not exist"):
        build_model("tsn_r50", pretrained=str(tmp_path / "missing.pth"))
    truncated = {k: v for k, v in state.items() if not k.startswith("layer4.2.")}
    torch.save(truncated, tmp_path / "truncated.pth")
    with pytest.raises(ValueError, match="lacks backbone tensors"):
        load_imagenet_weights(build_model("tsn_r50"), tmp_path / "truncated.pth")
    torch.save({"state_dict": state}, tmp_path / "wrapped.pth")
    with pytest.raises(ValueError, match="another ResNet depth"):
        load_imagenet_weights(build_model("tsn_small"), tmp_path / "wrapped.pth")


def test_build_model_rejects_unknown_names_and_options():
    with pytest.raises(ValueError, match="valid presets: c3d_inception_v3, c3d_r101"):
        build_model("ctnet_r18")
    with pytest.raises(ValueError, match="unknown model option 'kernel'"):
        build_model("ctnet_small", kernel="3,3")
    with pytest.raises(ValueError, match="pwconv='maybe'"):
        build_model("ctnet_small", pwconv="maybe")


def test_string_options_from_the_cli_are_parsed():
    model = build_model("ctmodule_small", kernels="1,5", last_sub_dim="balanced", pwconv="true")
    module = model.layer2[1].conv2.module
    assert module.sizes == (8, 4)
    assert module.sub_ops[1].spatial.conv.kernel_size == (1, 5, 5)
    assert len(module.pwconvs) == 1
