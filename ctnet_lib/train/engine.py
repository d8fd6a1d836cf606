"""The fit loop: one process or DDP, CPU or CUDA (AMP), gradient accumulation, checkpoints every epoch
and exact resume.

Gradient accumulation: with ``accumulate = N`` each optimiser step adds up the gradients of N
micro-batches of ``batch_size / N`` clips, each loss divided by N, so the step equals one on the whole
batch (exactly so for models without BatchNorm in training mode, whose statistics see a micro-batch);
under DDP the gradients are all-reduced on the last micro-batch only (``no_sync`` before). The schedule
counts optimiser steps. An epoch's last group may hold fewer micro-batches; its losses are divided by
their number.

A new run never damages an earlier one: with ``resume=False`` the files of a run already in the run
folder are first moved to ``<run_dir>/replaced-<n>/``.

Reproducibility: the shuffling order of epoch ``e`` is fixed by ``(seed, e)`` (``DistributedSampler``,
also used in one process), a data set with ``set_epoch`` gets the epoch too, and dropout draws from
torch's generator, whose state is saved in every checkpoint. A run resumed from ``last.pt`` therefore
ends with the same weights as an uninterrupted one (CPU, same worker count).
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
import yaml
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset
from tqdm.auto import tqdm

from ctnet_lib.data.datasets import DataItemError
from ctnet_lib.data.list_files import check_class_names
from ctnet_lib.devices import resolve_device
from ctnet_lib.io_utils import atomic_write_text, remove_stale_temporaries
from ctnet_lib.train.checkpoint import (
    BEST,
    LAST,
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)
from ctnet_lib.train.config import TrainConfig, config_from_dict
from ctnet_lib.train.device import Precision, choose_precision, prepare_model
from ctnet_lib.train.distributed import (
    DistributedContext,
    agree_on_failure,
    all_ranks,
    gather_objects,
    init_distributed,
    raise_together,
    shard_indices,
)
from ctnet_lib.train.evaluation import EvaluationResult, evaluate
from ctnet_lib.train.metrics import METRICS_FILES, MetricsLog
from ctnet_lib.train.optim import build_optimizer, freeze_backbone
from ctnet_lib.train.schedule import WarmupCosineSchedule
from ctnet_lib.validation import check_output_folder

__all__ = ["RUN_FILES", "TrainResult", "fit", "seed_everything", "set_aside_earlier_run"]

_LOG = logging.getLogger(__name__)

# fields that may change between a run and its resumption
RESUMABLE_CHANGES = frozenset({"epochs", "device", "workers", "threads", "run_dir", "resume", "progress",
                               "test_clips", "test_crops", "view_average", "synthetic_dir", "check_data",
                               "bad_items", "min_frames"})
# the files of one run in its folder
RUN_FILES = ("config.yaml", LAST, BEST, *METRICS_FILES)


def check_resumable(saved: dict[str, Any], config: TrainConfig, path: Path) -> None:
    """Raise ValueError when the checkpoint at ``path`` was trained with other settings than ``config``
    (fields the saved config lacks count with their defaults)."""
    saved = config_from_dict(saved, str(path)).to_dict()
    current = config.to_dict()
    differing = sorted(k for k in current if k not in RESUMABLE_CHANGES and saved[k] != current[k])
    if differing:
        changes = ", ".join(f"{k}: {saved[k]!r} -> {current[k]!r}" for k in differing)
        raise ValueError(
            f"{path} was trained with other settings ({changes}): choose another run_dir, or set "
            "resume=False (--no-resume) to start afresh there (the earlier run is moved aside)"
        )


def set_aside_earlier_run(run_dir: Path) -> Path | None:
    """Move the files of a run in ``run_dir`` (:data:`RUN_FILES`) to a new folder
    ``run_dir/replaced-<n>`` (the first free n) and return it; None when there is no such file.
    Each file moves with an atomic rename, so nothing is lost if this is interrupted."""
    present = [name for name in RUN_FILES if (run_dir / name).is_file()]
    if not present:
        return None
    number = 1
    while (run_dir / f"replaced-{number}").exists():
        number += 1
    target = run_dir / f"replaced-{number}"
    target.mkdir()
    for name in present:
        os.replace(run_dir / name, target / name)
    _LOG.warning("resume=False: the earlier run in %s was moved to %s", run_dir, target)
    return target


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass(frozen=True)
class TrainResult:
    """What :func:`fit` leaves: the run folder, the metrics of every epoch and the last evaluation."""

    run_dir: Path
    history: pd.DataFrame
    epochs_done: int
    epochs_total: int
    epochs_trained_now: int
    best_top1: float
    last_evaluation: EvaluationResult | None  # None when this call trained no epoch

    @property
    def complete(self) -> bool:
        return self.epochs_done >= self.epochs_total


@dataclass
class _Session:
    """Everything one fit call works with."""

    model: nn.Module
    network: nn.Module  # model, or its DDP wrapper
    optimizer: torch.optim.Optimizer
    schedule: WarmupCosineSchedule
    scaler: torch.amp.GradScaler
    precision: Precision
    device: torch.device
    context: DistributedContext


def _checkpoint_state(session: _Session, epoch: int, best_top1: float, config: TrainConfig,
                      class_names: tuple[str, ...], num_classes: int, rng: list[dict]) -> dict[str, Any]:
    return {
        "model": session.model.state_dict(),
        "optimizer": session.optimizer.state_dict(),
        "schedule": session.schedule.state_dict(),
        "scaler": session.scaler.state_dict(),
        "rng": rng,  # one random state per rank
        "epoch": epoch,
        "best_top1": best_top1,
        "config": config.to_dict(),
        "class_names": list(class_names),
        "num_classes": num_classes,
    }


def _worker_message(error: DataItemError) -> str:
    """The one-line message of an item error. A DataLoader worker's copy carries the worker's traceback
    first and ends with the line ``<module>.DataItemError: <message>``."""
    lines = str(error).strip().splitlines()
    return lines[0] if len(lines) == 1 else lines[-1].partition(": ")[2]


def _train_one_epoch(session: _Session, loader: DataLoader, config: TrainConfig, epoch: int,
                     progress: bool) -> tuple[float, int, int]:
    """One pass over ``loader`` in groups of ``config.accumulate`` micro-batches, one optimiser step per
    group; returns (summed loss, clips, skipped unreadable items) of this process."""
    session.network.train()
    loss_sum, clips_seen, skipped = 0.0, 0, 0
    micro_batches = len(loader)
    bar = tqdm(loader, desc=f"epoch {epoch}", leave=False, disable=not progress)
    session.optimizer.zero_grad(set_to_none=True)
    try:
        for index, (clips, labels, *rest) in enumerate(bar):
            skipped += int(torch.as_tensor(rest[0]).sum()) if rest else 0  # items of bad_items='skip'
            group_start = index - index % config.accumulate
            group_size = min(config.accumulate, micro_batches - group_start)
            steps_now = index == group_start + group_size - 1
            clips = clips.to(session.device, non_blocking=True)
            labels = torch.as_tensor(labels).to(session.device, non_blocking=True)
            no_sync = session.network.no_sync if session.context.enabled and not steps_now \
                else contextlib.nullcontext
            with no_sync():
                with session.precision.autocast():
                    logits = session.network(clips)
                loss = F.cross_entropy(logits.float(), labels, label_smoothing=config.label_smoothing)
                finite = bool(torch.isfinite(loss))
                if not all_ranks(finite, session.context, session.device):  # agreed before DDP's backward
                    raise_together(None if finite else FloatingPointError(
                        f"loss is {loss.item()} at epoch {epoch}: lower lr ({config.lr}) or check the data"
                    ), session.context)
                session.scaler.scale(loss / group_size).backward()
            if steps_now:
                if config.clip_grad_norm is not None:
                    session.scaler.unscale_(session.optimizer)
                    nn.utils.clip_grad_norm_(session.model.parameters(), config.clip_grad_norm)
                session.scaler.step(session.optimizer)
                session.scaler.update()
                session.schedule.step()
                session.optimizer.zero_grad(set_to_none=True)
            loss_sum += loss.item() * len(labels)
            clips_seen += len(labels)
            bar.set_postfix(loss=f"{loss_sum / clips_seen:.3f}", lr=f"{session.schedule.last_lr()[0]:.2e}")
    except DataItemError as error:
        raise DataItemError(_worker_message(error)) from error
    return loss_sum, clips_seen, skipped


def _warn_of_short_items(train_set: Dataset, context: DistributedContext) -> int:
    """The training items that the data check found shorter than a clip (``short_items()`` of a checked
    :class:`VideoClipDataset`; 0 for other data sets), named in one warning from rank 0."""
    short = train_set.short_items() if hasattr(train_set, "short_items") else []
    if short and context.is_main:
        clip_len = train_set.sampler.clip_len
        _LOG.warning("%d of the %d training items hold fewer frames than the %d of a clip, so their clips "
                     "repeat frames (first: %s): re-extract them, or refuse them with min_frames=%d (ctnet "
                     "train --min-frames %d)", len(short), len(train_set), clip_len, "; ".join(short[:3]),
                     clip_len, clip_len)
    return len(short)


def _resume(session: _Session, path: Path, config: TrainConfig,
            class_names: tuple[str, ...]) -> tuple[int, float]:
    """Restore model, optimiser, schedule, scaler and this rank's random state from the checkpoint at
    ``path``; returns (finished epoch, best top-1)."""
    state = load_checkpoint(path)  # tensors on the CPU: load_state_dict copies them to the device
    check_resumable(state["config"], config, path)
    check_class_names(state["class_names"], class_names, "the data set of this run")
    session.model.load_state_dict(state["model"])
    session.optimizer.load_state_dict(state["optimizer"])
    session.schedule.load_state_dict(state["schedule"])
    if state["scaler"]:  # empty when a disabled scaler (bf16, fp32) saved it: an fp16 scaler starts afresh
        session.scaler.load_state_dict(state["scaler"])
    rng, context = state["rng"], session.context
    restore_rng_state(rng[context.rank] if len(rng) == context.world_size else rng[0])
    return int(state["epoch"]), float(state["best_top1"])


def _loaders(train_set: Dataset, val_set: Dataset, config: TrainConfig, context: DistributedContext,
             device: torch.device) -> tuple[DataLoader, DataLoader, DistributedSampler]:
    """Training micro-batches of ``batch_size / (processes x accumulate)`` clips; validation batches of
    ``batch_size / processes``."""
    per_process = config.batch_size // context.world_size
    micro_batch = per_process // config.accumulate
    if micro_batch < 1:
        raise ValueError(f"batch_size={config.batch_size} is smaller than the {context.world_size} processes "
                         f"x accumulate={config.accumulate}: use a larger batch or fewer of either")
    sampler = DistributedSampler(train_set, num_replicas=context.world_size, rank=context.rank,
                                 shuffle=True, seed=config.seed)
    common = {"num_workers": config.workers, "pin_memory": device.type == "cuda"}
    train_loader = DataLoader(train_set, micro_batch, sampler=sampler,
                              drop_last=len(sampler) >= micro_batch, **common)
    val_loader = DataLoader(Subset(val_set, shard_indices(len(val_set), context)), per_process,
                            shuffle=False, **common)
    return train_loader, val_loader, sampler


def fit(
    model: nn.Module,
    train_set: Dataset,
    val_set: Dataset,
    config: TrainConfig,
    *,
    class_names: tuple[str, ...] | None = None,
    num_classes: int | None = None,
    stop_after_epochs: int | None = None,
) -> TrainResult:
    """Train ``model`` on ``train_set`` with the recipe in ``config``, validating on ``val_set``.

    Items are ``(clip (3, T, H, W) float32, label)``, or ``(clip, label, skipped)`` from a data set
    that skips unreadable items (their count goes to the metrics). Every epoch rank 0 appends a metrics
    row and writes ``last.pt`` (and ``best.pt`` when validation top-1 improves) in ``config.run_dir``.
    With ``config.resume`` a run continues from ``last.pt`` (with the same settings and class names); a
    complete run only reloads its weights. Without it, an earlier run there is moved aside first
    (:func:`set_aside_earlier_run`). Either way, temporaries of the run's files that a process killed
    while saving left in the folder are removed first.
    ``stop_after_epochs`` ends this call early (an interruption) after that many new epochs.
    Under ``torchrun`` the processes train with DDP (see ``distributed.py``).
    """
    check_output_folder(config.run_dir, "run folder")
    if config.threads:
        torch.set_num_threads(config.threads)
    device = resolve_device(config.device)
    context = init_distributed(device.type)
    seed_everything(config.seed + context.rank)
    run_dir = Path(config.run_dir)
    num_classes = num_classes or model.fc.out_features
    class_names = class_names or tuple(str(i) for i in range(num_classes))
    if config.freeze_backbone:
        freeze_backbone(model)
    prepare_model(model, device)
    network = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None) \
        if context.enabled else model
    train_loader, val_loader, sampler = _loaders(train_set, val_set, config, context, device)
    optimizer = build_optimizer(model, config.scaled_lr, config.momentum, config.weight_decay,
                                config.fc_lr_multiplier)
    steps = -(-len(train_loader) // config.accumulate)  # optimiser steps per epoch
    if steps == 0:
        raise ValueError("the training data set is empty: check the list file")
    total = config.epochs * steps
    schedule = WarmupCosineSchedule(optimizer, min(round(config.warmup_epochs * steps), total), total,
                                    config.warmup_start_factor, config.min_lr_factor)
    precision = choose_precision(device, config.amp)
    session = _Session(model, network, optimizer, schedule, precision.grad_scaler(), precision, device,
                       context)

    short_items = _warn_of_short_items(train_set, context)
    log = MetricsLog(run_dir)
    start_epoch, best_top1 = 0, float("-inf")
    with agree_on_failure(context):
        if context.is_main:  # before anything is saved here
            stale = [path for name in RUN_FILES for path in remove_stale_temporaries(run_dir, name)]
            if stale:
                _LOG.warning("removed %s, left by an interrupted save", ", ".join(map(str, stale)))
        if config.resume and (run_dir / LAST).is_file():
            start_epoch, best_top1 = _resume(session, run_dir / LAST, config, class_names)
        elif context.is_main:
            if not config.resume:
                set_aside_earlier_run(run_dir)
            run_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(config.to_dict(), sort_keys=False))
        if context.is_main:
            log.truncate(start_epoch)
    progress = config.progress and context.is_main
    last_epoch = config.epochs
    if stop_after_epochs is not None:
        last_epoch = min(config.epochs, start_epoch + stop_after_epochs)
    evaluation = None
    for epoch in range(start_epoch + 1, last_epoch + 1):
        sampler.set_epoch(epoch)
        if hasattr(train_set, "set_epoch"):
            train_set.set_epoch(epoch)
        started = time.perf_counter()
        loss_sum, clips, skipped = _train_one_epoch(session, train_loader, config, epoch, progress)
        train_time = time.perf_counter() - started
        totals = np.sum(gather_objects((loss_sum, clips, skipped), context), axis=0)
        evaluation = evaluate(model, val_loader, device, class_names=class_names, precision=precision,
                              context=context, progress=progress, description=f"val {epoch}")
        best_top1 = max(best_top1, evaluation.top1)
        rng_states = gather_objects(capture_rng_state(), context)
        with agree_on_failure(context):  # also the barrier: no rank runs ahead of rank 0's files
            if context.is_main:
                log.append({
                    "epoch": epoch, "train_loss": float(totals[0] / totals[1]), "val_loss": evaluation.loss,
                    "top1": evaluation.top1, "top5": evaluation.top5, "lr": schedule.last_lr()[0],
                    "clips_per_s": float(totals[1]) / train_time,
                    "epoch_time_s": time.perf_counter() - started, "skipped": int(totals[2]),
                    "short_items": short_items,
                })
                state = _checkpoint_state(session, epoch, best_top1, config, class_names, num_classes,
                                          rng_states)
                save_checkpoint(run_dir / LAST, state)
                if evaluation.top1 >= best_top1:
                    save_checkpoint(run_dir / BEST, state)
    return TrainResult(run_dir, MetricsLog(run_dir).frame(), max(start_epoch, last_epoch), config.epochs,
                       max(last_epoch - start_epoch, 0), best_top1, evaluation)
