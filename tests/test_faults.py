"""Faults: training killed with SIGKILL (mid-epoch, or while writing a checkpoint) resumes from the last
complete epoch to the weights of an uninterrupted run; a new run never damages an earlier one; a
broken video either stops training with its list-file line or is skipped, counted and logged, without
killing a DataLoader worker."""

import json
import logging
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import yaml
from test_bad_input import write_list, write_video
from test_train_engine import TinyVideoNet, brightness_clips, tiny_config
from torch import nn

from ctnet_lib.data import DataItemError, SparseSampler, VideoClipDataset, eval_transform
from ctnet_lib.train import fit, load_checkpoint, save_checkpoint

TESTS = Path(__file__).parent
EPOCHS = 3

# A training process: TinyVideoNet on noisy clips (so the random state matters), 3 epochs of 5 steps,
# one thread (bitwise reproducible). Modes: 'run' trains to the end (or resumes) and saves the final
# weights; 'kill-in-epoch' SIGKILLs itself halfway through epoch 2; 'kill-in-save' while writing the
# checkpoint of epoch 2 (half a file written).
SCRIPT = textwrap.dedent(f"""
    import os, signal, sys
    import torch
    sys.path.insert(0, {str(TESTS)!r})
    from test_train_resume import NoisyClips, fresh_model, run_config
    from ctnet_lib.train import fit

    mode, run_dir, weights = sys.argv[1:]
    torch.set_num_threads(1)
    save = torch.save

    def dying_save(state, path, *args, **kwargs):
        if mode == "kill-in-save" and isinstance(state, dict) and state.get("epoch") == 2:
            with open(path, "wb") as file:
                file.write(b"half a checkpoint")
            os.kill(os.getpid(), signal.SIGKILL)
        return save(state, path, *args, **kwargs)

    torch.save = dying_save

    class Clips(NoisyClips):
        def set_epoch(self, epoch):
            self.epoch, self.reads = epoch, 0

        def __getitem__(self, index):
            self.reads += 1
            if mode == "kill-in-epoch" and self.epoch == 2 and self.reads == 20:
                os.kill(os.getpid(), signal.SIGKILL)
            return super().__getitem__(index)

    model = fresh_model(0)
    fit(model, Clips(40), NoisyClips(8), run_config(run_dir, epochs={EPOCHS}))
    save(model.state_dict(), weights)
""")


def train_process(tmp_path: Path, mode: str, run_dir: Path) -> subprocess.CompletedProcess:
    script = tmp_path / "train_process.py"
    script.write_text(SCRIPT)
    return subprocess.run([sys.executable, str(script), mode, str(run_dir), str(tmp_path / f"{mode}.pt")],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict[str, torch.Tensor]:
    folder = tmp_path_factory.mktemp("uninterrupted")
    finished = train_process(folder, "run", folder / "run")
    assert finished.returncode == 0, finished.stderr
    return torch.load(folder / "run.pt", weights_only=True)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["kill-in-epoch", "kill-in-save"])
def test_a_run_killed_with_sigkill_resumes_to_the_uninterrupted_weights(tmp_path, mode, uninterrupted):
    run_dir = tmp_path / "run"
    killed = train_process(tmp_path, mode, run_dir)
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    assert load_checkpoint(run_dir / "last.pt")["epoch"] == 1  # every final file is whole
    assert load_checkpoint(run_dir / "best.pt")["epoch"] == 1
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["epochs"] == EPOCHS
    json.loads((run_dir / "metrics.json").read_text())

    resumed = train_process(tmp_path, "run", run_dir)
    assert resumed.returncode == 0, resumed.stderr
    weights = torch.load(tmp_path / "run.pt", weights_only=True)
    for name, value in uninterrupted.items():
        assert torch.equal(weights[name], value), name
    assert [row["epoch"] for row in json.loads((run_dir / "metrics.json").read_text())] == [1, 2, 3]


# ------------------------------------------------------------------------ a new run and an earlier one


class Failing(torch.utils.data.Dataset):
    """A data set whose first read fails: the new run dies before its first checkpoint."""

    def __len__(self) -> int:
        return 16

    def __getitem__(self, index: int):
        raise RuntimeError("the machine went away")


