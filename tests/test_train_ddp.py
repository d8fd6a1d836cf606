"""DDP on the CPU: two processes (gloo) train a tiny model, end with identical weights, and only rank 0
writes checkpoints and metrics."""

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from test_train_engine import TinyVideoNet, brightness_clips

import ctnet_lib.train.engine as engine
from ctnet_lib.train import fit, load_checkpoint, make_config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def train_one_rank(rank: int, world_size: int, port: int, folder: str) -> None:
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank),
                       "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world_size)})
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
    dist.destroy_process_group()


@pytest.mark.slow
def test_two_process_ddp_ranks_agree_and_rank0_writes(tmp_path):
    mp.spawn(train_one_rank, args=(2, free_port(), str(tmp_path)), nprocs=2, join=True)
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
