"""Figures of interaction fields and effective receptive fields (matplotlib and plotly).

Inputs are the results of ``ctnet_lib.analysis.fields.interaction_field`` (``InteractionField`` lists),
``field_table.growth_table`` and ``effective_receptive_field`` (``EffectiveReceptiveField``).
The plotly figures embed no remote resources, so they render offline; the matplotlib figures are
``Figure`` objects outside pyplot's state (a notebook shows each once, where it is returned).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from matplotlib import colormaps
from matplotlib.colors import PowerNorm, to_hex
from matplotlib.figure import Figure
from plotly.subplots import make_subplots

from ctnet_lib.analysis.fields.effective_receptive_field import EffectiveReceptiveField
from ctnet_lib.analysis.fields.interaction_field import InteractionField

PANEL_INCHES = 3.0


def _as_list(fields: InteractionField | Sequence[InteractionField]) -> list[InteractionField]:
    items = [fields] if isinstance(fields, InteractionField) else list(fields)
    if not items:
        raise ValueError("no interaction fields to draw; pass at least one InteractionField")
    return items


def channel_matrix_figure(
    fields: InteractionField | Sequence[InteractionField], channel_order: Sequence[int] | None = None
) -> Figure:
    """One (C_out, C_in) heatmap per step: dark where the input channel reaches the output channel.

    ``channel_order`` re-orders rows and columns alike (e.g. ``channel_mixing.channel_order(sizes, 0)``,
    in which the first CT sub-operation is block diagonal); the default is the original channel order.
    """
    items = _as_list(fields)
    if channel_order is None:
        order, label = np.arange(items[0].channel_matrix.shape[0]), "channel"
    else:
        order, label = np.asarray(channel_order), "channel (fibre order)"
    fig = Figure(figsize=(PANEL_INCHES * len(items), PANEL_INCHES + 0.4), layout="constrained")
    axes = fig.subplots(1, len(items), squeeze=False)
    for ax, field in zip(axes[0], items, strict=True):
        ax.imshow(field.channel_matrix[np.ix_(order, order)], cmap="Greys", vmin=0, vmax=1,
                  interpolation="nearest")
        per_row = int(field.channel_matrix[field.probe[0]].sum())
        ax.set_title(f"step {field.step}: {field.name}\n{per_row} of {field.channel_matrix.shape[1]} "
                     "channels reach each output", fontsize=8)
        ax.set_xlabel(f"input {label}")
        ax.set_ylabel(f"output {label}")
    return fig


def _channel_counts(field: InteractionField) -> np.ndarray:
    """(T, H, W) int: how many input channels reach the probed unit from each position."""
    return field.per_channel.sum(axis=0)


def field_slices_figure(fields: InteractionField | Sequence[InteractionField]) -> Figure:
    """Per step (rows): the t-h slice through the probe's w and the h-w slice through its t.

    Colour = number of input channels reaching the probed unit from that position; x marks the probe.
    """
    items = _as_list(fields)
    vmax = max(int(_channel_counts(f).max()) for f in items) or 1
    fig = Figure(figsize=(2 * PANEL_INCHES, PANEL_INCHES * len(items)), layout="constrained")
    axes = fig.subplots(len(items), 2, squeeze=False)
    image = None
    for row, field in zip(axes, items, strict=True):
        counts = _channel_counts(field)
        _, t, h, w = field.probe
        views = ((counts[:, :, w], "h", "t", (h, t), "t-h slice"), (counts[t], "w", "h", (w, h), "h-w slice"))
        for ax, (plane, xlabel, ylabel, marker, title) in zip(row, views, strict=True):
            image = ax.imshow(plane, cmap="viridis", vmin=0, vmax=vmax, interpolation="nearest")
            ax.plot(*marker, "x", color="red")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.set_title(f"step {field.step} {title}: {field.num_channels} ch, {field.volume} voxels",
                         fontsize=8)
    fig.colorbar(image, ax=axes, shrink=0.6, label="input channels reaching the unit")
    return fig


def field_voxels_figure(fields: InteractionField | Sequence[InteractionField]) -> go.Figure:
    """3D view of the field's voxels (colour = channels reaching the unit), one slider stop per step."""
    items = _as_list(fields)
    shape = items[0].positions.shape
    vmax = max(int(_channel_counts(f).max()) for f in items) or 1
    fig = go.Figure()
    for i, field in enumerate(items):
        counts = _channel_counts(field)
        t, h, w = np.nonzero(counts)
        fig.add_trace(go.Scatter3d(
            x=w, y=h, z=t, mode="markers", visible=i == len(items) - 1, name=f"step {field.step}",
            marker={"symbol": "square", "size": 6, "color": counts[t, h, w], "cmin": 0, "cmax": vmax,
                    "colorscale": "Viridis", "opacity": 0.6, "colorbar": {"title": {"text": "channels"}}},
            hovertemplate="t=%{z} h=%{y} w=%{x}<br>channels=%{marker.color}<extra></extra>",
        ))
    stops = [
        {"method": "update", "label": str(f.step),
         "args": [{"visible": [j == i for j in range(len(items))]},
                  {"title": {"text": f"step {f.step}: {f.name} - {f.volume} voxels, box "
                             f"{'x'.join(map(str, f.extent))}, {f.num_channels} channels"}}]}
        for i, f in enumerate(items)
    ]
    last = items[-1]
    fig.update_layout(
        title={"text": f"step {last.step}: {last.name} - {last.volume} voxels, box "
                       f"{'x'.join(map(str, last.extent))}, {last.num_channels} channels"},
        scene={"xaxis": {"title": {"text": "w"}, "range": [-0.5, shape[2] - 0.5]},
               "yaxis": {"title": {"text": "h"}, "range": [-0.5, shape[1] - 0.5]},
               "zaxis": {"title": {"text": "t"}, "range": [-0.5, shape[0] - 0.5]},
               "aspectmode": "cube"},
        sliders=[{"active": len(items) - 1, "currentvalue": {"prefix": "step "}, "steps": stops}],
        height=520, margin={"l": 0, "r": 0, "t": 40, "b": 0},
    )
    return fig


