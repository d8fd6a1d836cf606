"""Distributed data parallel set-up from ``torchrun``'s environment variables.

``torchrun --nproc_per_node N -m ctnet_lib.cli train ...`` (or ``--nnodes``/``--rdzv-*`` for several
machines) sets ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``; without them training runs in one process.
The backend is nccl on CUDA and gloo on the CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

__all__ = ["DistributedContext", "gather_objects", "init_distributed"]


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands: ``rank`` of ``world_size`` processes, ``local_rank`` on its machine."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0, the process that logs and writes checkpoints."""
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()


def init_distributed(device_type: str) -> DistributedContext:
    """Join the process group when ``WORLD_SIZE`` > 1 (nccl for ``device_type='cuda'``, else gloo)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistributedContext()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        if device_type == "cuda":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend=backend)
    return DistributedContext(rank, world_size, local_rank)


def gather_objects(value: Any, context: DistributedContext) -> list[Any]:
    """Every rank's ``value``, in rank order (``[value]`` in one process)."""
    if not context.enabled:
        return [value]
    gathered: list[Any] = [None] * context.world_size
    dist.all_gather_object(gathered, value)
    return gathered
