"""The authors' released checkpoints (Andy1621/CT-Net) through every entry point: recognised by content,
computing what the release's own code computes, and one-line errors for files that are not theirs."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from release_format import EXPECTED_FILE, FRAMES, SIZE, release_checkpoint, release_input

from ctnet_lib.cli import main
from ctnet_lib.data.decoding import AUTO_FRAME_TEMPLATE, FrameFolderReader
from ctnet_lib.data.list_files import read_class_list
from ctnet_lib.explain.volumes import class_activation_volume, last_features
from ctnet_lib.train import load_trained_model

EXPECTED = json.loads(EXPECTED_FILE.read_text())
# float64 forward of float32 weights: rounding grows to about 1e-14 of the largest logit in 50 layers (both
# codes sum in different orders); 1e-10 leaves room and still fails on any change of what is computed (a
# wrong channel order changes the logits by 5 % of their range). In float32 the release's own forward differs
# from its float64 one by 1e-7 here (5e-5 on calibrated random weights at 256 x 256): hence float64.
RELATIVE_TOLERANCE = 1e-10


def write(obj, path):
    torch.save(obj, path)
    return path


@pytest.fixture(scope="module")
def release_file(tmp_path_factory):
    return write(release_checkpoint("CT_Net"), tmp_path_factory.mktemp("release") / "ct_net_8f_r50.pth.tar")


def _forward(trained):
    clip = torch.from_numpy(release_input()).view(1, FRAMES, 3, SIZE, SIZE).transpose(1, 2)
    model = trained.model.double()
    with torch.no_grad():
        logits, features = last_features(model, clip)
    return logits[0], features


@pytest.mark.parametrize("model", ["CT_Net", "TSN"])
def test_logits_and_cam_equal_the_release_forward(model, tmp_path):
    trained = load_trained_model(write(release_checkpoint(model), tmp_path / "release.pth.tar"))
    assert trained.source == "release"
    assert trained.config.model == ("ctnet_r50" if model == "CT_Net" else "tsn_r50")
    expected = EXPECTED[model]
    logits, features = _forward(trained)
    reference = torch.tensor(expected["logits"], dtype=torch.float64)
    scale = reference.abs().max()
    assert (logits - reference).abs().max() <= RELATIVE_TOLERANCE * scale
    cam = class_activation_volume(features, trained.model.fc.weight[expected["cam_target"]][None])[0]
    reference_cam = torch.tensor(expected["cam"], dtype=torch.float64)
    assert cam.shape == reference_cam.shape == (FRAMES, SIZE // 32, SIZE // 32)
    assert (cam - reference_cam).abs().max() <= RELATIVE_TOLERANCE * reference_cam.abs().max()


def test_the_paper_variant_computes_something_else(release_file):
    trained = load_trained_model(release_file)
    assert dict(trained.config.model_options) == {"variant": "release", "replace": "every_other"}
    config = trained.config
    assert (config.crop_size, config.short_side, config.num_frames) == (256, 256, 8)
    for module in trained.model.modules():
        if hasattr(module, "home"):
            module.home = tuple(range(len(module.sizes)))  # the paper variant's channel order
    logits, _ = _forward(trained)
    reference = torch.tensor(EXPECTED["CT_Net"]["logits"], dtype=torch.float64)
    assert (logits - reference).abs().max() > 1e-3 * reference.abs().max()


@pytest.mark.parametrize("form", ["state_dict", "state_dict_without_module", "legacy_format"])
def test_other_forms_of_the_file_load_the_same_weights(form, release_file, tmp_path):
    full = release_checkpoint("CT_Net")
    path = tmp_path / "other.pth"
    if form == "state_dict":
        torch.save(full["state_dict"], path)
    elif form == "state_dict_without_module":
        torch.save({k.removeprefix("module."): v for k, v in full["state_dict"].items()}, path)
    else:
        torch.save(full, path, _use_new_zipfile_serialization=False)
    one, other = load_trained_model(release_file).model, load_trained_model(path).model
    assert all(torch.equal(a, b) for a, b in zip(one.state_dict().values(), other.state_dict().values(),
                                                  strict=True))


def _frame_folder(folder, template, count=12):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        pixels = rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / template.format(i + 1))
    return folder


def test_frame_folders_named_like_the_release_are_found_with_their_first_index(tmp_path):
    for template in ("{:05d}.jpg", "img_{:05d}.jpg"):
        folder = _frame_folder(tmp_path / template.split("{")[0].strip("_") / "clip", template, count=3)
        reader = FrameFolderReader(folder, AUTO_FRAME_TEMPLATE)
        assert (reader.template, reader.first_index, reader.num_frames) == (template, 1, 3)
        expected = np.asarray(Image.open(folder / template.format(1)).convert("RGB"))
        assert np.array_equal(reader.get_frames([0])[0].numpy(), expected)


def test_a_category_file_names_one_class_per_line(tmp_path):
    (tmp_path / "category.txt").write_text("Holding something\nPushing something from left to right\n")
    assert read_class_list(tmp_path / "category.txt").names == (
        "Holding something", "Pushing something from left to right")


@pytest.mark.slow
def test_convert_explain_and_evaluate_take_the_release_file(release_file, tmp_path, capsys):
    classes = tmp_path / "category.txt"
    classes.write_text("".join(f"class {i}\n" for i in range(10)))
    code = main(["convert", str(release_file), "--class-file", str(classes), "--out", str(tmp_path / "run")])
    assert code == 0
    converted = load_trained_model(tmp_path / "run")
    assert converted.source == "ctnet-lab" and converted.class_names[3] == "class 3"
    assert dict(converted.config.model_options) == {"variant": "release", "replace": "every_other"}
    assert all(torch.equal(a, b) for a, b in zip(converted.model.state_dict().values(),
                                                  load_trained_model(release_file).model.state_dict().values(),
                                                  strict=True))
    video = _frame_folder(tmp_path / "videos" / "79255", "img_{:05d}.jpg")
    code = main(["explain", "--checkpoint", str(release_file), "--class-file", str(classes),
                 "--video", str(video), "--out", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err
    summary = json.loads((tmp_path / "out" / "79255.ctnet_r50.explain.json").read_text())
    assert summary["checkpoint_source"] == "release" and summary["predicted_name"].startswith("class ")
    assert summary["frame_indices"] == [0, 2, 3, 5, 6, 8, 9, 11]  # int(1.5 / 2 + 1.5 k) of 12 frames
    assert np.load(tmp_path / "out" / "79255.ctnet_r50.raw.npy").shape == (8, 8, 8)  # 256 / 32
    (tmp_path / "videos" / "val.txt").write_text("79255 12 3\n")
    code = main(["evaluate", str(release_file), "--class-file", str(classes), "--list",
                 str(tmp_path / "videos" / "val.txt"), "--device", "cpu", "--workers", "0", "--json"])
    assert code == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["videos"] == 1


def _tsm(path):
    state = release_checkpoint("TSN")
    state["state_dict"] = {k.replace("layer1.0.conv1.weight", "layer1.0.conv1.net.weight"): v
                           for k, v in state["state_dict"].items()}
    return write(state, path)


def _other_backbone(path):
    state = release_checkpoint("TSN")
    state["state_dict"] = {k: v for k, v in state["state_dict"].items() if ".layer3.5." not in k}
    state["arch"] = "resnet50"
    return write(state, path)


def _truncated(path):
    write(release_checkpoint("TSN"), path)
    path.write_bytes(path.read_bytes()[:5000])
    return path


@pytest.mark.parametrize(("make", "message"), [
    (_tsm, "is a TSM checkpoint (temporal shift"),
    (_other_backbone, "holds a backbone with (3, 4, 5, 3) blocks per stage"),
    (_truncated, "is not a readable torch checkpoint"),
    (lambda path: write({"weights": [1, 2]}, path), "holds a dict with keys ['weights'], not a checkpoint"),
])
@pytest.mark.parametrize("command", ["convert", "evaluate", "explain"])
def test_a_file_that_is_not_accepted_ends_with_one_line_and_writes_nothing(make, message, command, tmp_path,
                                                                           capsys):
    path = make(tmp_path / "model.pth.tar")
    out = tmp_path / "out"
    arguments = {
        "convert": ["convert", str(path), "--out", str(out)],
        "evaluate": ["evaluate", str(path), "--list", str(tmp_path / "val.txt"), "--output", str(out)],
        "explain": ["explain", "--checkpoint", str(path), "--video", str(tmp_path), "--out", str(out)],
    }
    code = main(arguments[command])
    error = capsys.readouterr().err
    assert code == 2 and message in error and "accepted" in error and error.count("\n") == 1, error
    assert not out.exists()
