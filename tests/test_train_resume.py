"""Kill-and-resume: a run stopped after its first epoch and resumed from last.pt ends with exactly the
weights of an uninterrupted run (CPU, fixed seed, no worker processes)."""

import torch
from test_train_engine import TinyVideoNet, brightness_clips
from torch.utils.data import Dataset

from ctnet_lib.train import fit, load_checkpoint, make_config


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


def run_config(run_dir):
    return make_config("something", epochs=3, batch_size=8, base_batch_size=8, lr=0.05, warmup_epochs=1,
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
