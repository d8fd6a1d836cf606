"""Channel-mixing matrices after each CT sub-operation: plotly heatmaps and a static matplotlib version.

Input: the (C_out, C_in) boolean patterns of ``analysis.channel_mixing.mixing_matrices``, optionally
with a channel order (``channel_mixing.channel_order(sizes, 0)`` makes step 1 block diagonal).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from matplotlib.figure import Figure
from plotly.subplots import make_subplots


def _prepared(
    patterns: Sequence[np.ndarray], channel_order: Sequence[int] | None
) -> tuple[list[np.ndarray], list[str], str]:
    if not patterns:
        raise ValueError("no mixing matrices to draw; pass the list from channel_mixing.mixing_matrices")
    size = patterns[0].shape[0]
    order = np.arange(size) if channel_order is None else np.asarray(channel_order)
    if sorted(order.tolist()) != list(range(size)):
        raise ValueError(f"channel_order must be a permutation of 0..{size - 1}")
    shown = [np.asarray(p)[np.ix_(order, order)] for p in patterns]
    titles = [f"after step {k + 1}: {int(p[0].sum())} of {size} channels" for k, p in enumerate(shown)]
    label = "channel" if channel_order is None else "channel (step-1 group order)"
    return shown, titles, label


def mixing_figure(patterns: Sequence[np.ndarray], channel_order: Sequence[int] | None = None) -> go.Figure:
    """One heatmap per step: dark where input channel i (x) reaches output channel o (y)."""
    shown, titles, label = _prepared(patterns, channel_order)
    figure = make_subplots(rows=1, cols=len(shown), subplot_titles=titles, horizontal_spacing=0.04)
    for k, pattern in enumerate(shown, start=1):
        figure.add_trace(go.Heatmap(
            z=pattern.astype(np.uint8), colorscale=[[0, "white"], [1, "black"]], showscale=False,
            hovertemplate="out %{y}, in %{x}: %{z}<extra></extra>",
        ), row=1, col=k)
        figure.update_xaxes(title_text=f"input {label}", row=1, col=k)
        figure.update_yaxes(autorange="reversed", scaleanchor=f"x{k if k > 1 else ''}", row=1, col=k)
    figure.update_yaxes(title_text=f"output {label}", row=1, col=1)
    figure.update_layout(height=360, width=max(420, 330 * len(shown)),
                         title="Channel mixing per sub-operation")
    return figure


def mixing_figure_static(
    patterns: Sequence[np.ndarray], channel_order: Sequence[int] | None = None
) -> Figure:
    """Matplotlib version of :func:`mixing_figure`."""
    shown, titles, label = _prepared(patterns, channel_order)
    figure = Figure(figsize=(3.0 * len(shown), 3.3), layout="constrained")
    axes = figure.subplots(1, len(shown), squeeze=False)[0]
    for ax, pattern, title in zip(axes, shown, titles, strict=True):
        ax.imshow(pattern, cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title, fontsize=8)
        ax.set_xlabel(f"input {label}", fontsize=8)
    axes[0].set_ylabel(f"output {label}", fontsize=8)
    return figure
