"""Distributed data parallel set-up from ``torchrun``'s environment variables, and failing together.

``torchrun --nproc_per_node N -m ctnet_lib.cli train ...`` (or ``--nnodes``/``--rdzv-*`` for several
machines) sets ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``; without them training runs in one process.
The backend is nccl on CUDA and gloo on the CPU.

An error on one rank must not leave the others waiting in a collective until the backend's timeout:
code that can fail on some ranks only runs before the next collective, and the ranks then agree on
failure (:func:`raise_together`, :func:`agree_on_failure`), so every rank raises the same error.
"""

from __future__ import annotations

import builtins
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from ctnet_lib.devices import torchrun_local_rank

# how long a leaving process lets gloo's threads hold the GIL (they need microseconds)
GLOO_DRAIN_S = 0.05

__all__ = [
    "DistributedContext",
    "agree_on_failure",
    "all_ranks",
    "distributed_session",
    "gather_objects",
    "init_distributed",
    "leave_process_group",
    "raise_together",
    "shard_indices",
]


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


def init_distributed(device_type: str) -> DistributedContext:
    """Join the process group when ``WORLD_SIZE`` > 1 (nccl for ``device_type='cuda'``, else gloo); a
    group that is already initialised is joined as it is."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistributedContext()
    rank = int(os.environ["RANK"])
    local_rank = torchrun_local_rank()
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        if device_type == "cuda":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend=backend)
    return DistributedContext(rank, world_size, local_rank)


def leave_process_group() -> None:
    """Collective: a barrier, the process group destroyed, then the GIL released for
    ``GLOO_DRAIN_S``. gloo's worker threads free a finished collective's tensors (a barrier's too: it
    holds the collectives before it) a moment after the caller has its result, and they need the GIL
    for it; a process that reached interpreter shutdown in that moment ended with SIGABRT ("terminate
    called without an active exception", 6 in about 63 runs of the DDP tests)."""
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
        time.sleep(GLOO_DRAIN_S)


@contextmanager
def distributed_session(device_type: str) -> Iterator[DistributedContext]:
    """:func:`init_distributed` for the block, and the process group left after it: with
    :func:`leave_process_group` when the block ends normally, destroyed at once after an error (a
    barrier would wait for a rank that the error ended)."""
    context = init_distributed(device_type)
    try:
        yield context
    except BaseException:
        if context.enabled and dist.is_initialized():
            dist.destroy_process_group()
        raise
    if context.enabled:
        leave_process_group()


def shard_indices(length: int, context: DistributedContext) -> list[int]:
    """The items rank ``r`` evaluates: ``r, r + world_size, ...`` (no padding, no duplicates)."""
    return list(range(context.rank, length, context.world_size))


def gather_objects(value: Any, context: DistributedContext) -> list[Any]:
    """Every rank's ``value``, in rank order (``[value]`` in one process)."""
    if not context.enabled:
        return [value]
    gathered: list[Any] = [None] * context.world_size
    dist.all_gather_object(gathered, value)
    return gathered


def all_ranks(flag: bool, context: DistributedContext, device: torch.device) -> bool:
    """Collective: True when ``flag`` is true on every rank (``flag`` itself in one process). One small
    all-reduce on ``device`` (the rank's GPU under nccl), cheap enough for every training step."""
    if not context.enabled:
        return flag
    value = torch.tensor(int(flag), device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MIN)
    return bool(value.item())


def raise_together(error: Exception | None, context: DistributedContext) -> None:
    """Collective: every rank calls this at the same point, ``error`` being what it raised (or None).
    When any rank failed, every rank raises the first failing rank's error: the same type (a built-in
    exception type, else RuntimeError) and the same message, prefixed ``rank R:``."""
    if not context.enabled:
        if error is not None:
            raise error
        return
    reports = gather_objects(None if error is None else (type(error).__name__, str(error)), context)
    failed = [(rank, report) for rank, report in enumerate(reports) if report is not None]
    if not failed:
        return
    rank, (kind_name, message) = failed[0]
    kind = getattr(builtins, kind_name, None)
    if not (isinstance(kind, type) and issubclass(kind, Exception)):
        kind, message = RuntimeError, f"{kind_name}: {message}"
    raise kind(f"rank {rank}: {message}") from error


@contextmanager
def agree_on_failure(context: DistributedContext) -> Iterator[None]:
    """Run the block on every rank, then :func:`raise_together` with what it raised. The block must
    not enter a collective that a failing rank would skip (it would wait there)."""
    error = None
    try:
        yield
    except Exception as caught:
        error = caught
    raise_together(error, context)
