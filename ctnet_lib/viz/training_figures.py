"""Figures of training runs: learning curves, confusion matrix, and clips with their predictions.

(Figure builders of the training notebook; they sit here beside the results they draw.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from matplotlib.figure import Figure
from plotly.subplots import make_subplots
from torch.utils.data import Dataset

from ctnet_lib.data import Normalize
from ctnet_lib.train.evaluation import EvaluationResult

__all__ = ["confusion_figure", "learning_curves_figure", "prediction_strip_figure"]


def learning_curves_figure(histories: Mapping[str, pd.DataFrame]) -> go.Figure:
    """Loss (training solid, validation dashed) and validation top-1 per epoch, one colour per run.

    ``histories``: run name -> metrics frame (``TrainResult.history``: epoch, train_loss, val_loss, top1).
    """
    figure = make_subplots(rows=1, cols=2, subplot_titles=("loss", "validation top-1 (%)"))
    colours = px.colors.qualitative.Plotly
    for i, (name, history) in enumerate(histories.items()):
        colour = colours[i % len(colours)]
        figure.add_scatter(x=history["epoch"], y=history["train_loss"], name=f"{name} train", row=1, col=1,
                           line={"color": colour}, legendgroup=name)
        figure.add_scatter(x=history["epoch"], y=history["val_loss"], name=f"{name} val", row=1, col=1,
                           line={"color": colour, "dash": "dash"}, legendgroup=name)
        figure.add_scatter(x=history["epoch"], y=history["top1"], name=f"{name} top-1", row=1, col=2,
                           line={"color": colour}, legendgroup=name, showlegend=False)
    figure.update_xaxes(title_text="epoch")
    figure.update_layout(height=380, margin={"t": 40})
    return figure


def confusion_figure(result: EvaluationResult, title: str = "confusion matrix") -> go.Figure:
    """Heat map of video counts: rows true class, columns predicted class."""
    frame = result.confusion_frame()
    labels = {"x": "predicted", "y": "true", "color": "videos"}
    figure = px.imshow(frame.values, x=list(frame.columns), y=list(frame.index), text_auto=True,
                       color_continuous_scale="Blues", labels=labels)
    figure.update_layout(title=f"{title} (top-1 {result.top1:.1f} %)", height=460)
    return figure


def prediction_strip_figure(
    dataset: Dataset, result: EvaluationResult, indices: Sequence[int], max_frames: int = 8
) -> Figure:
    """One row per video of ``dataset`` (items (3, T, H, W) or (V, 3, T, H, W); the first view is
    shown): up to ``max_frames`` evenly spaced frames, titled with the true and predicted class."""
    normalize = Normalize()
    predictions = result.prediction_frame()
    figure = Figure(figsize=(1.3 * max_frames, 1.5 * len(indices)), layout="constrained")
    axes = figure.subplots(len(indices), max_frames, squeeze=False)
    for row, index in enumerate(indices):
        clip = dataset[index][0]
        frames = normalize.invert(clip[0] if clip.ndim == 5 else clip).numpy()  # (T, H, W, 3)
        shown = np.linspace(0, len(frames) - 1, min(max_frames, len(frames))).round().astype(int)
        info = predictions.iloc[index]
        for column, ax in enumerate(axes[row]):
            ax.axis("off")
            if column < len(shown):
                ax.imshow(frames[shown[column]])
        mark = "right" if info["correct"] else "WRONG"
        axes[row, 0].set_title(f"{info['label_name']} -> {info['predicted_name']} "
                               f"({info['probability']:.2f}, {mark})", loc="left", fontsize=9)
    return figure
