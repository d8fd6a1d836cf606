"""DDP on the CPU: two processes (gloo) train a tiny model, end with identical weights, and only rank 0
writes checkpoints and metrics; an error on one rank ends both promptly with the same error; after
``ctnet train`` under DDP the final test runs on each rank's device and shard, printed once."""

import contextlib
import json
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from ports import free_port
from test_train_command import parse
from test_train_engine import TinyVideoNet, brightness_clips
from torch.utils.data import TensorDataset

import ctnet_lib.train.command as command
import ctnet_lib.train.engine as engine
import ctnet_lib.train.experiment as experiment
from ctnet_lib.train import fit, load_checkpoint, make_config, resolve_data
from ctnet_lib.train.distributed import leave_process_group

# collectives of the failure test give up after this; agreeing on an error takes a second or two, so a
# rank that reports the other rank's error (not a gloo time-out) shows they agreed
GROUP_TIMEOUT_S = 120
# how long two ranks may take before a test ends them and fails: 10x what a loaded 2-core machine needs
RANKS_DEADLINE_S = 600


def set_rank_environment(rank: int, world_size: int, port: int) -> None:
    """What torchrun sets for each process."""
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank),
                       "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world_size)})


def run_ranks(worker, args: tuple, deadline_s: float = RANKS_DEADLINE_S) -> None:
    """``mp.spawn`` two ranks of ``worker``; fail (after ending them) when they outlive ``deadline_s``
    (a hang ends this test, not the test run)."""
    processes = mp.spawn(worker, args=args, nprocs=2, join=False)
    started = time.monotonic()
    while not processes.join(timeout=1):
        if time.monotonic() - started > deadline_s:
            for process in processes.processes:
                process.terminate()
            pytest.fail(f"the ranks did not end within {deadline_s} s")


def train_one_rank(rank: int, world_size: int, port: int, folder: str) -> None:
    set_rank_environment(rank, world_size, port)
    torch.set_num_threads(1)
    save = engine.save_checkpoint

    def recording_save(path, state):
        open(os.path.join(folder, f"saved_by_rank{rank}"), "a").close()
        return save(path, state)

    engine.save_checkpoint = recording_save
    torch.manual_seed(rank)  # different initial weights per rank: DDP must broadcast rank 0's
    model = TinyVideoNet()
    config = make_config("something", epochs=2, batch_size=8, base_batch_size=8, lr=0.1, warmup_epochs=1,
                         workers=0, device="cpu", run_dir=os.path.join(folder, "run"), progress=False)
    result = fit(model, brightness_clips(32), brightness_clips(10, seed=1), config)
    torch.save({"weights": model.state_dict(), "top1": result.last_evaluation.top1},
               os.path.join(folder, f"rank{rank}.pt"))
    leave_process_group()


@pytest.mark.slow
def test_two_process_ddp_ranks_agree_and_rank0_writes(tmp_path):
    run_ranks(train_one_rank, (2, free_port(), str(tmp_path)))
    rank0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for name, weight in rank0["weights"].items():
        if "running" in name or "num_batches" in name:
            continue  # BN statistics are per process (no SyncBatchNorm)
        assert torch.equal(weight, rank1["weights"][name]), name
    assert rank0["top1"] == rank1["top1"]  # evaluation is gathered from both shards
    assert (tmp_path / "saved_by_rank0").exists() and not (tmp_path / "saved_by_rank1").exists()
    checkpoint = load_checkpoint(tmp_path / "run" / "last.pt")
    assert checkpoint["epoch"] == 2 and len(checkpoint["rng"]) == 2
    assert torch.equal(checkpoint["model"]["fc.weight"], rank0["weights"]["fc.weight"])
    assert len((tmp_path / "run" / "metrics.csv").read_text().splitlines()) == 3


