"""``ctnet explain`` end to end on a video that the synthetic generator did not write, and its one-line
errors."""

import json

import av
import numpy as np
import pytest
import torch
from PIL import Image

from ctnet_lib.cli import main
from ctnet_lib.data import open_video
from ctnet_lib.train import load_checkpoint, load_trained_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def foreign_video(tmp_path_factory):
    """An MPEG-4 part 2 video of 20 frames, 60x80 (not square, not H.264): a square crossing a gradient."""
    path = tmp_path_factory.mktemp("video") / "square crossing.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 80, 60, "yuv420p"
        for i in range(20):
            frame = np.zeros((60, 80, 3), np.uint8)
            frame[..., 0] = np.linspace(0, 255, 80, dtype=np.uint8)[None]
            frame[20:40, 3 * i : 3 * i + 15] = 255
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    return path


def test_explain_writes_grid_clip_and_volume_for_any_video(tiny_runs, foreign_video, tmp_path, capsys):
    _, run_dir = tiny_runs
    out = tmp_path / "out"
    code = main(["explain", "--model", "ctnet_small", "--checkpoint", str(run_dir / "ctnet_small"),
                 "--video", str(foreign_video), "--method", "gradcam", "--target", "2", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    stem = out / foreign_video.name
    volume = np.load(f"{stem}.ctnet_small.saliency.npy")
    assert volume.shape == (4, 32, 32) and volume.dtype == np.float32
    assert volume.min() >= 0 and volume.max() <= 1
    assert np.load(f"{stem}.ctnet_small.raw.npy").shape == (4, 1, 1)  # Grad-CAM at the 1x1 last stage
    summary = json.loads((out / f"{foreign_video.name}.ctnet_small.explain.json").read_text())
    assert summary["target"] == 2 and summary["method"] == "gradcam"
    assert summary["frame_indices"] == [2, 7, 12, 17]  # the centres of 4 segments of 20 frames
    assert Image.open(f"{stem}.grid.png").size[0] > 400
    with Image.open(f"{stem}.ctnet_small.overlay.gif") as gif:
        assert gif.n_frames == 4 and gif.size == (32, 32)
    reader = open_video(f"{stem}.ctnet_small.overlay.mp4")
    assert reader.num_frames == 4 and tuple(reader.get_frames([0]).shape) == (1, 32, 32, 3)
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []  # no temporary file left


@pytest.mark.parametrize(("change", "message"), [
    ({"--video": "missing.mp4"}, "missing.mp4 does not exist"),
    ({"--model": "ctnet_r51"}, "unknown model preset 'ctnet_r51'"),
    ({"--model": "tsn_small"}, "holds a ctnet_small, which does not fit --model tsn_small (pass --model "
                               "ctnet_small or another checkpoint)"),
    ({"--target": "label"}, "needs the clip's label"),
])
def test_bad_input_ends_with_one_line_and_exit_2(tiny_runs, foreign_video, tmp_path, capsys, change, message):
    _, run_dir = tiny_runs
    arguments = {"--model": "ctnet_small", "--checkpoint": str(run_dir / "ctnet_small"),
                 "--video": str(foreign_video), "--out": str(tmp_path / "out")}
    arguments |= {key: str(tmp_path / value) if key == "--video" else value for key, value in change.items()}
    code = main(["explain", *[item for pair in arguments.items() for item in pair]])
    error = capsys.readouterr().err
    assert code == 2 and message in error and error.count("\n") == 1, error
    assert not (tmp_path / "out").exists()


def test_checkpoint_of_an_older_version_loads_and_of_a_newer_one_says_so(tiny_runs, tmp_path):
    _, run_dir = tiny_runs
    state = load_checkpoint(run_dir / "ctnet_small" / "best.pt")
    del state["config"]["accumulate"]  # a field added to TrainConfig after the checkpoint was written
    torch.save(state, tmp_path / "older.pt")
    config = load_trained_model(tmp_path / "older.pt", model="ctnet_small").config
    assert config.accumulate == 1 and config.model == "ctnet_small"
    state["config"]["warp_drive"] = True
    torch.save(state, tmp_path / "newer.pt")
    with pytest.raises(ValueError, match=r"newer\.pt has config fields .* \(\['warp_drive'\]\)"):
        load_trained_model(tmp_path / "newer.pt")
