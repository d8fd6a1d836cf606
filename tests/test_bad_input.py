"""Bad input, one row per case: every entry point answers with an exception (library) or a one-line
error and exit code 2 (``ctnet``) that names the input and the fix, and writes nothing at a final path.
Inputs that look odd but are valid (CRLF, a BOM, spaces, variable frame rate, short videos) are read
correctly. Each row builds its input in ``tmp_path`` and returns the call to make."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import torch
from PIL import Image

from ctnet_lib import build_model
from ctnet_lib.cli import main
from ctnet_lib.data import (
    DataItemError,
    FrameFolderReader,
    ListFileError,
    SparseSampler,
    VideoClipDataset,
    VideoDecodeError,
    open_video,
    read_list_file,
)
from ctnet_lib.data.synthetic import synthetic_class_list
from ctnet_lib.models.pretrained import load_matching_weights
from ctnet_lib.ops.factorisation import FactorisationError
from ctnet_lib.train import load_checkpoint
from ctnet_lib.train.checkpoint import save_checkpoint

FRAMES, SIZE = 8, 32


def write_video(path: Path, frames: int = FRAMES, faststart: bool = True,
                durations_ms: list[int] | None = None) -> Path:
    """An H.264 MP4 whose frame i is uniformly grey at 10 * i; ``durations_ms`` gives each frame its own
    duration (a variable frame rate)."""
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = SIZE, SIZE, "yuv420p"
        stream.options = {"qp": "10", "g": "4"}
        stream.codec_context.time_base = Fraction(1, 1000)
        pts = 0
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((SIZE, SIZE, 3), 10 * index, np.uint8), format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            pts += durations_ms[index] if durations_ms else 40
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def write_frames(folder: Path, frames: int = FRAMES, template: str = "{:05d}.jpg") -> Path:
    folder.mkdir(parents=True)
    for index in range(frames):
        grey = np.full((SIZE, SIZE, 3), 10 * index, np.uint8)
        Image.fromarray(grey).save(folder / template.format(index + 1))
    return folder


def write_list(tmp_path: Path, text: str, name: str = "list.txt", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def dataset(list_file: Path, **options: Any) -> VideoClipDataset:
    return VideoClipDataset(list_file, None, SparseSampler(4), **options)


def after(_done: Any, call: Callable[[], Any]) -> Callable[[], Any]:
    """``call``, once the expression that wrote its input (``_done``) has run."""
    return call


def truncated_video(tmp_path: Path) -> Path:
    """The first 60 % of an MP4 whose index (moov) is at its end: the header is lost."""
    full = write_video(tmp_path / "full.mp4", frames=16, faststart=False)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: int(full.stat().st_size * 0.6)])
    return cut


# -------------------------------------------------------------------- library entry points: exceptions


@dataclass(frozen=True)
class Case:
    """``make(tmp_path)`` writes the input and returns the call that must raise ``error`` with a message
    holding every fragment (``{tmp}`` stands for tmp_path)."""

    id: str
    make: Callable[[Path], Callable[[], Any]]
    error: type[Exception]
    fragments: tuple[str, ...]


def _write_garbage_frames(tmp_path: Path) -> Path:
    folder = tmp_path / "clip"
    folder.mkdir()
    for index in range(1, 5):
        (folder / f"{index:05d}.jpg").write_text("not a JPEG")
    return write_list(tmp_path, "clip 4 0\n")


def _another_architecture(tmp_path: Path) -> Callable[[], Any]:
    model = build_model("ctnet_small", num_classes=4, num_frames=4)
    torch.save(build_model("tsn_small", num_classes=4, num_frames=4).state_dict(), tmp_path / "tsn.pt")
    return lambda: load_matching_weights(model, torch.load(tmp_path / "tsn.pt", weights_only=True),
                                         str(tmp_path / "tsn.pt"))


class Payload:
    """Unpickling it would create a file: a checkpoint must never run code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _pickled_object(tmp_path: Path) -> Callable[[], Any]:
    torch.save({"model": {}, "payload": Payload(tmp_path / "ran")}, tmp_path / "evil.pt")
    return lambda: load_checkpoint(tmp_path / "evil.pt")