def test_a_new_run_moves_the_earlier_run_aside_and_never_damages_it(tmp_path):
    torch.manual_seed(0)
    fit(TinyVideoNet(), brightness_clips(16), brightness_clips(8, seed=1), tiny_config(tmp_path, epochs=2))
    before = {name: (tmp_path / name).read_bytes() for name in ("config.yaml", "last.pt", "best.pt",
                                                                "metrics.csv", "metrics.json")}

    with pytest.raises(RuntimeError, match="went away"):
        fit(TinyVideoNet(), Failing(), brightness_clips(8, seed=1),
            tiny_config(tmp_path, epochs=5, lr=0.05, resume=False))
    earlier = tmp_path / "replaced-1"
    assert {name: (earlier / name).read_bytes() for name in before} == before  # intact, together
    assert not (tmp_path / "last.pt").exists() and not (tmp_path / "best.pt").exists()
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["epochs"] == 5  # the new run's own
    assert json.loads((tmp_path / "metrics.json").read_text()) == []

    result = fit(TinyVideoNet(), brightness_clips(16), brightness_clips(8, seed=1),
                 tiny_config(tmp_path, epochs=1, resume=False))
    assert result.complete and (tmp_path / "replaced-2" / "config.yaml").is_file()
    assert (earlier / "last.pt").read_bytes() == before["last.pt"]


# ----------------------------------------------------------------------------------- a broken video


class Clip3D(nn.Module):
    """(N, 3, T, H, W) -> (N, 2) without BatchNorm, small enough for real decoded clips."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(x.mean(dim=(2, 3, 4)))


def videos_with_one_broken(tmp_path: Path) -> Path:
    for index in range(3):
        write_video(tmp_path / f"ok{index}.mp4")
    (tmp_path / "broken.mp4").write_bytes((tmp_path / "ok0.mp4").read_bytes()[:300])
    return write_list(tmp_path, "ok0.mp4 0\nok1.mp4 1\nbroken.mp4 0\nok2.mp4 1\n", name="train.txt")


def video_set(list_file: Path, bad_items: str) -> VideoClipDataset:
    return VideoClipDataset(list_file, None, SparseSampler(4, train=True), eval_transform(32), seed=0,
                            bad_items=bad_items)


@pytest.mark.parametrize("workers", [0, 2])
def test_skipping_bad_items_ends_the_epoch_counts_and_logs_them(tmp_path, workers, caplog):
    train_set = video_set(videos_with_one_broken(tmp_path), "skip")
    assert len(train_set.check()) == 1
    caplog.set_level(logging.WARNING)
    config = tiny_config(tmp_path / "run", epochs=2, batch_size=2, base_batch_size=2, workers=workers)
    result = fit(Clip3D(), train_set, brightness_clips(4), config)
    assert result.complete and list(result.history["skipped"]) == [1, 1]
    if workers == 0:  # worker processes log to their own stderr
        assert "train.txt:3" in caplog.text and "broken.mp4" in caplog.text


def test_failing_on_a_bad_item_names_its_line_in_one_line_from_a_worker(tmp_path):
    train_set = video_set(videos_with_one_broken(tmp_path), "fail")
    config = tiny_config(tmp_path / "run", epochs=1, batch_size=2, base_batch_size=2, workers=2)
    with pytest.raises(DataItemError) as raised:
        fit(Clip3D(), train_set, brightness_clips(4), config)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"{tmp_path / 'train.txt'}:3: ")
    assert "broken.mp4" in message and "re-encode" in message


def test_a_checkpoint_written_before_new_config_fields_resumes(tmp_path):
    """Fields added to TrainConfig later (accumulate, bad_items, ...) take their defaults."""
    config = tiny_config(tmp_path, epochs=2)
    torch.manual_seed(0)
    fit(TinyVideoNet(), brightness_clips(16), brightness_clips(8, seed=1), config, stop_after_epochs=1)
    state = load_checkpoint(tmp_path / "last.pt")
    for name in ("accumulate", "bad_items", "check_data", "frame_template", "first_frame_index"):
        del state["config"][name]
    save_checkpoint(tmp_path / "last.pt", state)
    result = fit(TinyVideoNet(), brightness_clips(16), brightness_clips(8, seed=1), config)
    assert result.complete and result.epochs_trained_now == 1
