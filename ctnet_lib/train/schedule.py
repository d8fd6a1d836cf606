"""Per-iteration learning-rate schedule: linear warm-up, then cosine decay."""

from __future__ import annotations

import math
from typing import Any

from torch.optim import Optimizer

__all__ = ["WarmupCosineSchedule", "warmup_cosine_factor"]


def warmup_cosine_factor(
    iteration: int,
    warmup_iters: int,
    total_iters: int,
    warmup_start_factor: float = 0.01,
    min_factor: float = 0.0,
) -> float:
    """Multiplier of the base lr at ``iteration`` (0-based, counted in optimiser steps).

    Warm-up: ``warmup_start_factor`` at iteration 0, rising linearly to 1 at ``warmup_iters``. Then
    cosine: ``min_factor + (1 - min_factor) * (1 + cos(pi * p)) / 2`` with
    ``p = (iteration - warmup_iters) / (total_iters - warmup_iters)``, reaching ``min_factor`` at
    ``total_iters`` (and staying there after).
    """
    if total_iters < 1 or not 0 <= warmup_iters <= total_iters:
        raise ValueError(
            f"need 0 <= warmup_iters <= total_iters and total_iters >= 1, got {warmup_iters}, {total_iters}"
        )
    if iteration < warmup_iters:
        return warmup_start_factor + (1 - warmup_start_factor) * iteration / warmup_iters
    if total_iters == warmup_iters:
        return 1.0
    progress = min((iteration - warmup_iters) / (total_iters - warmup_iters), 1.0)
    return min_factor + (1 - min_factor) * 0.5 * (1 + math.cos(math.pi * progress))


class WarmupCosineSchedule:
    """Sets each param group's lr to ``group['base_lr'] * warmup_cosine_factor(iteration)``.

    Call :meth:`step` after every optimiser step. The state is the iteration count alone, so a
    checkpoint restores the schedule exactly.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        warmup_iters: int,
        total_iters: int,
        warmup_start_factor: float = 0.01,
        min_factor: float = 0.0,
    ) -> None:
        for group in optimizer.param_groups:
            group.setdefault("base_lr", group["lr"])
        self.optimizer = optimizer
        self.warmup_iters = warmup_iters
        self.total_iters = total_iters
        self.warmup_start_factor = warmup_start_factor
        self.min_factor = min_factor
        self.iteration = 0
        self._apply()

    def factor(self) -> float:
        """The current multiplier of the base lr."""
        return warmup_cosine_factor(
            self.iteration, self.warmup_iters, self.total_iters, self.warmup_start_factor, self.min_factor
        )

    def _apply(self) -> None:
        factor = self.factor()
        for group in self.optimizer.param_groups:
            group["lr"] = group["base_lr"] * factor

    def step(self) -> None:
        self.iteration += 1
        self._apply()

    def last_lr(self) -> list[float]:
        """The lr of every param group now."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        return {"iteration": self.iteration}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.iteration = int(state["iteration"])
        self._apply()