LIBRARY_CASES = [
    # videos
    Case("missing file", lambda t: lambda: open_video(t / "missing.mp4"), FileNotFoundError,
         ("missing.mp4", "does not exist", "check the data root")),
    Case("zero-byte file",
         lambda t: after((t / "zero.mp4").write_bytes(b""), lambda: open_video(t / "zero.mp4")),
         VideoDecodeError, ("zero.mp4", "empty (0 bytes)", "re-encode")),
    Case("text file named .mp4", lambda t: after((t / "text.mp4").write_text("hello\n"),
                                                 lambda: open_video(t / "text.mp4")),
         VideoDecodeError, ("text.mp4", "not a video", "re-encode")),
    Case("truncated H.264 (index lost)",
         lambda t: after(truncated_video(t), lambda: open_video(t / "cut.mp4")),
         VideoDecodeError, ("cut.mp4", "truncated", "re-encode")),
    # frame folders
    Case("empty frame folder", lambda t: after((t / "empty").mkdir(), lambda: FrameFolderReader(t / "empty")),
         VideoDecodeError, ("empty", "'00001.jpg'", "template")),
    Case("unreadable frames", lambda t: after(_write_garbage_frames(t), lambda: dataset(t / "list.txt")[0]),
         DataItemError, ("list.txt:1", "00001.jpg", "re-extract")),
    Case("wrong file-name template", lambda t: after(write_frames(t / "clip"),
                                                     lambda: FrameFolderReader(t / "clip", "img_{:05d}.jpg")),
         VideoDecodeError,
         ("'img_00001.jpg'", "template", "first index")),
    Case("template without a frame field",
         lambda t: after(write_frames(t / "clip"), lambda: FrameFolderReader(t / "clip", "frame.jpg")),
         ValueError, ("'frame.jpg'", "no field")),
    # list files
    Case("missing list file", lambda t: lambda: read_list_file(t / "nope.txt"), FileNotFoundError,
         ("nope.txt", "does not exist")),
    Case("wrong field count", lambda t: lambda: read_list_file(write_list(t, "a 8 0\nb 8\nc 8 1\n")),
         ListFileError, ("list.txt:2", "<frame_dir> <num_frames> <label>", "'b 8'")),
    Case("non-integer frame count",
         lambda t: lambda: read_list_file(write_list(t, "a eight 0\nb 8 1\nc 8 0\n")),
         ListFileError, ("list.txt:1", "num_frames and label are integers")),
    Case("negative label", lambda t: lambda: read_list_file(write_list(t, "a.mp4 0\nb.mp4 -2\n")),
         ListFileError, ("list.txt:2", "labels count from 0")),
    Case("label out of range",
         lambda t: lambda: read_list_file(write_list(t, "a.mp4 0\nb.mp4 6\n"), num_classes=6),
         ListFileError, ("list.txt:2", "label 6 is outside the 6 classes", "class file")),
    Case("duplicate entries", lambda t: lambda: read_list_file(write_list(t, "a.mp4 0\nb.mp4 1\na.mp4 0\n")),
         ListFileError, ("list.txt:3", "listed again (first at", "list.txt:1)", "remove one")),
    Case("not a text file", lambda t: lambda: read_list_file(write_list(t, "a.mp4 0\n", encoding="utf-16")),
         ListFileError, ("list.txt", "not UTF-8")),
    Case("list item missing (pre-flight check)", lambda t: after(
        write_list(t, f"{write_video(t / 'ok.mp4').name} 0\ngone.mp4 1\n"),
        lambda: dataset(t / "list.txt").check()),
         DataItemError,
         ("1 of the 2 items", "list.txt:2", "gone.mp4", "does not exist", "bad_items='skip'")),
    Case("unreadable header (pre-flight check)", lambda t: after(
        (t / "text.mp4").write_text("x"), lambda: dataset(write_list(t, "text.mp4 0\n")).check()),
         DataItemError,
         ("list.txt:1", "text.mp4", "not a video")),
    Case("dataset option", lambda t: lambda: dataset(write_list(t, "a.mp4 0\n"), bad_items="ignore"),
         ValueError, ("bad_items='ignore'", "fail", "skip")),
    # models and analysis
    Case("impossible factorisation", lambda t: lambda: build_model("ctnet_small", last_sub_dim=7),
         FactorisationError, ("C=16", "last sub-dimension size 7", "divisor")),
    Case("too many sub-dimensions", lambda t: lambda: build_model("ctnet_small", num_sub_dims=9),
         FactorisationError, ("C=16", "9 balanced sub-dimensions", "fewer sub-dimensions")),
    Case("unknown preset", lambda t: lambda: build_model("ctnet_r18"), ValueError,
         ("'ctnet_r18'", "valid presets")),
    Case("unknown option", lambda t: lambda: build_model("ctnet_small", kernel="3,3"), ValueError,
         ("'kernel'", "valid options")),
    Case("kernel of 0", lambda t: lambda: build_model("ctnet_small", kernels="0,3"), ValueError,
         ("kernels=(0, 3)", "positive odd")),
    Case("even kernel", lambda t: lambda: build_model("ctnet_small", kernels="3,4"), ValueError,
         ("kernels=(3, 4)", "positive odd")),
    Case("checkpoint of another architecture", _another_architecture, ValueError,
         ("tsn.pt", "another architecture", "missing", "layer1.1.conv2.module", "unexpected")),
    Case("not a checkpoint", lambda t: after((t / "notes.pt").write_text("hello"),
                                             lambda: load_checkpoint(t / "notes.pt")),
         ValueError, ("notes.pt", "not a readable torch checkpoint")),
    Case("pickled objects in a checkpoint", _pickled_object, ValueError,
         ("evil.pt", "not a readable torch checkpoint", "only tensors")),
]


