"""Gradient accumulation: N micro-batches of B clips make the same optimiser step as one batch of N*B
(a model without BatchNorm), with gradient clipping, fp16 loss scaling and DDP; the schedule counts
optimiser steps, and an accumulating run resumes exactly."""

import os

import pytest
import torch
from ports import free_port
from test_train_ddp import run_ranks, set_rank_environment
from test_train_engine import brightness_clips
from test_train_resume import NoisyClips
from torch import nn

import ctnet_lib.train.engine as engine
from ctnet_lib.train import fit, load_checkpoint, make_config
from ctnet_lib.train.device import Precision
from ctnet_lib.train.distributed import leave_process_group


class NoBatchNormNet(nn.Module):
    """x: (N, 3, T, H, W) -> logits (N, 2): 3D conv, ReLU, global pool, fc; each clip independent of the
    others in its batch, so micro-batches add up to the whole batch exactly."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv3d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3, 4)))


def config(run_dir, **changes):
    values = {"epochs": 2, "batch_size": 8, "base_batch_size": 8, "lr": 0.5, "warmup_epochs": 0.5,
              "dropout": 0.0, "clip_grad_norm": 0.5, "workers": 0, "device": "cpu", "run_dir": str(run_dir),
              "progress": False, "seed": 5}
    return make_config("something", **{**values, **changes})


def trained(run_dir, data_size: int = 16, **changes) -> nn.Module:
    torch.manual_seed(0)
    model = NoBatchNormNet()
    fit(model, brightness_clips(data_size), brightness_clips(4, seed=1), config(run_dir, **changes))
    return model


def assert_close(a: nn.Module, b: nn.Module, **tolerance) -> None:
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        torch.testing.assert_close(x, y, msg=name, **tolerance)


@pytest.mark.parametrize(("accumulate", "clip_grad_norm"), [(2, None), (4, None), (2, 0.5)])
def test_accumulated_micro_batches_step_like_the_whole_batch(tmp_path, accumulate, clip_grad_norm):
    whole = trained(tmp_path / "whole", clip_grad_norm=clip_grad_norm)
    accumulated = trained(tmp_path / "accumulated", accumulate=accumulate, clip_grad_norm=clip_grad_norm)
    assert_close(whole, accumulated, rtol=1e-5, atol=1e-6)
    steps = 2 * 16 // 8  # epochs x batches of 8
    assert load_checkpoint(tmp_path / "accumulated" / "last.pt")["schedule"]["iteration"] == steps


def test_the_schedule_counts_optimiser_steps_with_a_short_last_group(tmp_path):
    """12 clips in micro-batches of 4: groups of 2 and 1 micro-batches, 2 steps per epoch."""
    trained(tmp_path, data_size=12, accumulate=2)
    assert load_checkpoint(tmp_path / "last.pt")["schedule"]["iteration"] == 2 * 2


def test_an_accumulating_run_resumes_exactly(tmp_path):
    def run(run_dir, **options):
        torch.manual_seed(0)
        model = NoBatchNormNet()
        fit(model, NoisyClips(16), brightness_clips(4, seed=1), config(run_dir, epochs=3, accumulate=2),
            **options)
        return model

    straight = run(tmp_path / "straight")
    run(tmp_path / "resumed", stop_after_epochs=1)
    resumed = run(tmp_path / "resumed")
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_accumulation_works_with_fp16_loss_scaling(tmp_path, monkeypatch):
    """CPU fp16 autocast stands in for an older GPU: the GradScaler scales every micro-batch, unscales
    and clips once per step."""
    monkeypatch.setattr(engine, "choose_precision", lambda device, amp=True: Precision("cpu", torch.float16))
    whole = trained(tmp_path / "whole")
    accumulated = trained(tmp_path / "accumulated", accumulate=2)
    assert_close(whole, accumulated, rtol=2e-2, atol=2e-3)
    assert load_checkpoint(tmp_path / "accumulated" / "last.pt")["scaler"]["scale"] > 0


def train_ddp_rank(rank: int, world_size: int, port: int, folder: str) -> None:
    set_rank_environment(rank, world_size, port)
    torch.set_num_threads(1)
    model = trained(os.path.join(folder, "ddp"), accumulate=2)
    torch.save(model.state_dict(), os.path.join(folder, f"rank{rank}.pt"))
    leave_process_group()


@pytest.mark.slow
def test_ddp_with_accumulation_steps_like_one_process_with_the_whole_batch(tmp_path):
    """Two ranks x 2 micro-batches of 2 clips (gradients all-reduced on the last micro-batch only) equal
    one process with batches of 8."""
    single = trained(tmp_path / "single")
    run_ranks(train_ddp_rank, (2, free_port(), str(tmp_path)), deadline_s=120)
    for rank in (0, 1):
        weights = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        for name, value in single.state_dict().items():
            torch.testing.assert_close(weights[name], value, rtol=1e-5, atol=1e-6, msg=name)
