"""Bad input, round 2, one row per case: configuration and class files (syntax, types, shape), output paths
that are files (or folders, or inside a file, or not writable), numbers out of range at every entry point,
and videos that decode only partly or are shorter than a clip. Library entry points raise an exception
that names the input and the fix; ``ctnet`` prints one line and exits with code 2, writing nothing at the
output path. Each row builds its input in ``tmp_path`` and returns the call (or the arguments)."""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest
from test_bad_input import (
    Case,
    CliCase,
    _train_argv,
    after,
    dataset,
    write_list,
    write_video,
)

from ctnet_lib import build_model
from ctnet_lib.analysis.counting.complexity import count_complexity
from ctnet_lib.analysis.timing.benchmark_cases import SuiteSettings
from ctnet_lib.analysis.timing.benchmark_suite import run_suite
from ctnet_lib.cli import main
from ctnet_lib.data import (
    DataItemError,
    SparseSampler,
    VideoClipDataset,
    VideoDecodeError,
    generate_synthetic_dataset,
    probe_video,
    read_class_list,
)
from ctnet_lib.train import load_checkpoint, make_config
from ctnet_lib.train.config import load_config_file
from ctnet_lib.validation import check_output_file, check_output_folder


def write_noisy_video(path: Path, frames: int = 16, size: int = 32, faststart: bool = True) -> Path:
    """An H.264 MP4 of random frames (so every frame takes about the same bytes) with its index (moov)
    first, as streaming sites write them: a cut file keeps a header that promises every frame."""
    generator = np.random.default_rng(0)
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = size, size, "yuv420p"
        stream.options = {"qp": "10", "g": "4"}
        stream.codec_context.time_base = Fraction(1, 25)
        for _ in range(frames):
            pixels = generator.integers(0, 256, (size, size, 3), dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(stream.encode())
    return path


def cut_video(tmp_path: Path, name: str = "cut.mp4", keep: float = 0.85) -> Path:
    """The first ``keep`` of a 16-frame video whose header (index first) survives: it promises 16 frames."""
    full = write_noisy_video(tmp_path / f"full-{name}")
    cut = tmp_path / name
    cut.write_bytes(full.read_bytes()[: int(full.stat().st_size * keep)])
    full.unlink()
    return cut


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -------------------------------------------------------------------- library entry points: exceptions


LIBRARY_CASES = [
    # configuration files
    Case("config: YAML syntax error",
         lambda t: lambda: load_config_file(write_text(t / "bad.yaml", "epochs: 3\nlr: [0.1\n")), ValueError,
         ("config file", "bad.yaml", "not valid YAML", "line 3", "expected ',' or ']'", "'name: value'")),
    Case("config: a string where a number goes",
         lambda t: lambda: load_config_file(write_text(t / "c.yaml", "lr: 0.1\nepochs: ten\n")), ValueError,
         ("c.yaml:2", "epochs: expected an integer, got 'ten'", "such as epochs: 45")),
    Case("config: 1e-3, which YAML reads as text",
         lambda t: lambda: load_config_file(write_text(t / "c.yaml", "lr: 1e-3\n")), ValueError,
         ("c.yaml:1", "lr: expected a number, got '1e-3'", "1.0e-3")),
    Case("config: a float where an integer goes",
         lambda t: lambda: load_config_file(write_text(t / "c.yaml", "batch_size: 2.5\n")), ValueError,
         ("c.yaml:1", "batch_size: expected an integer, got 2.5")),
    Case("config: a number where a list goes",
         lambda t: lambda: load_config_file(write_text(t / "c.yaml", "crop_scales: 1\n")), ValueError,
         ("c.yaml:1", "crop_scales: expected a list of numbers")),
    Case("config: a number where a mapping goes",
         lambda t: lambda: load_config_file(write_text(t / "c.yaml", "model_options: 3\n")), ValueError,
         ("c.yaml:1", "model_options: expected a mapping")),
    Case("config: 'yes' in quotes for a switch",
         lambda t: lambda: load_config_file(write_text(t / "c.yaml", "amp: 'yes'\n")), ValueError,
         ("c.yaml:1", "amp: expected true or false")),
    Case("config: unknown key",
         lambda t: lambda: load_config_file(write_text(t / "c.yaml", "# mine\nepoch: 3\n")), ValueError,
         ("c.yaml:2", "unknown key 'epoch'", "did you mean 'epochs'", "valid keys")),
    Case("config: unknown recipe",
         lambda t: lambda: load_config_file(write_text(t / "c.yaml", "recipe: ucf\n")), ValueError,
         ("c.yaml:1", "unknown recipe 'ucf'", "kinetics")),
    Case("config: top level is a list",
         lambda t: lambda: load_config_file(write_text(t / "c.yaml", "- epochs: 3\n")), ValueError,
         ("c.yaml:1", "expected a mapping of names to values", "got list")),
    Case("config: empty file", lambda t: lambda: load_config_file(write_text(t / "c.yaml", "# nothing\n")),
         ValueError, ("c.yaml", "is empty", "'epochs: 10'")),
    Case("config: a folder", lambda t: lambda: load_config_file(t), ValueError,
         ("config file", "is a folder, not a file")),
    Case("config: missing", lambda t: lambda: load_config_file(t / "nope.yaml"), FileNotFoundError,
         ("nope.yaml", "does not exist")),
    Case("make_config: a string where a number goes", lambda t: lambda: make_config(epochs="ten"), ValueError,
         ("TrainConfig field epochs: expected an integer, got 'ten'",)),
    Case("make_config: a negative learning rate", lambda t: lambda: make_config(lr=-0.1), ValueError,
         ("lr must be above 0, got -0.1",)),
    Case("make_config: a NaN learning rate", lambda t: lambda: make_config(lr=float("nan")), ValueError,
         ("lr must be above 0, got nan",)),
    Case("make_config: negative workers", lambda t: lambda: make_config(workers=-1), ValueError,
         ("workers must be at least 0, got -1",)),
    Case("make_config: momentum of 1.5", lambda t: lambda: make_config(momentum=1.5), ValueError,
         ("momentum must be in [0, 1), got 1.5",)),
    Case("make_config: min_frames without the data check",
         lambda t: lambda: make_config(min_frames=8, check_data=False), ValueError,
         ("min_frames", "check_data")),
    # class files
    Case("class file: JSON syntax error",
         lambda t: lambda: read_class_list(write_text(t / "classes.json", '{"classes": ["a"\n"b"]}')),
         ValueError, ("class file", "classes.json:2", "not valid JSON", "Expecting ',' delimiter",
                      '{"classes": [')),
    Case("class file: empty", lambda t: lambda: read_class_list(write_text(t / "classes.json", "\n")),
         ValueError, ("classes.json", "is empty", '{"classes": [')),
    Case("class file: a list at the top",
         lambda t: lambda: read_class_list(write_text(t / "classes.json", '["a", "b"]')), ValueError,
         ("classes.json", "under the key 'classes'")),
    Case("class file: a folder", lambda t: lambda: read_class_list(t), ValueError,
         ("class file", "is a folder, not a file")),
    # output paths
    Case("synthetic data set into a file",
         lambda t: lambda: generate_synthetic_dataset(write_text(t / "out", "mine"), 1, 1), ValueError,
         ("synthetic data folder", "is a file, not a folder")),
    Case("benchmark results into a folder",
         lambda t: lambda: run_suite(SuiteSettings(quick=True), t, cases=[]), ValueError,
         ("benchmark results file", "is a folder, not a file", "results.json")),
    Case("output folder inside a file",
         lambda t: lambda: check_output_folder(write_text(t / "f", "x") / "out", "--out"), ValueError,
         ("--out", "cannot be created", "is a file, not a folder")),
    Case("output file inside a file",
         lambda t: lambda: check_output_file(write_text(t / "f", "x") / "r.json", "--out"), ValueError,
         ("--out", "cannot be created", "is a file, not a folder")),
    # ranges
    Case("complexity below the total stride",
         lambda t: lambda: count_complexity(build_model("tsn_small"), (1, 3, 4, 16, 16)), ValueError,
         ("size 16", "below the network's smallest input (32 pixels)", "smallest size is 32")),
    Case("complexity with zero frames",
         lambda t: lambda: count_complexity(build_model("tsn_small"), (1, 3, 0, 64, 64)), ValueError,
         ("size below 1",)),
    Case("model with zero classes", lambda t: lambda: build_model("tsn_small", num_classes=0), ValueError,
         ("num_classes must be at least 1, got 0",)),
    Case("benchmark with zero repeats", lambda t: lambda: SuiteSettings(repeats=0), ValueError,
         ("repeats must be at least 1, got 0",)),
    Case("dataset min_frames of 0", lambda t: lambda: dataset(write_list(t, "a.mp4 0\n"), min_frames=0),
         ValueError, ("min_frames must be at least 1, got 0",)),
    # videos
    Case("video cut short (header kept)", lambda t: lambda: probe_video(cut_video(t)), VideoDecodeError,
         ("cut.mp4", "decodes only", "of the 16 frames its header promises", "re-encode")),
    Case("video cut short, in a list (pre-flight check)", lambda t: after(
        (write_video(t / "ok.mp4"), cut_video(t)),
        lambda: dataset(write_list(t, "ok.mp4 0\ncut.mp4 1\n")).check()),
         DataItemError,
         ("1 of the 2 items", "list.txt:2", "cut.mp4", "of the 16 frames", "bad_items='skip'")),
    Case("video shorter than min_frames (pre-flight check)", lambda t: after(
        (write_video(t / "ok.mp4"), write_video(t / "short.mp4", frames=2)),
        lambda: dataset(write_list(t, "ok.mp4 0\nshort.mp4 1\n"), min_frames=4).check()),
         DataItemError, ("1 of the 2 items", "fewer than min_frames=4", "list.txt:2", "short.mp4 (2 frames)",
                         "lower min_frames")),
]


@pytest.mark.parametrize("case", LIBRARY_CASES, ids=[case.id for case in LIBRARY_CASES])
def test_library_entry_points_raise_errors_that_name_the_input_and_the_fix(case, tmp_path):
    call = case.make(tmp_path)
    with pytest.raises(case.error) as raised:
        call()
    message = str(raised.value)
    assert "\n" not in message, message
    for fragment in case.fragments:
        assert fragment in message, message


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in read-only folders")
@pytest.mark.parametrize("check", [check_output_folder, check_output_file])
def test_an_output_in_a_read_only_folder_is_refused(check, tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(ValueError, match="is not writable"):
            check(folder / "out", "--out")
    finally:
        folder.chmod(0o755)


# -------------------------------------------------------------------- videos: partly decodable, short


def test_the_probe_returns_the_frames_of_whole_videos_and_frame_folders(tmp_path):
    durations_ms = [150 if i % 3 == 0 else 20 for i in range(12)]  # variable frame rate
    assert probe_video(write_video(tmp_path / "vfr.mp4", frames=12, durations_ms=durations_ms)) == 12
    assert probe_video(write_noisy_video(tmp_path / "noise.mp4")) == 16
    assert probe_video(write_video(tmp_path / "two.mp4", frames=2)) == 2


def test_a_video_cut_short_is_skipped_and_counted_with_bad_items_skip(tmp_path):
    write_video(tmp_path / "ok.mp4")
    cut_video(tmp_path)
    items = VideoClipDataset(write_list(tmp_path, "cut.mp4 1\nok.mp4 0\n"), None, SparseSampler(4),
                             bad_items="skip")
    problems = items.check()
    assert len(problems) == 1 and "list.txt:1" in problems[0] and "of the 16 frames" in problems[0]
    clip, label, skipped = items[0]  # the cut video is replaced by the next readable one
    assert (label, skipped) == (0, 1) and clip.shape == (3, 4, 32, 32)
    assert items[1][1:] == (0, 0)


def test_items_shorter_than_a_clip_are_listed_after_the_check(tmp_path):
    write_video(tmp_path / "ok.mp4", frames=8)
    write_video(tmp_path / "short.mp4", frames=2)
    items = dataset(write_list(tmp_path, "ok.mp4 0\nshort.mp4 1\n"))  # 4 segments
    assert items.short_items() == []  # not checked yet
    items.check()
    assert items.short_items() == [f"{tmp_path / 'list.txt'}:2: {tmp_path / 'short.mp4'} (2 frames)"]


def test_training_on_short_videos_warns_once_and_counts_them_in_the_metrics(tmp_path, caplog, capsys):
    write_video(tmp_path / "short.mp4", frames=2)
    train_list = write_list(tmp_path, f"{write_video(tmp_path / 'long.mp4').name} 1\nshort.mp4 0\n")
    argv = _train_argv(tmp_path, str(train_list), "--epochs", "2")
    with caplog.at_level(logging.WARNING):
        assert main(argv) == 0
    warnings = [message for message in caplog.messages if "fewer frames than the 4 of a clip" in message]
    assert len(warnings) == 1, warnings
    assert "1 of the 2 training items" in warnings[0] and "list.txt:2" in warnings[0]
    assert "short.mp4 (2 frames)" in warnings[0] and "--min-frames 4" in warnings[0]
    metrics = pd.read_csv(tmp_path / "run" / "metrics.csv")
    assert list(metrics["short_items"]) == [1, 1]


# ------------------------------------------------------------------------- ctnet: one line, exit code 2


def _evaluate(tmp_path: Path, runs, *extra: str) -> list[str]:
    return ["evaluate", str(runs[1]), "--device", "cpu", *extra]


def _explain(tmp_path: Path, runs, *extra: str) -> list[str]:
    return ["explain", "--model", "ctnet_small", "--checkpoint", str(runs[1]), "--video",
            str(write_video(tmp_path / "clip.mp4")), *extra]


def _list(tmp_path: Path) -> str:
    return str(write_list(tmp_path, f"{write_video(tmp_path / 'ok.mp4').name} 0\n"))


def _config(tmp_path: Path, text: str) -> str:
    return str(write_text(tmp_path / "config.yaml", text))


@pytest.fixture(scope="module")
def runs(tiny_runs):
    config, run_dir = tiny_runs
    return config, run_dir / "ctnet_small"


CLI_CASES = [
    # configuration and class files
    CliCase("--config with a syntax error", lambda t, r: _train_argv(
        t, _list(t), "--config", _config(t, "epochs: [1\n")), ("config.yaml", "not valid YAML", "line 2")),
    CliCase("--config with a string where a number goes", lambda t, r: _train_argv(
        t, _list(t), "--config", _config(t, "lr: fast\n")), ("config.yaml:1", "lr: expected a number")),
    CliCase("--config with an unknown key", lambda t, r: _train_argv(
        t, _list(t), "--config", _config(t, "batchsize: 8\n")),
            ("config.yaml:1", "'batchsize'", "batch_size")),
    CliCase("--config whose top level is a list", lambda t, r: _train_argv(
        t, _list(t), "--config", _config(t, "- 1\n- 2\n")), ("config.yaml:1", "expected a mapping")),
    CliCase("--config that is empty", lambda t, r: _train_argv(t, _list(t), "--config", _config(t, "")),
            ("config.yaml", "is empty")),
    CliCase("--config that is a folder", lambda t, r: _train_argv(t, _list(t), "--config", str(t)),
            ("config file", "is a folder")),
    CliCase("--class-file with a JSON syntax error", lambda t, r: _train_argv(
        t, _list(t), "--class-file", str(write_text(t / "c.json", '{"classes": ["a",]}'))),
            ("c.json:1", "not valid JSON", "column")),
    CliCase("--class-file that is a folder", lambda t, r: _evaluate(t, r, "--class-file", str(t)),
            ("class file", "is a folder")),
    # output paths
    CliCase("evaluate --output is a file", lambda t, r: _evaluate(
        t, r, "--output", str(write_text(t / "out", "mine"))), ("--output", "out is a file, not a folder")),
    CliCase("evaluate --output inside a file", lambda t, r: _evaluate(
        t, r, "--output", str(write_text(t / "file", "mine") / "out")), ("--output", "cannot be created")),
    CliCase("data synth --out is a file", lambda t, r: ["data", "synth", "--out", str(write_text(
        t / "out", "mine")), "--train-per-class", "1", "--val-per-class", "1"],
            ("out is a file, not a folder",)),
    CliCase("explain --out is a file",
            lambda t, r: _explain(t, r, "--out", str(write_text(t / "out", "mine"))),
            ("--out", "is a file, not a folder")),
    CliCase("train --run-dir is a file", lambda t, r: [*_train_argv(t, _list(t)), "--run-dir", str(
        write_text(t / "out", "mine"))], ("run folder", "is a file, not a folder")),
    CliCase("benchmark --out is a folder", lambda t, r: ["benchmark", "--quick", "--out", str(t)],
            ("is a folder, not a file",)),
    CliCase("benchmark --out inside a file", lambda t, r: ["benchmark", "--quick", "--out", str(
        write_text(t / "file", "mine") / "out.json")], ("cannot be created",)),
    CliCase("report --output-dir is a file", lambda t, r: ["report", "--preset", "smoke", "00_quickstart",
                                                          "--output-dir", str(write_text(t / "out", "mine"))],
            ("--output-dir", "is a file, not a folder")),
    # numbers out of range
    CliCase("complexity with a negative frame count",
            lambda t, r: ["complexity", "tsn_small", "--frames", "-1"],
            ("frames must be at least 1, got -1",)),
    CliCase("complexity with a size of 0", lambda t, r: ["complexity", "tsn_small", "--size", "0"],
            ("size must be at least 1, got 0",)),
    CliCase("complexity below the total stride", lambda t, r: ["complexity", "ctnet_small", "--size", "16"],
            ("size 16", "smallest size is 32")),
    CliCase("complexity with 0 classes", lambda t, r: ["complexity", "tsn_small", "--classes", "0"],
            ("classes must be at least 1, got 0",)),
    CliCase("train with 0 epochs", lambda t, r: [*_train_argv(t, _list(t)), "--epochs", "0"],
            ("epochs must be at least 1, got 0",)),
    CliCase("train with a negative batch size",
            lambda t, r: [*_train_argv(t, _list(t)), "--batch-size", "-2"],
            ("batch_size must be at least 1, got -2",)),
    CliCase("train with lr 0", lambda t, r: [*_train_argv(t, _list(t)), "--lr", "0"],
            ("lr must be above 0",)),
    CliCase("train with negative workers", lambda t, r: [*_train_argv(t, _list(t)), "--workers", "-1"],
            ("workers must be at least 0",)),
    CliCase("train with label smoothing of 2", lambda t, r: [*_train_argv(t, _list(t)), "--label-smoothing",
                                                            "2"], ("label_smoothing must be in [0, 1)",)),
    CliCase("train with --min-frames 0", lambda t, r: [*_train_argv(t, _list(t)), "--min-frames", "0"],
            ("min_frames must be at least 1",)),
    CliCase("evaluate with 0 clips", lambda t, r: _evaluate(t, r, "--clips", "0", "--output", str(t / "out")),
            ("clips must be at least 1",)),
    CliCase("evaluate with batch size 0", lambda t, r: _evaluate(t, r, "--batch-size", "0"),
            ("batch_size must be at least 1",)),
    CliCase("evaluate with negative workers", lambda t, r: _evaluate(t, r, "--workers", "-1"),
            ("workers must be at least 0",)),
    CliCase("explain with 0 fps", lambda t, r: _explain(t, r, "--fps", "0", "--out", str(t / "out")),
            ("--fps must be at least 1",)),
    CliCase("explain with a label outside the classes", lambda t, r: _explain(
        t, r, "--label", "6", "--out", str(t / "out")), ("--label 6", "outside the 6 classes")),
    CliCase("benchmark with 0 threads", lambda t, r: ["benchmark", "--threads", "0", "--out", str(t / "out")],
            ("threads must be at least 1",)),
    CliCase("report with a negative cell timeout", lambda t, r: [
        "report", "--preset", "smoke", "00_quickstart", "--cell-timeout", "-1",
        "--output-dir", str(t / "out")],
            ("--cell-timeout must be at least 0",)),
    CliCase("report -p with a value of the wrong type", lambda t, r: [
        "report", "--preset", "smoke", "00_quickstart", "-p", "num_frames", "many", "--output-dir",
        str(t / "out")], ("num_frames", "expected int")),
    # videos
    CliCase("a training video cut short", lambda t, r: _train_argv(
        t, str(after(cut_video(t), write_list(t, "ok.mp4 0\ncut.mp4 1\n")))),
            ("list.txt:2", "cut.mp4", "decodes only", "of the 16 frames", "bad_items='skip'")),
    CliCase("a training video shorter than --min-frames", lambda t, r: _train_argv(
        t, str(after(write_video(t / "short.mp4", frames=2), write_list(t, "ok.mp4 0\nshort.mp4 1\n"))),
        "--min-frames", "4"), ("list.txt:2", "short.mp4 (2 frames)", "min_frames=4")),
    CliCase("--min-frames without the data check", lambda t, r: _train_argv(
        t, _list(t), "--min-frames", "4", "--no-check-data"), ("min_frames", "--no-check-data")),
]


def _snapshot(tmp_path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(tmp_path)): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", CLI_CASES, ids=[case.id for case in CLI_CASES])
def test_ctnet_answers_bad_arguments_with_one_line_and_exit_code_2(case, tmp_path, runs, capsys):
    argv = case.argv(tmp_path, runs)
    before = _snapshot(tmp_path)
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith(f"ctnet {argv[0]}: error:"), err
    for fragment in case.fragments:
        assert fragment in err, err
    assert _snapshot(tmp_path) == before  # nothing written, an existing output file untouched
    assert not (tmp_path / "run").exists()


def test_a_checkpoint_still_loads_after_the_field_checks(runs):
    """Configs saved by training pass the type checks when a checkpoint is read back."""
    state = load_checkpoint(runs[1] / "best.pt")
    assert make_config(None, **state["config"]).to_dict() == state["config"]