@pytest.mark.parametrize("case", LIBRARY_CASES, ids=[case.id for case in LIBRARY_CASES])
def test_library_entry_points_raise_errors_that_name_the_input_and_the_fix(case, tmp_path):
    call = case.make(tmp_path)
    with pytest.raises(case.error) as raised:
        call()
    message = str(raised.value)
    for fragment in case.fragments:
        assert fragment.format(tmp=tmp_path) in message, message
    assert not (tmp_path / "ran").exists()  # no pickled code ran


# ------------------------------------------------------------------ odd inputs that are read correctly


def grey_levels(clip: torch.Tensor) -> list[int]:
    """Frame i of write_video is grey 10 * i: the frame index of each frame of a uint8 clip."""
    return [round(v / 10) for v in clip.float().mean(dim=(1, 2, 3)).tolist()]


def test_crlf_bom_and_spaces_in_list_files_are_read(tmp_path):
    (tmp_path / "my clips").mkdir()
    write_video(tmp_path / "my clips" / "a b.mp4")
    list_file = write_list(tmp_path, "# comment\r\nmy clips/a b.mp4 1\r\n\r\n", encoding="utf-8-sig")
    assert list_file.read_bytes().startswith(b"\xef\xbb\xbf")
    records = read_list_file(list_file, num_classes=2)
    assert [(r.path, r.label, r.where) for r in records] == [(tmp_path / "my clips" / "a b.mp4", 1,
                                                              f"{list_file}:2")]
    assert dataset(list_file).check() == []
    clip, label = dataset(list_file)[0]
    assert clip.shape == (3, 4, SIZE, SIZE) and label == 1


@pytest.mark.parametrize("backend", ["decord", "pyav"])
def test_a_variable_frame_rate_video_is_read_by_frame_index(tmp_path, backend):
    """Frames last 20 ms or 150 ms: sampling counts frames, not seconds, and gets each one."""
    durations_ms = [150 if i % 3 == 0 else 20 for i in range(12)]
    path = write_video(tmp_path / "vfr.mp4", frames=12, durations_ms=durations_ms)
    reader = open_video(path, backend=backend)
    assert reader.num_frames == 12
    assert grey_levels(reader.get_frames([11, 0, 3, 7])) == [11, 0, 3, 7]


def test_a_video_with_fewer_frames_than_segments_repeats_frames_in_order(tmp_path):
    write_video(tmp_path / "short.mp4", frames=3)
    items = VideoClipDataset(write_list(tmp_path, "short.mp4 0\n"), None, SparseSampler(8))
    frames = items.read_frames(0, torch.Generator())
    assert frames.shape == (1, 8, SIZE, SIZE, 3)
    levels = grey_levels(frames[0])
    assert levels == sorted(levels) and set(levels) == {0, 1, 2}


# ------------------------------------------------------------------------- ctnet: one line, exit code 2


@pytest.fixture(scope="module")
def runs(tiny_runs):
    """The session's tiny trained runs and the synthetic class names in another (sorted) order."""
    config, run_dir = tiny_runs
    return config, run_dir / "ctnet_small"


def _train_argv(tmp_path: Path, train_list: str, *extra: str) -> list[str]:
    val = write_list(tmp_path, f"{write_video(tmp_path / 'ok.mp4').name} 0\n", name="val.txt")
    return ["train", "--model", "tsn_small", "--train-list", str(train_list), "--val-list", str(val),
            "--frames", "4", "--crop-size", "32", "--epochs", "1", "--batch-size", "2", "--workers", "0",
            "--device", "cpu", "--no-progress", "--run-dir", str(tmp_path / "run"), *extra]


def _sorted_classes(tmp_path: Path) -> Path:
    names = synthetic_class_list(6).names
    assert sorted(names) != list(names)
    path = tmp_path / "sorted.json"
    path.write_text(json.dumps({"classes": sorted(names)}))
    return path


