"""Ratios of a benchmark run's rows to their baselines measured in the same run, and the performance
goals stated as ratios (``TARGETS``), each checked against a run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ctnet_lib.analysis.timing.benchmark_cases import (
    BASELINE_MODULE,
    BASELINE_NETWORK,
    CTNET,
    READABLE,
    SMALL_CTNET,
)
from ctnet_lib.analysis.timing.latency_tables import CTNET_MODULE
from ctnet_lib.ops.module_registry import module_kind
from ctnet_lib.ops.recompute import CHECKPOINTING, parse_checkpointing

R2PLUS1D, CT_MODULE = module_kind("r2plus1d").label, module_kind("ct").label  # module rows' labels

def _is_plain(row: dict[str, Any]) -> bool:
    """Measured with the per-device running choices and without micro-batches (any checkpointing)."""
    return not row.get("forced") and row.get("accumulate", 1) == 1


def _is_default(row: dict[str, Any]) -> bool:
    return _is_plain(row) and parse_checkpointing(row.get("checkpointing", "none")) == "none"


def _find(rows: Sequence[dict[str, Any]], group: str, label: str, **match: Any) -> dict[str, Any] | None:
    """The first row of ``group`` and ``label`` whose fields equal ``match``."""
    return next((row for row in rows if row["group"] == group and row["label"] == label
                 and all(row.get(k) == v for k, v in match.items())), None)


def _default(rows: Sequence[dict[str, Any]], group: str, label: str, **match: Any) -> dict[str, Any] | None:
    """As :func:`_find`, among the rows measured with the default settings only."""
    return _find([row for row in rows if _is_default(row)], group, label, **match)


def add_ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each module row's times over the 2D 3x3 conv's at its stage, each network row's times and memory
    over TSN's (``*_vs_baseline``)."""
    out = []
    for row in rows:
        if row["group"] == "module":
            base = _default(rows, "module", BASELINE_MODULE, stage=row["stage"])
            keys = ("fwd_ms", "fwd_bwd_ms", "saved_activation_mb")
        elif row["group"] == "network" and row.get("batch_size") == _batch_of(rows, BASELINE_NETWORK):
            base = _default(rows, "network", BASELINE_NETWORK)
            keys = ("fwd_ms", "fwd_bwd_ms", "peak_mem_mb")
        else:
            base, keys = None, ()
        ratios = {f"{k}_vs_baseline": row[k] / base[k] for k in keys if base and k in row and k in base}
        out.append({**row, **ratios})
    return out


def _batch_of(rows: Sequence[dict[str, Any]], label: str) -> int | None:
    base = _default(rows, "network", label)
    return base["batch_size"] if base else None


@dataclass(frozen=True)
class Target:
    """A goal: ``measured(rows)`` (a ratio) must be at most ``limit`` (or at least, with ``at_least``)."""

    name: str
    measured: Callable[[Sequence[dict[str, Any]]], float]
    limit: float
    at_least: bool = False


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None, key: str, key_b: str | None = None) -> float:
    if a is None or b is None or key not in a or (key_b or key) not in b:
        return float("nan")
    return a[key] / b[key_b or key]


def _worst_stage_ratio(rows: Sequence[dict[str, Any]], label: str) -> float:
    """The largest (module fwd+bwd / R(2+1)D's) over the stages."""
    ratios = [_ratio(row, _default(rows, "module", R2PLUS1D, stage=row["stage"]), "fwd_bwd_ms")
              for row in rows if row["group"] == "module" and row["label"] == label and _is_default(row)]
    return max(ratios) if ratios else float("nan")


def _ctnet(rows: Sequence[dict[str, Any]], **match: Any) -> dict[str, Any] | None:
    return _find(rows, "network", CTNET.label, **match)


def _ctnet_memory_ratio(checkpointing: str) -> Callable[[Sequence[dict[str, Any]]], float]:
    """CT-Net's peak training memory with ``checkpointing`` (otherwise default settings) over TSN's."""

    def ratio(rows: Sequence[dict[str, Any]]) -> float:
        plain = [row for row in rows if _is_plain(row)]
        return _ratio(_find(plain, "network", CTNET.label, checkpointing=checkpointing),
                      _default(rows, "network", BASELINE_NETWORK), "peak_mem_mb")

    return ratio


TARGETS = (
    Target("CT-Net-R50 training step / TSN-R50's", lambda r: _ratio(
        _default(r, "network", CTNET.label), _default(r, "network", BASELINE_NETWORK), "fwd_bwd_ms"), 0.90),
    Target("CT-Net-R50 inference / TSN-R50's", lambda r: _ratio(
        _default(r, "network", CTNET.label), _default(r, "network", BASELINE_NETWORK), "fwd_ms"), 0.87),
    Target("CT-Net-R50 training step / the readable implementation's", lambda r: _ratio(
        _default(r, "network", CTNET.label), _ctnet(r, **READABLE, forced=True), "fwd_bwd_ms"), 0.80),
    Target("CT-Net-R50 peak training memory / TSN-R50's", _ctnet_memory_ratio("none"), 1.10),
    *(Target(f"CT-Net-R50 peak training memory with checkpointing={level} / TSN-R50's",
             _ctnet_memory_ratio(level), 1.10) for level in CHECKPOINTING if level != "none"),
    Target("CT-Module fwd+bwd / R(2+1)D-Module's, worst stage", lambda r: _worst_stage_ratio(r, CT_MODULE),
           1.0),
    Target("CT-Net module fwd+bwd / R(2+1)D-Module's, worst stage",
           lambda r: _worst_stage_ratio(r, CTNET_MODULE), 1.0),
    Target("data clips/s (decord, one thread) / ctnet_small training clips/s", lambda r: _ratio(
        _find(r, "data", "decord"), _default(r, "network", SMALL_CTNET), "clips_per_s",
        "train_clips_per_s"), 1.0, at_least=True),
)


def evaluate_targets(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target with its measured ratio and whether it is met (None when not measured)."""
    results = []
    for target in TARGETS:
        value = target.measured(rows)
        met = None if np.isnan(value) else bool(value >= target.limit if target.at_least
                                                else value <= target.limit)
        results.append({"target": target.name, "measured": None if np.isnan(value) else round(value, 3),
                        "limit": target.limit, "at_least": target.at_least, "met": met})
    return results