def fail_on_one_rank(rank: int, world_size: int, port: int, folder: str, case: str) -> None:
    """Rank 1 alone meets a non-finite loss or an empty validation shard; each rank writes what it raised."""
    set_rank_environment(rank, world_size, port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", timeout=timedelta(seconds=GROUP_TIMEOUT_S))
    train_set, val_set = brightness_clips(16), brightness_clips(4, seed=1)
    if case == "nan_loss" and rank == 1:
        train_set = TensorDataset(torch.full_like(train_set.tensors[0], float("nan")), train_set.tensors[1])
    if case == "empty_val_shard":
        val_set = brightness_clips(1, seed=1)  # rank 1's shard is empty
    config = make_config("something", epochs=2, batch_size=8, base_batch_size=8, lr=0.1, warmup_epochs=1,
                         workers=0, device="cpu", run_dir=os.path.join(folder, "run"), progress=False)
    try:
        fit(TinyVideoNet(), train_set, val_set, config)
        outcome = "no error"
    except Exception as error:
        outcome = f"{type(error).__name__}: {error}"
    Path(folder, f"rank{rank}.json").write_text(json.dumps({"error": outcome}))
    leave_process_group()


@pytest.mark.slow
@pytest.mark.parametrize(("case", "expected"), [
    ("nan_loss", "FloatingPointError: rank 1: loss is nan at epoch 1"),
    ("empty_val_shard", "ValueError: rank 1: the evaluation data set is empty"),
])
def test_an_error_on_one_rank_ends_every_rank_promptly_with_it(tmp_path, case, expected):
    run_ranks(fail_on_one_rank, (2, free_port(), str(tmp_path), case))
    rank0, rank1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    # rank 0 ends with rank 1's error, not with a time-out of a collective: they agreed
    assert rank0["error"] == rank1["error"] and rank0["error"].startswith(expected)


def train_command_rank(rank: int, world_size: int, port: int, folder: str, argv: list[str]) -> None:
    """``ctnet train ... --device auto --test-clips 2`` on a CPU machine whose CUDA starts to report two
    GPUs once training is over: the final test records the device it was given (and runs on the CPU)."""
    set_rank_environment(rank, world_size, port)
    torch.set_num_threads(1)
    devices, shard_sizes = [], []
    train, load_trained_model, evaluate = command.train, experiment.load_trained_model, experiment.evaluate

    def train_then_two_gpus(config):
        result = train(config)
        torch.cuda.is_available = lambda: True
        torch.cuda.device_count = lambda: 2
        return result

    def load_on_the_cpu(path, which="best", device="cpu"):
        devices.append(str(device))
        return load_trained_model(path, which, "cpu")

    def evaluate_shard(model, loader, *args, **kwargs):
        shard_sizes.append(len(loader.dataset))
        result = evaluate(model, loader, *args, **kwargs)
        results.append(result.probabilities.tolist())
        return result

    results: list = []
    command.train, experiment.load_trained_model, experiment.evaluate = (
        train_then_two_gpus, load_on_the_cpu, evaluate_shard)
    args = parse(argv)
    with open(os.path.join(folder, f"stdout{rank}.txt"), "w") as out, contextlib.redirect_stdout(out):
        code = args.func(args)
    Path(folder, f"rank{rank}.json").write_text(json.dumps({
        "code": code, "devices": devices, "shard_sizes": shard_sizes, "probabilities": results,
        "group_left": not dist.is_initialized()}))


@pytest.mark.slow
def test_the_final_test_after_ddp_uses_each_rank_device_and_shard(tmp_path):
    synthetic = ["--synthetic-dir", str(tmp_path / "synthetic"), "--synthetic-classes", "2",
                 "--synthetic-train-per-class", "2", "--synthetic-val-per-class", "1",
                 "--synthetic-frames", "4", "--synthetic-size", "32"]
    argv = ["train", "--model", "tsn_small", "--frames", "2", "--crop-size", "32", "--short-side", "32",
            "--epochs", "1", "--batch-size", "2", "--workers", "0", "--device", "auto", "--no-progress",
            "--test-clips", "2", "--run-dir", str(tmp_path / "run"), *synthetic]
    resolve_data(command.config_from_args(parse(argv)))  # generated once, before the ranks start
    run_ranks(train_command_rank, (2, free_port(), str(tmp_path), argv))
    rank0, rank1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert rank0["code"] == rank1["code"] == 0
    assert (rank0["devices"], rank1["devices"]) == (["cuda:0"], ["cuda:1"])
    assert rank0["shard_sizes"] == rank1["shard_sizes"] == [1]  # 2 validation videos, one per rank
    assert rank0["probabilities"] == rank1["probabilities"] and len(rank0["probabilities"][0]) == 2
    assert rank0["group_left"] and rank1["group_left"]  # the process group was destroyed
    printed = [(tmp_path / f"stdout{r}.txt").read_text() for r in (0, 1)]
    assert printed[0].count("2 clips x 1 crops: top-1") == 1 and printed[1] == ""