def _foreign_checkpoint(tmp_path: Path, runs) -> Path:
    """A run's checkpoint whose weights come from another preset (as a renamed or edited file)."""
    state = load_checkpoint(runs[1] / "best.pt")
    state["model"] = build_model("tsn_small", num_classes=6, num_frames=4).state_dict()
    return save_checkpoint(tmp_path / "foreign.pt", state)


@dataclass(frozen=True)
class CliCase:
    """``argv(tmp_path, runs)`` -> the arguments; stderr must be one line holding every fragment, and
    none of ``untouched`` (relative to tmp_path) may exist afterwards."""

    id: str
    argv: Callable[[Path, Any], list[str]]
    fragments: tuple[str, ...]
    untouched: tuple[str, ...] = ("run", "out")


CLI_CASES = [
    CliCase("missing list file", lambda t, r: _train_argv(t, str(t / "nope.txt")),
            ("train", "nope.txt", "does not exist")),
    CliCase("malformed list line", lambda t, r: _train_argv(t, str(write_list(t, "ok.mp4 0\nok2.mp4\n"))),
            ("list.txt:2", "<video_path> <label>")),
    CliCase("list item missing: fails before training", lambda t, r: _train_argv(
        t, str(write_list(t, "ok.mp4 0\ngone.mp4 1\n"))), ("list.txt:2", "gone.mp4", "does not exist")),
    CliCase("frame folders named by another template", lambda t, r: _train_argv(
        t, str(after(write_frames(t / "clip", template="img_{:05d}.jpg"), write_list(t, "clip 8 0\n")))),
            ("list.txt:1", "'00001.jpg'", "--frame-template")),
    CliCase("label outside the class file", lambda t, r: _train_argv(
        t, str(write_list(t, "ok.mp4 1\n")), "--class-file", str(_one_class(t))),
            ("list.txt:1", "label 1 is outside the 1 classes")),
    CliCase("accumulate that does not divide the batch", lambda t, r: _train_argv(
        t, str(write_list(t, "ok.mp4 0\n")), "--accumulate", "3"), ("batch_size=2", "accumulate=3")),
    CliCase("unknown bad-items policy", lambda t, r: _train_argv(
        t, str(write_list(t, "ok.mp4 0\n")), "--bad-items", "ignore"), ("bad_items='ignore'", "skip")),
    CliCase("even kernel",
            lambda t, r: _train_argv(t, str(write_list(t, "ok.mp4 0\n")), "--set", "kernels=2"),
            ("kernels=(2,)", "odd")),
    CliCase("impossible factorisation", lambda t, r: ["complexity", "ctnet_small", "--set", "last_sub_dim=7"],
            ("complexity", "last sub-dimension size 7")),
    CliCase("unknown preset", lambda t, r: ["complexity", "ctnet_r18"], ("'ctnet_r18'", "valid presets")),
    CliCase("--set without =", lambda t, r: ["complexity", "ctnet_small", "--set", "kernels"],
            ("key=value",)),
    CliCase("not a checkpoint", lambda t, r: after((t / "notes.pt").write_text("x"), lambda: [
        "evaluate", str(t / "notes.pt"), "--output", str(t / "out")])(),
            ("notes.pt", "not a readable torch checkpoint")),
    CliCase("pickled objects in a checkpoint", lambda t, r: after(_pickled_object(t), lambda: [
        "evaluate", str(t / "evil.pt"), "--output", str(t / "out")])(),
            ("evil.pt", "only tensors"), ("out", "ran")),
    CliCase("checkpoint of another architecture", lambda t, r: [
        "evaluate", str(_foreign_checkpoint(t, r)), "--output", str(t / "out")],
            ("foreign.pt", "another architecture", "layer1.1.conv2.module")),
    CliCase("class list in another order", lambda t, r: [
        "evaluate", str(r[1]), "--class-file", str(_sorted_classes(t)), "--device", "cpu",
        "--output", str(t / "out")], ("sorted.json", "class 0 is", "same names, same order")),
]


def _one_class(tmp_path: Path) -> Path:
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"classes": ["only"]}))
    return path


@pytest.mark.parametrize("case", CLI_CASES, ids=[case.id for case in CLI_CASES])
def test_ctnet_answers_bad_input_with_one_line_and_exit_code_2(case, tmp_path, runs, capsys):
    argv = case.argv(tmp_path, runs)
    capsys.readouterr()
    started = time.monotonic()
    assert main(argv) == 2
    assert time.monotonic() - started < 30  # before any training
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith(f"ctnet {argv[0]}: error:"), err
    for fragment in case.fragments:
        assert fragment in err, err
    for name in case.untouched:
        assert not (tmp_path / name).exists(), name
