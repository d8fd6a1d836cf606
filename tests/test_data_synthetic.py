"""The synthetic temporal data set: files, determinism, masks, order-only class pairs, resuming."""

import argparse
import itertools
import json

import av
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ctnet_lib.data import (
    PyAVReader,
    generate_synthetic_dataset,
    load_object_mask,
    open_video,
    read_class_list,
    read_list_file,
    synthetic_class_list,
)
from ctnet_lib.data.command import register

FRAMES, SIZE = 8, 32


def generate(root, seed=0, **options):
    return generate_synthetic_dataset(root, 1, 1, num_frames=FRAMES, size=SIZE, seed=seed, **options)


def decode_all(path) -> np.ndarray:
    return open_video(path).get_frames(range(FRAMES)).numpy()


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """8 classes, no distractors (static background), frame folders too."""
    return generate(tmp_path_factory.mktemp("plain"), max_distractors=0, write_frames=True)


def video_of(files, class_name: str, split: str = "train"):
    records = read_list_file(files.train_list if split == "train" else files.val_list)
    label = files.classes.names.index(class_name)
    return next(r.path for r in records if r.label == label)


def test_files_lists_and_classes(plain):
    root = plain.root
    classes = read_class_list(root / "classes.json")
    assert len(classes) == 8 and classes == synthetic_class_list(8)
    assert classes.names[:2] == ("moving left", "moving right")
    assert classes.flip_label_map() == {0: 1, 1: 0, 2: 2, 3: 3, 4: 4, 5: 5, 6: 7, 7: 6}
    for list_file in (plain.train_list, plain.val_list, plain.train_frames_list, plain.val_frames_list):
        records = read_list_file(list_file)
        assert [r.label for r in records] == list(range(8))
        assert all(r.path.exists() for r in records)
    assert all(r.num_frames == FRAMES for r in read_list_file(plain.train_frames_list))
    assert not list(root.rglob(".*tmp*"))


def test_videos_are_h264_and_decode_alike_with_decord_and_pyav(plain):
    path = video_of(plain, "moving left")
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
    with_decord = open_video(path, backend="decord")
    with_pyav = PyAVReader(path)
    assert with_decord.num_frames == with_pyav.num_frames == FRAMES
    a = with_decord.get_frames(range(FRAMES))
    b = with_pyav.get_frames(range(FRAMES))
    assert a.shape == b.shape == (FRAMES, SIZE, SIZE, 3)
    assert (a.int() - b.int()).abs().float().mean() < 2


def test_mask_marks_the_object_in_every_frame(plain):
    path = video_of(plain, "moving left")
    frames = decode_all(path).astype(np.float32)
    mask = load_object_mask(path)
    assert mask.shape == (FRAMES, SIZE, SIZE) and mask.dtype == bool
    assert mask.any(axis=(1, 2)).all()
    # the object moves left: its column centre decreases every frame
    columns = [np.nonzero(m)[1].mean() for m in mask]
    assert all(b < a for a, b in itertools.pairwise(columns))
    # pixels the object leaves or enters change a lot; pixels far from it stay (the background is static)
    near = F.max_pool2d(torch.from_numpy(mask).float()[:, None], 5, 1, 2)[:, 0].numpy() > 0
    first, last = 0, FRAMES - 1
    changed = np.abs(frames[first] - frames[last]).mean(axis=-1)
    moved = mask[first] ^ mask[last]
    still = ~near[first] & ~near[last]
    assert changed[moved].mean() > 30
    assert changed[still].mean() < 3
    np.testing.assert_array_equal(load_object_mask(plain.root / "frames/train/moving_left/0000"), mask)


def test_opposite_classes_hold_the_same_frames_in_reverse_order(plain):
    left = decode_all(video_of(plain, "moving left")).astype(np.int16)
    right = decode_all(video_of(plain, "moving right")).astype(np.int16)
    assert np.abs(left.mean(axis=0) - right.mean(axis=0)).max() < 1  # time averages agree
    assert np.abs(left - right).mean() > 3  # ordered content differs
    np.testing.assert_array_equal(left[::-1], right)  # exactly the same frames, reversed
    left_mask = load_object_mask(video_of(plain, "moving left"))
    np.testing.assert_array_equal(left_mask[::-1], load_object_mask(video_of(plain, "moving right")))


