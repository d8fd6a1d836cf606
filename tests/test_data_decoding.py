"""List files, video decoding (decord, PyAV, JPEG folders) and VideoClipDataset."""

from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from ctnet_lib.data import (
    ClassList,
    DecordReader,
    FrameFolderReader,
    ListFileError,
    PyAVReader,
    SparseSampler,
    VideoClipDataset,
    VideoDecodeError,
    eval_transform,
    generate_synthetic_dataset,
    open_video,
    read_class_list,
    read_list_file,
    train_transform,
)

FRAMES, SIZE = 8, 32


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    return generate_synthetic_dataset(
        root, 2, 1, num_frames=FRAMES, size=SIZE, num_classes=4, write_frames=True
    )


def first_video(synthetic) -> Path:
    return read_list_file(synthetic.train_list)[0].path


# --------------------------------------------------------------------------------------------- list files


def test_frame_list_is_parsed_relative_to_the_root(tmp_path):
    list_file = tmp_path / "train.txt"
    list_file.write_text("# comment\n\nclip/one 30 2\nclip two 12 0\n")
    records = read_list_file(list_file, root="/data/ssv2")
    assert [(r.path, r.num_frames, r.label) for r in records] == [
        (Path("/data/ssv2/clip/one"), 30, 2),
        (Path("/data/ssv2/clip two"), 12, 0),
    ]


def test_video_list_defaults_to_the_list_folder_as_root(tmp_path):
    list_file = tmp_path / "val.txt"
    list_file.write_text("videos/a b.mp4 3\nvideos/c.mp4 0\n")
    records = read_list_file(list_file)
    assert [(r.path, r.num_frames, r.label) for r in records] == [
        (tmp_path / "videos/a b.mp4", None, 3),
        (tmp_path / "videos/c.mp4", None, 0),
    ]


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        ("a 10 1\nb 12 2\nc x 3\n", 3, "<frame_dir> <num_frames> <label>"),
        ("a.mp4 1\nb.mp4\n", 2, "<video_path> <label>"),
        ("a.mp4 1\nb.mp4 one\n", 2, "<video_path> <label>"),
        ("a.mp4 -1\n", 1, "labels count from 0"),
        ("a 0 1\n", 1, "num_frames must be >= 1"),
    ],
)
def test_malformed_lines_name_the_file_line_and_expected_format(tmp_path, text, line, expected):
    list_file = tmp_path / "list.txt"
    list_file.write_text(text)
    with pytest.raises(ListFileError) as error:
        read_list_file(list_file)
    assert f"list.txt:{line}:" in str(error.value)
    assert expected in str(error.value)


