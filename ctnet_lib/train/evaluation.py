"""Evaluation: single-view or multi-clip x multi-crop testing, top-1/top-5, per-class accuracy,
confusion matrix and per-video predictions.

Multi-view fusion: the model's predictions of the V views of one video (clips x crops) are averaged,
by default as softmax probabilities (``view_average='softmax'``); ``'logits'`` averages raw logits
instead. With one view both give the same ranking. The reported loss is the negative log of the fused
probability of the true class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from ctnet_lib.train.device import Precision
from ctnet_lib.train.distributed import DistributedContext, agree_on_failure, gather_objects
from ctnet_lib.train.metrics import confusion_matrix, per_class_accuracy, topk_accuracy

__all__ = ["EvaluationResult", "evaluate", "fuse_views", "summarise_scores"]


def fuse_views(logits: Tensor, view_average: str = "softmax") -> Tensor:
    """Per-video class probabilities (N, K) from the logits of its views (N, V, K)."""
    if view_average == "softmax":
        return logits.float().softmax(dim=-1).mean(dim=1)
    if view_average == "logits":
        return logits.float().mean(dim=1).softmax(dim=-1)
    raise ValueError(f"view_average={view_average!r}: use 'softmax' or 'logits'")


@dataclass(frozen=True)
class EvaluationResult:
    """Scores of one evaluation: ``probabilities`` (N, K), ``labels`` (N,), in data set order."""

    probabilities: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    num_views: int

    @property
    def predictions(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)

    @property
    def loss(self) -> float:
        true = self.probabilities[np.arange(len(self.labels)), self.labels]
        return float(-np.log(np.clip(true, 1e-12, None)).mean())

    @property
    def top1(self) -> float:
        return topk_accuracy(self.probabilities, self.labels, 1)

    @property
    def top5(self) -> float:
        return topk_accuracy(self.probabilities, self.labels, 5)

    @property
    def confusion(self) -> np.ndarray:
        """Counts (K, K): row = true class, column = predicted class."""
        return confusion_matrix(self.labels, self.predictions, len(self.class_names))

    def confusion_frame(self) -> pd.DataFrame:
        names = list(self.class_names)
        return pd.DataFrame(self.confusion, index=pd.Index(names, name="true"),
                            columns=pd.Index(names, name="predicted"))

    def per_class(self) -> pd.DataFrame:
        return per_class_accuracy(self.confusion, list(self.class_names))

    def prediction_frame(self) -> pd.DataFrame:
        """One row per video: index, label, prediction, their names, probability of the prediction."""
        predictions = self.predictions
        names = np.array(self.class_names)
        return pd.DataFrame({
            "index": np.arange(len(self.labels)),
            "label": self.labels,
            "prediction": predictions,
            "label_name": names[self.labels],
            "predicted_name": names[predictions],
            "probability": self.probabilities[np.arange(len(predictions)), predictions],
            "correct": predictions == self.labels,
        })

    def summary(self) -> dict[str, float]:
        return {"top1": self.top1, "top5": self.top5, "loss": self.loss, "videos": len(self.labels),
                "views": self.num_views}


def summarise_scores(
    probabilities: np.ndarray,
    labels: np.ndarray,
    class_names: tuple[str, ...] | None = None,
    num_views: int = 1,
) -> EvaluationResult:
    """Wrap precomputed probabilities (N, K) and labels (N,) as an :class:`EvaluationResult`."""
    names = class_names or tuple(str(i) for i in range(probabilities.shape[1]))
    return EvaluationResult(np.asarray(probabilities), np.asarray(labels, dtype=np.int64), names, num_views)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DataLoader,
    device: torch.device,
    *,
    class_names: tuple[str, ...] | None = None,
    view_average: str = "softmax",
    precision: Precision | None = None,
    context: DistributedContext | None = None,
    progress: bool = False,
    description: str = "eval",
) -> EvaluationResult:
    """Run ``model`` in eval mode over ``loader`` and fuse the views of each video.

    Batches are ``(clips, labels)`` with clips (B, 3, T, H, W) (one view) or (B, V, 3, T, H, W).
    Under DDP each rank evaluates its own ``loader`` (a shard, see ``shard_indices``) and the
    results are gathered on every rank, sorted back into data set order by the indices in
    ``loader.dataset.indices`` when present; an error on one rank is raised on every rank.
    """
    context = context or DistributedContext()
    precision = precision or Precision(device.type, None)
    was_training = model.training
    model.eval()
    probabilities, labels, num_views = [], [], 1
    with agree_on_failure(context):  # the loop runs no collective: ``model`` is not the DDP wrapper
        for clips, targets in tqdm(loader, desc=description, leave=False, disable=not progress):
            if clips.ndim == 5:
                clips = clips[:, None]
            num_views = clips.shape[1]
            flat = clips.flatten(0, 1).to(device, non_blocking=True)
            with precision.autocast():
                logits = model(flat)
            probabilities.append(fuse_views(logits.view(clips.shape[0], num_views, -1), view_average).cpu())
            labels.append(torch.as_tensor(targets))
        model.train(was_training)
        if not probabilities:
            raise ValueError(f"the evaluation data set is empty: check the list file (each of the "
                             f"{context.world_size} processes needs at least one video)")
    local = (torch.cat(probabilities).numpy(), torch.cat(labels).numpy(),
             list(getattr(loader.dataset, "indices", range(len(loader.dataset)))))
    parts = gather_objects(local, context)
    order = np.argsort(np.concatenate([np.asarray(p[2]) for p in parts]), kind="stable")
    all_probabilities = np.concatenate([p[0] for p in parts])[order]
    all_labels = np.concatenate([p[1] for p in parts])[order]
    return summarise_scores(all_probabilities, all_labels, class_names, num_views)
