import numpy as np
import pytest
import torch

from ctnet_lib.analysis.fields.effective_receptive_field import (
    effective_receptive_field,
    preset_effective_receptive_field,
)
from ctnet_lib.models import build_model

SIZE = (5, 64, 64)


@pytest.fixture(scope="module")
def tsn_erf():
    return preset_effective_receptive_field("tsn_small", SIZE, num_samples=4)


def test_map_is_a_normalised_distribution_over_the_clip(tsn_erf):
    assert tsn_erf.map.shape == SIZE
    assert tsn_erf.map.min() >= 0 and tsn_erf.map.sum() == pytest.approx(1.0)
    assert tsn_erf.centre == (2, 32, 32) and tsn_erf.feature_size == (5, 2, 2)


def test_frame_network_sees_only_its_own_frame(tsn_erf):
    assert tsn_erf.summary()["mass_off_centre_frame"] == 0.0
    assert tsn_erf.radius("t", 0.9) == 0


def test_erf_is_symmetric_and_peaked_at_the_centre(tsn_erf):
    summary = tsn_erf.summary()
    for axis in ("h", "w"):
        assert abs(summary[f"centre_of_mass_{axis}"] - 32) < 2.5
        profile = tsn_erf.marginal(axis)
        before, after = profile[16:32].sum(), profile[33:49].sum()
        assert 0.6 < before / after < 1.6
        smoothed = np.convolve(profile, np.ones(5) / 5, mode="same")
        assert abs(int(smoothed.argmax()) - 32) <= 4
    frame = tsn_erf.map[2]
    rows, cols = np.indices(frame.shape)
    distance = np.hypot(rows - 32, cols - 32)
    assert frame[distance <= 6].mean() > 2 * frame[distance > 20].mean()


def test_deeper_feature_maps_have_larger_fields():
    shallow = preset_effective_receptive_field("tsn_small", SIZE, num_samples=2, stage="layer2")
    deep = preset_effective_receptive_field("tsn_small", SIZE, num_samples=2, stage="layer4")
    assert deep.radius("h", 0.9) > shallow.radius("h", 0.9)
    assert deep.radius("w", 0.9) > shallow.radius("w", 0.9)


def test_temporal_modules_spread_the_field_over_frames():
    erf = preset_effective_receptive_field("r2plus1d_small", SIZE, num_samples=2)
    assert erf.summary()["mass_off_centre_frame"] > 0.01
    profile = erf.marginal("t")
    assert profile.argmax() == 2


@pytest.mark.parametrize("wrap", [None, "model", "state_dict"])
def test_a_saved_checkpoint_loads_and_gives_the_erf_of_its_weights(tmp_path, wrap):
    torch.manual_seed(3)
    model = build_model("ctnet_small", num_classes=7)
    path = tmp_path / "trained.pth"
    state = model.state_dict()
    torch.save(state if wrap is None else {wrap: state, "epoch": 4}, path)
    expected = effective_receptive_field(model, (3, 32, 32), num_samples=2)
    loaded = preset_effective_receptive_field("ctnet_small", (3, 32, 32), checkpoint=path, num_samples=2)
    assert np.allclose(loaded.map, expected.map, atol=1e-6)


@pytest.mark.parametrize("load", ["preset", "model"])
def test_a_checkpoint_of_another_architecture_names_its_keys(tmp_path, load):
    path = tmp_path / "tsn.pth"
    torch.save(build_model("tsn_small", num_classes=7).state_dict(), path)
    message = r"tsn\.pth holds weights of another .* 4 unexpected \(layer1\.1\.conv2"
    with pytest.raises(ValueError, match=message):
        if load == "preset":
            preset_effective_receptive_field("ctnet_small", (3, 32, 32), checkpoint=path, num_samples=1)
        else:
            effective_receptive_field(build_model("ctnet_small", num_classes=7), (3, 32, 32), checkpoint=path)


def test_bad_arguments_raise():
    model = build_model("tsn_small")
    with pytest.raises(ValueError, match="stage"):
        effective_receptive_field(model, (1, 32, 32), stage="layer5")
    with pytest.raises(FileNotFoundError):
        preset_effective_receptive_field("tsn_small", (1, 32, 32), checkpoint="/nonexistent/ckpt.pth")
    erf = effective_receptive_field(model, (1, 32, 32), num_samples=1)
    with pytest.raises(ValueError, match="axis"):
        erf.radius("x")