def test_missing_and_empty_list_files_raise(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.txt"):
        read_list_file(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(ListFileError, match="no items"):
        read_list_file(tmp_path / "empty.txt")


def test_class_list_flip_map_swaps_partners_and_skips_unflippable(tmp_path):
    classes = ClassList.from_json(
        {"classes": ["left", "right", "up", "pour"], "flipped": ["right", "left", "up", None]}
    )
    assert classes.flip_label_map() == {0: 1, 1: 0, 2: 2}
    with pytest.raises(ValueError, match="not in 'classes'"):
        ClassList.from_json({"classes": ["left"], "flipped": ["right"]})
    (tmp_path / "classes.json").write_text('{"classes": ["a", "b"]}')
    assert read_class_list(tmp_path / "classes.json").flipped == (None, None)


# ------------------------------------------------------------------------------------------------ decoding


def test_decord_and_pyav_decode_the_same_frames(synthetic):
    path = first_video(synthetic)
    indices = [0, 3, 3, FRAMES - 1]
    decord_reader, pyav_reader = DecordReader(path), PyAVReader(path)
    assert decord_reader.num_frames == pyav_reader.num_frames == FRAMES
    a, b = decord_reader.get_frames(indices), pyav_reader.get_frames(indices)
    assert a.shape == b.shape == (4, SIZE, SIZE, 3) and a.dtype == b.dtype == torch.uint8
    assert (a.int() - b.int()).abs().float().mean() < 2
    assert torch.equal(a[1], a[2])


def test_both_backends_resize_while_decoding(synthetic):
    path = first_video(synthetic)
    for backend in ("decord", "pyav"):
        assert open_video(path, size=(24, 40), backend=backend).get_frames([0, 1]).shape == (2, 24, 40, 3)


def test_out_of_range_indices_are_clamped(synthetic):
    reader = open_video(first_video(synthetic))
    frames = reader.get_frames([-5, 0, FRAMES - 1, FRAMES + 10])
    assert torch.equal(frames[0], frames[1]) and torch.equal(frames[2], frames[3])
    assert not torch.equal(frames[0], frames[3])


def test_corrupt_video_raises_a_clear_error(tmp_path):
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    for backend in ("auto", "decord", "pyav"):
        with pytest.raises(VideoDecodeError) as error:
            open_video(corrupt, backend=backend)
        assert str(corrupt) in str(error.value) and "re-encode" in str(error.value)
    with pytest.raises(FileNotFoundError, match=r"missing\.mp4"):
        open_video(tmp_path / "missing.mp4")


def test_truncated_video_is_clamped_to_the_frames_that_decode(tmp_path):
    """The container announces 16 frames; the cut file holds fewer. Reading the last index still works."""
    full, cut = tmp_path / "full.mp4", tmp_path / "cut.mp4"
    frames = np.random.default_rng(0).integers(0, 256, (16, 32, 32, 3), dtype=np.uint8)
    with av.open(str(full), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        stream.options = {"g": "1", "qp": "20"}
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    cut.write_bytes(full.read_bytes()[: int(full.stat().st_size * 0.6)])
    assert av.open(str(cut)).streams.video[0].frames == 16
    reader = open_video(cut)
    clip = reader.get_frames([0, 15])
    assert clip.shape == (2, 32, 32, 3)
    assert 0 < reader.num_frames < 16
    assert torch.equal(clip[1], reader.get_frames([reader.num_frames - 1])[0])


def test_frame_folder_reads_like_the_video(synthetic):
    record = read_list_file(synthetic.train_frames_list)[0]
    reader = open_video(record.path, num_frames=record.num_frames)
    assert isinstance(reader, FrameFolderReader) and reader.num_frames == FRAMES
    from_jpeg = reader.get_frames(range(FRAMES)).float()
    from_video = open_video(first_video(synthetic)).get_frames(range(FRAMES)).float()
    assert from_jpeg.shape == from_video.shape
    assert (from_jpeg - from_video).abs().mean() < 8
    assert reader.get_frames([0]).shape == (1, SIZE, SIZE, 3)
    assert open_video(record.path, size=(16, 24)).get_frames([0]).shape == (1, 16, 24, 3)


def test_frame_folder_template_first_index_and_count(tmp_path):
    folder = tmp_path / "video"
    folder.mkdir()
    for index in range(5):  # img_00000.jpg .. img_00004.jpg, 0-based, frame i filled with value 40 * i
        Image.fromarray(np.full((8, 8, 3), 40 * index, dtype=np.uint8)).save(folder / f"img_{index:05d}.jpg")
    reader = FrameFolderReader(folder, "img_{:05d}.jpg", first_index=0)
    assert reader.num_frames == 5
    values = reader.get_frames([4, 0, 2]).float().mean(dim=(1, 2, 3))
    assert torch.allclose(values, torch.tensor([160.0, 0.0, 80.0]), atol=3)
    assert FrameFolderReader(folder, "img_{:05d}.jpg", first_index=0, num_frames=3).num_frames == 3
    assert FrameFolderReader(folder, "img_{:05d}.jpg", first_index=0, num_frames=50).num_frames == 5
    with pytest.raises(VideoDecodeError, match="template"):
        FrameFolderReader(folder)  # default '{:05d}.jpg' from 1 does not match these names


# ----------------------------------------------------------------------------------------------- data sets


def test_dataset_gives_training_clips_and_multi_view_test_clips(synthetic):
    train = VideoClipDataset(
        synthetic.train_list, synthetic.root, SparseSampler(4, train=True), train_transform(24), seed=0
    )
    clip, label = train[1]
    assert clip.shape == (3, 4, 24, 24) and clip.dtype == torch.float32
    assert label == train.labels[1]
    assert torch.equal(train[1][0], clip)  # seeded: same epoch, same clip
    train.set_epoch(1)
    assert not torch.equal(train[1][0], clip)

    test = VideoClipDataset(
        synthetic.val_list,
        synthetic.root,
        SparseSampler(4, test_clips=2),
        eval_transform(24, num_crops=3),
        multi_view=True,
    )
    clips, _ = test[0]
    assert clips.shape == (6, 3, 4, 24, 24)
    single = VideoClipDataset(synthetic.val_list, synthetic.root, SparseSampler(4, test_clips=2))
    with pytest.raises(ValueError, match="multi_view=True"):
        single[0]


def test_dataset_reads_frame_folders_with_the_same_contract(synthetic):
    dataset = VideoClipDataset(
        synthetic.train_frames_list, synthetic.root, SparseSampler(4), eval_transform(24)
    )
    clip, label = dataset[0]
    assert clip.shape == (3, 4, 24, 24) and label == 0


def test_dataset_works_in_a_dataloader_with_two_workers(synthetic):
    dataset = VideoClipDataset(
        synthetic.train_list, synthetic.root, SparseSampler(4, train=True), train_transform(24)
    )
    loader = DataLoader(dataset, batch_size=3, num_workers=2, shuffle=False)
    batches = list(loader)
    clips = torch.cat([clips for clips, _ in batches])
    labels = torch.cat([labels for _, labels in batches])
    assert clips.shape == (len(dataset), 3, 4, 24, 24)
    assert labels.tolist() == dataset.labels
