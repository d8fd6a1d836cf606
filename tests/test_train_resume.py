"""Kill-and-resume: a run stopped after its first epoch and resumed from last.pt ends with exactly the
weights of an uninterrupted run (CPU, fixed seed, no worker processes); runs resume on another device
and with another precision than the one that wrote the checkpoint."""

import math

import pytest
import torch
from test_train_engine import TinyVideoNet, brightness_clips
from torch.utils.data import Dataset

import ctnet_lib.train.engine as engine
from ctnet_lib.train import fit, load_checkpoint, make_config
from ctnet_lib.train.device import Precision


class NoisyClips(Dataset):
    """``brightness_clips`` plus fresh noise from torch's global generator on every read, so the
    result depends on the random state being restored on resume."""

    def __init__(self, n: int) -> None:
        self.data = brightness_clips(n)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        clip, label = self.data[index]
        return clip + 0.5 * torch.randn(clip.shape), label


def run_config(run_dir, epochs=3):
    return make_config("something", epochs=epochs, batch_size=8, base_batch_size=8, lr=0.05, warmup_epochs=1,
                       dropout=0.5, workers=0, device="cpu", run_dir=str(run_dir), progress=False, seed=3)


def fresh_model(seed: int) -> TinyVideoNet:
    torch.manual_seed(seed)
    return TinyVideoNet(dropout=0.5)


def test_resumed_run_matches_uninterrupted_run(tmp_path):
    straight = fresh_model(0)
    fit(straight, NoisyClips(40), brightness_clips(8, seed=1), run_config(tmp_path / "straight"))

    interrupted_dir = tmp_path / "interrupted"
    first = fit(fresh_model(0), NoisyClips(40), brightness_clips(8, seed=1), run_config(interrupted_dir),
                stop_after_epochs=1)
    assert first.epochs_done == 1 and not first.complete
    assert load_checkpoint(interrupted_dir / "last.pt")["epoch"] == 1

    torch.manual_seed(1234)  # the resumed process starts from another random state and other weights
    resumed = fresh_model(99)
    result = fit(resumed, NoisyClips(40), brightness_clips(8, seed=1), run_config(interrupted_dir))
    assert result.epochs_trained_now == 2 and result.complete
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert list(result.history["epoch"]) == [1, 2, 3]
    straight_state = load_checkpoint(tmp_path / "straight" / "last.pt")
    resumed_state = load_checkpoint(interrupted_dir / "last.pt")
    assert straight_state["schedule"] == resumed_state["schedule"]
    assert torch.equal(straight_state["rng"][0]["torch"], resumed_state["rng"][0]["torch"])


@pytest.mark.filterwarnings("ignore:for .*copying from a non-meta parameter")
def test_a_complete_run_resumes_on_a_device_other_than_the_cpu(tmp_path, monkeypatch):
    """On a GPU the run's device is CUDA; ``meta`` stands in for it here. The checkpoint must be read
    onto the CPU, not onto the run's device, or its random states cannot be restored (as when the
    training report reuses a complete run)."""
    config = run_config(tmp_path, epochs=1)
    fit(fresh_model(0), NoisyClips(16), brightness_clips(8, seed=1), config)
    saved = load_checkpoint(tmp_path / "last.pt")
    monkeypatch.setattr(engine, "resolve_device", lambda *args, **kwargs: torch.device("meta"))
    torch.manual_seed(1234)
    model = fresh_model(99)
    result = fit(model, NoisyClips(16), brightness_clips(8, seed=1), config)
    assert result.complete and result.epochs_trained_now == 0
    assert next(model.parameters()).device.type == "meta"
    assert torch.equal(torch.get_rng_state(), saved["rng"][0]["torch"])  # this rank's random state is back


def test_a_run_saved_without_loss_scaling_resumes_with_fp16(tmp_path, monkeypatch):
    """fp32 (CPU) or bf16 runs save the empty state of a disabled GradScaler; where fp16 is chosen on
    resumption (an older GPU; CPU fp16 autocast stands in for it), the scaler starts afresh."""
    fit(fresh_model(0), NoisyClips(16), brightness_clips(8, seed=1), run_config(tmp_path, epochs=2),
        stop_after_epochs=1)
    assert load_checkpoint(tmp_path / "last.pt")["scaler"] == {}
    monkeypatch.setattr(engine, "choose_precision", lambda device, amp=True: Precision("cpu", torch.float16))
    result = fit(fresh_model(0), NoisyClips(16), brightness_clips(8, seed=1), run_config(tmp_path, epochs=2))
    assert result.complete and result.epochs_trained_now == 1
    assert math.isfinite(result.history["train_loss"].iloc[-1])
    assert load_checkpoint(tmp_path / "last.pt")["scaler"]["scale"] > 0  # now an active fp16 scaler


def test_resuming_removes_what_a_save_killed_midway_left_and_nothing_else(tmp_path, caplog):
    """A SIGKILL during ``save_checkpoint`` leaves its hidden temporary beside last.pt (never a
    half-written last.pt); the resumed run removes it, but not the temporaries of other writers' files."""
    config = run_config(tmp_path, epochs=2)
    fit(fresh_model(0), NoisyClips(16), brightness_clips(8, seed=1), config, stop_after_epochs=1)
    killed = tmp_path / ".last.0123456789ab.tmp.pt"
    killed.write_bytes(b"half a checkpoint")
    other = tmp_path / ".predictions.0123456789ab.tmp.csv"  # not a file of the run
    other.write_text("another writer's")
    result = fit(fresh_model(0), NoisyClips(16), brightness_clips(8, seed=1), config)
    assert result.complete and result.epochs_trained_now == 1
    assert not killed.exists() and other.exists()
    assert f"removed {killed}, left by an interrupted save" in caplog.text