def growth_figure(growth: pd.DataFrame) -> go.Figure:
    """Plotly: field voxels (exact solid, bounding box dotted, log scale) and channel fraction per step.

    ``growth``: the frame of ``field_table.growth_table`` (module, step, voxels, box_voxels,
    channel_fraction).
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("field size (voxels)", "share of channels reached"))
    colours = dict(zip(growth["module"].unique(), _palette(), strict=False))
    for module, rows in growth.groupby("module", sort=False):
        colour, step = colours[module], rows["step"]
        solid, dotted = {"color": colour}, {"color": colour, "dash": "dot"}
        fig.add_trace(go.Scatter(x=step, y=rows["voxels"], name=f"{module} exact", mode="lines+markers",
                                 line=solid, legendgroup=module), row=1, col=1)
        fig.add_trace(go.Scatter(x=step, y=rows["box_voxels"], name=f"{module} box", mode="lines",
                                 line=dotted, legendgroup=module), row=1, col=1)
        fig.add_trace(go.Scatter(x=step, y=rows["channel_fraction"], name=module, mode="lines+markers",
                                 line=solid, legendgroup=module, showlegend=False), row=1, col=2)
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_xaxes(title_text="sub-operations")
    fig.update_layout(height=420)
    return fig


def growth_figure_matplotlib(growth: pd.DataFrame) -> Figure:
    """Matplotlib twin of ``growth_figure``."""
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    left, right = fig.subplots(1, 2)
    groups = growth.groupby("module", sort=False)
    for i, ((module, rows), colour) in enumerate(zip(groups, _palette(), strict=False)):
        style = {"color": colour, "marker": "osD^v"[i % 5], "markersize": 9 - i, "linestyle": "-"}
        left.plot(rows["step"], rows["voxels"], label=f"{module} exact", **style)
        left.plot(rows["step"], rows["box_voxels"], ":", color=colour)
        right.plot(rows["step"], rows["channel_fraction"], label=module, **style)
    left.set_yscale("log")
    left.set_title("field size (voxels; dotted: bounding box)")
    right.set_title("share of channels reached")
    for ax in (left, right):
        ax.set_xlabel("sub-operations")
    left.legend(fontsize=7)
    return fig


def _palette() -> list[str]:
    """tab10 as hex strings, valid in matplotlib and plotly alike."""
    return [to_hex(colormaps["tab10"](i)) for i in range(10)]


def erf_figure(erfs: Mapping[str, EffectiveReceptiveField], gamma: float = 0.5) -> Figure:
    """Per model (rows): ERF h-w slice at the centre frame, t-w slice at the centre row, mass per frame.

    Colours use a power norm (``gamma``) so the tails stay visible.
    """
    if not erfs:
        raise ValueError("no effective receptive fields to draw; pass {label: EffectiveReceptiveField}")
    fig = Figure(figsize=(10, 3.0 * len(erfs)), layout="constrained")
    axes = fig.subplots(len(erfs), 3, squeeze=False)
    for row, (label, erf) in zip(axes, erfs.items(), strict=True):
        t, h, _ = erf.centre
        summary = erf.summary()
        row[0].imshow(erf.map[t], cmap="magma", norm=PowerNorm(gamma))
        row[0].set_title(f"{label}: h-w at frame {t}\n90 % within r={summary['radius90_h']} px (h)",
                         fontsize=8)
        row[1].imshow(erf.map[:, h, :], cmap="magma", norm=PowerNorm(gamma), aspect="auto")
        row[1].set_title(f"{label}: t-w at row {h}", fontsize=8)
        row[1].set_xlabel("w")
        row[1].set_ylabel("t")
        row[2].bar(np.arange(erf.map.shape[0]), erf.marginal("t"))
        off_centre = 100 * summary["mass_off_centre_frame"]
        row[2].set_title(f"{label}: mass per frame\n{off_centre:.1f} % off the centre frame", fontsize=8)
        row[2].set_xlabel("t")
    return fig
