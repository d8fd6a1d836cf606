"""The fit loop on a tiny in-memory problem, the metrics files, multi-view fusion, confusion matrix."""

import json

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ctnet_lib.train import confusion_matrix, evaluate, fit, fuse_views, make_config, topk_accuracy
from ctnet_lib.train.metrics import METRIC_COLUMNS


class TinyVideoNet(nn.Module):
    """x: (N, 3, T, H, W) -> logits (N, classes): one 3D conv, BN, ReLU, global pool, dropout, fc."""

    def __init__(self, num_classes: int = 2, dropout: float = 0.2) -> None:
        super().__init__()
        self.conv = nn.Conv3d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm3d(8)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = torch.relu(self.bn(self.conv(x))).mean(dim=(2, 3, 4))
        return self.fc(self.dropout(features))


def brightness_clips(n: int, seed: int = 0) -> TensorDataset:
    """Clips (3, 4, 8, 8) whose class is the sign of their mean brightness: linearly separable."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 2
    clips = torch.randn(n, 3, 4, 8, 8, generator=generator) + (2.0 * labels - 1).view(-1, 1, 1, 1, 1)
    return TensorDataset(clips, labels)


def tiny_config(run_dir, **changes):
    values = {"epochs": 3, "batch_size": 8, "base_batch_size": 8, "lr": 0.1, "warmup_epochs": 1,
              "workers": 0, "device": "cpu", "run_dir": str(run_dir), "progress": False, "seed": 1}
    return make_config("something", **{**values, **changes})


def test_fit_reduces_the_loss_and_writes_metrics_and_checkpoints(tmp_path):
    torch.manual_seed(0)
    result = fit(TinyVideoNet(), brightness_clips(64), brightness_clips(32, seed=1), tiny_config(tmp_path),
                 class_names=("dark", "bright"))
    history = result.history
    assert list(history["epoch"]) == [1, 2, 3]
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]
    assert history["top1"].iloc[-1] >= 90
    assert result.complete and result.epochs_trained_now == 3
    assert (tmp_path / "last.pt").is_file() and (tmp_path / "best.pt").is_file()
    assert (tmp_path / "metrics.csv").read_text().splitlines()[0] == ",".join(METRIC_COLUMNS)
    rows = json.loads((tmp_path / "metrics.json").read_text())
    assert len(rows) == 3 and set(rows[0]) == set(METRIC_COLUMNS)
    assert all(row["clips_per_s"] > 0 and row["epoch_time_s"] > 0 for row in rows)
    checkpoint = torch.load(tmp_path / "last.pt", weights_only=True)
    assert checkpoint["epoch"] == 3 and checkpoint["class_names"] == ["dark", "bright"]


def test_a_complete_run_is_reloaded_not_retrained(tmp_path):
    config = tiny_config(tmp_path, epochs=1)
    fit(TinyVideoNet(), brightness_clips(16), brightness_clips(8), config)
    model = TinyVideoNet()
    again = fit(model, brightness_clips(16), brightness_clips(8), config)
    assert again.epochs_trained_now == 0 and again.complete
    saved = torch.load(tmp_path / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(saved[k], v) for k, v in model.state_dict().items())


def test_fuse_views_averages_softmax_scores_or_logits():
    logits = torch.tensor([[[2.0, 0.0], [0.0, 4.0]]])  # one video, two views, two classes
    by_softmax = fuse_views(logits, "softmax")
    expected = (torch.tensor([2.0, 0.0]).softmax(0) + torch.tensor([0.0, 4.0]).softmax(0)) / 2
    assert torch.allclose(by_softmax[0], expected)
    assert torch.allclose(fuse_views(logits, "logits")[0], torch.tensor([1.0, 2.0]).softmax(0))
    with pytest.raises(ValueError, match="view_average"):
        fuse_views(logits, "max")


class FixedLogits(nn.Module):
    """Returns the logits stored for each clip's first value (a hand-made 'model')."""

    def __init__(self, table: torch.Tensor) -> None:
        super().__init__()
        self.table = table

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.table[x[:, 0, 0, 0, 0].long()]


def test_evaluate_fuses_the_views_of_each_video():
    # 2 videos x 3 views; view ids 0..5 select rows of the logit table
    table = torch.tensor([[5.0, 0, 0], [0, 1, 0], [0, 1, 0],   # video 0: views disagree, 2 of 3 say class 1
                          [0, 0, 3.0], [0, 0, 3.0], [3.0, 0, 0]])  # video 1: class 2
    clips = torch.arange(6.0).view(2, 3, 1, 1, 1, 1, 1).expand(2, 3, 3, 1, 1, 1, 1).reshape(2, 3, 3, 1, 1, 1)
    data = TensorDataset(clips, torch.tensor([1, 2]))
    result = evaluate(FixedLogits(table), DataLoader(data, batch_size=2), torch.device("cpu"),
                      class_names=("a", "b", "c"))
    expected = table.softmax(-1).view(2, 3, 3).mean(1).numpy()
    assert np.allclose(result.probabilities, expected)
    assert result.num_views == 3
    assert list(result.predictions) == [0, 2]  # averaging softmax scores: video 0's one confident view wins
    assert result.top1 == 50.0 and result.top5 == 100.0
    by_logits = evaluate(FixedLogits(table), DataLoader(data, batch_size=1), torch.device("cpu"),
                         view_average="logits")
    assert list(by_logits.predictions) == [0, 2]
    frame = result.prediction_frame()
    assert list(frame["correct"]) == [False, True] and list(frame["label_name"]) == ["b", "c"]


def test_confusion_matrix_and_per_class_accuracy():
    matrix = confusion_matrix(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 2, 0]), 4)
    assert matrix.tolist() == [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]]
    from ctnet_lib.train.metrics import per_class_accuracy

    table = per_class_accuracy(matrix, ["a", "b", "c", "d"])
    assert table["top1"].tolist()[:3] == pytest.approx([50.0, 100.0, 200 / 3])
    assert np.isnan(table["top1"].iloc[3])


def test_topk_accuracy():
    scores = np.array([[0.1, 0.5, 0.4], [0.7, 0.2, 0.1]])
    labels = np.array([2, 0])
    assert topk_accuracy(scores, labels, 1) == 50.0
    assert topk_accuracy(scores, labels, 2) == 100.0
    assert topk_accuracy(scores, labels, 5) == 100.0
