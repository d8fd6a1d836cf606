"""Classification metrics and the per-epoch metrics log (``metrics.csv`` and ``metrics.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ctnet_lib.io_utils import atomic_write_text

__all__ = ["METRICS_FILES", "METRIC_COLUMNS", "MetricsLog", "confusion_matrix", "per_class_accuracy",
           "topk_accuracy"]

# skipped: training items that could not be read and were replaced (a data set with bad_items='skip');
# short_items: training items with fewer frames than a clip (the data check counts them; clips repeat frames)
METRIC_COLUMNS = (
    "epoch", "train_loss", "val_loss", "top1", "top5", "lr", "clips_per_s", "epoch_time_s", "skipped",
    "short_items",
)  # fmt: skip
METRICS_FILES = ("metrics.csv", "metrics.json")


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Percentage of rows of ``scores`` (N, K) whose ``labels`` (N,) is among the ``k`` highest scores.

    ``k`` larger than K counts every row as correct.
    """
    if len(labels) == 0:
        return float("nan")
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return float(100.0 * (top == labels[:, None]).any(axis=1).mean())


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts (K, K): row = true class, column = predicted class."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels), np.asarray(predictions)), 1)
    return matrix


def per_class_accuracy(matrix: np.ndarray, class_names: list[str] | None = None) -> pd.DataFrame:
    """Videos and top-1 (%) per true class from a confusion matrix; NaN for classes without videos."""
    counts = matrix.sum(axis=1)
    correct = np.diag(matrix)
    with np.errstate(invalid="ignore", divide="ignore"):
        top1 = np.where(counts > 0, 100.0 * correct / counts, np.nan)
    names = class_names or [str(i) for i in range(len(counts))]
    return pd.DataFrame({"class": names, "videos": counts, "top1": top1})


class MetricsLog:
    """Rows of :data:`METRIC_COLUMNS`, one per epoch, kept in ``<run_dir>/metrics.csv`` and ``.json``.

    Both files are rewritten atomically after each :meth:`append`; opening an existing run reads the
    rows back, and :meth:`truncate` drops epochs after a resumed checkpoint.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.csv_path, self.json_path = (self.run_dir / name for name in METRICS_FILES)
        self.rows: list[dict[str, Any]] = []
        if self.json_path.is_file():
            self.rows = json.loads(self.json_path.read_text(encoding="utf-8"))

    def truncate(self, last_epoch: int) -> None:
        """Keep the rows of epochs up to ``last_epoch``."""
        self.rows = [row for row in self.rows if row["epoch"] <= last_epoch]
        self._write()

    def append(self, row: dict[str, Any]) -> None:
        missing = set(METRIC_COLUMNS) - set(row)
        if missing:
            raise ValueError(f"metrics row lacks {sorted(missing)}")
        self.rows.append({key: row[key] for key in METRIC_COLUMNS})
        self._write()

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=list(METRIC_COLUMNS))

    def _write(self) -> None:
        atomic_write_text(self.json_path, json.dumps(self.rows, indent=1) + "\n")
        atomic_write_text(self.csv_path, self.frame().to_csv(index=False))