def test_each_pair_moves_its_own_way(plain):
    def centre_and_area(name):
        mask = load_object_mask(video_of(plain, name))
        rows, cols = zip(*(np.nonzero(m) for m in mask), strict=True)
        return np.array([c.mean() for c in cols]), np.array([r.mean() for r in rows]), mask.sum(axis=(1, 2))

    x, _, _ = centre_and_area("moving right")
    assert x[-1] - x[0] > SIZE * 0.2
    _, y, _ = centre_and_area("moving up")
    assert y[0] - y[-1] > SIZE * 0.2
    _, _, area = centre_and_area("approaching")
    assert area[-1] > 2 * area[0]
    # orientation of the object's main axis, from the x axis towards +y (down): growing means clockwise
    angles = []
    for mask in load_object_mask(video_of(plain, "rotating clockwise")):
        y, x = np.nonzero(mask)
        x, y = x - x.mean(), y - y.mean()
        angles.append(np.arctan2(2 * (x * y).mean(), (x * x).mean() - (y * y).mean()))
    assert (np.diff(np.unwrap(angles)) > 0).all()


def test_same_seed_same_frames_other_seed_other_frames(tmp_path, plain):
    again = generate(tmp_path / "again", max_distractors=0)
    other = generate(tmp_path / "other", seed=1, max_distractors=0)
    for name in ("moving left", "rotating clockwise"):
        np.testing.assert_array_equal(decode_all(video_of(plain, name)), decode_all(video_of(again, name)))
        assert not np.array_equal(decode_all(video_of(plain, name)), decode_all(video_of(other, name)))


def test_rerun_skips_existing_files_and_refuses_other_settings(tmp_path):
    first = generate(tmp_path, num_classes=2)
    assert (first.num_written, first.num_skipped) == (4, 0)
    video = video_of(first, "moving left")
    stamp = video.stat().st_mtime_ns
    video.with_name("0000.mp4.mask.npz").unlink()  # as if interrupted before the mask was renamed
    second = generate(tmp_path, num_classes=2)
    assert (second.num_written, second.num_skipped) == (1, 3)
    assert video.stat().st_mtime_ns == stamp and load_object_mask(video).shape == (FRAMES, SIZE, SIZE)
    with pytest.raises(ValueError, match="other settings"):
        generate_synthetic_dataset(tmp_path, 1, 1, num_frames=FRAMES + 2, size=SIZE, num_classes=2)


def test_invalid_settings_are_refused(tmp_path):
    with pytest.raises(ValueError, match="even"):
        generate_synthetic_dataset(tmp_path, 1, 1, size=33)
    with pytest.raises(ValueError, match="num_classes"):
        generate_synthetic_dataset(tmp_path, 1, 1, num_classes=7)


def test_cli_synth_writes_the_data_set(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="ctnet")
    register(parser.add_subparsers(dest="command"))
    out = tmp_path / "cli"
    args = parser.parse_args(
        ["data", "synth", "--out", str(out), "--train-per-class", "1", "--val-per-class", "1",
         "--frames", "4", "--size", "16", "--classes", "10", "--frames-dirs"]
    )  # fmt: skip
    assert args.func(args) == 0
    assert "20 videos written" in capsys.readouterr().out
    assert json.loads((out / "classes.json").read_text())["classes"][-1] == "disappearing"
    assert len(read_list_file(out / "val_frames.txt")) == 10


def test_synth_command_and_train_config_take_the_look_of_the_videos_from_one_home():
    from ctnet_lib.data.synthetic import DEFAULT_SETTINGS
    from ctnet_lib.train import TrainConfig

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["data", "synth", "--out", "x"])
    assert (args.frames, args.size, args.classes, args.seed, args.max_distractors) == (
        DEFAULT_SETTINGS.num_frames, DEFAULT_SETTINGS.size, DEFAULT_SETTINGS.num_classes,
        DEFAULT_SETTINGS.seed, DEFAULT_SETTINGS.max_distractors)
    config = TrainConfig()
    assert (config.synthetic_frames, config.synthetic_size, config.synthetic_classes) == (
        DEFAULT_SETTINGS.num_frames, DEFAULT_SETTINGS.size, DEFAULT_SETTINGS.num_classes)
