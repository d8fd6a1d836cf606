"""Figures of saliency tubes: colour-map overlays, the frame grid (models x frames), the 3D tube with
the object mask, temporal profiles and the localisation scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import torch
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize as ColourScale
from matplotlib.figure import Figure, SubFigure
from plotly.subplots import make_subplots

from ctnet_lib.explain.study import BASELINES, SCORE_COLUMNS, LocalisationStudy

__all__ = [
    "draw_frame_grid",
    "frame_detail_figure",
    "frame_grid_figure",
    "overlay_frames",
    "profile_figure",
    "scores_figure",
    "tube_3d_figure",
]

COLOUR_MAP = "jet"  # the Saliency Tubes and CT-Net demo convention
MAX_3D_SIDE = 48  # the 3D view samples H and W down to at most this many points
NO_CAPS = {"x_show": False, "y_show": False, "z_show": False}


def _as_array(volume: torch.Tensor | np.ndarray) -> np.ndarray:
    return volume.detach().cpu().numpy() if isinstance(volume, torch.Tensor) else np.asarray(volume)


def overlay_frames(
    frames: torch.Tensor | np.ndarray, volume: torch.Tensor | np.ndarray, alpha: float = 0.5,
    colour_map: str = COLOUR_MAP,
) -> np.ndarray:
    """Blend the colour-mapped ``volume`` (T, H, W) in [0, 1] over ``frames`` uint8 (T, H, W, 3):
    ``(1 - alpha) * frame + alpha * colour``; uint8 (T, H, W, 3)."""
    pixels = _as_array(frames).astype(np.float64)
    saliency = np.clip(_as_array(volume), 0, 1)
    if pixels.shape[:3] != saliency.shape:
        raise ValueError(f"frames {pixels.shape} and saliency {saliency.shape} differ in (T, H, W)")
    colours = colormaps[colour_map](saliency)[..., :3] * 255
    return np.round((1 - alpha) * pixels + alpha * colours).astype(np.uint8)


def frame_grid_figure(
    frames: torch.Tensor | np.ndarray,
    volumes: Mapping[str, torch.Tensor | np.ndarray],
    mask: np.ndarray | None = None,
    title: str = "",
    frame_labels: Sequence[str] | None = None,
    max_frames: int = 8,
) -> Figure:
    """Models in rows, frames in columns: the clip (with the object's outline when ``mask`` is given),
    then each model's tube over it, with one shared colour bar. ``volumes``: row title -> (T, H, W)."""
    t = _as_array(frames).shape[0]
    columns = min(t, max_frames)
    rows = 1 + len(volumes)
    size = (1.6 * columns + 1.2, 1.6 * rows + (0.5 if title else 0.2))
    figure = Figure(figsize=size, layout="constrained")
    draw_frame_grid(figure, frames, volumes, mask, title, frame_labels, max_frames)
    return figure


def draw_frame_grid(
    figure: Figure | SubFigure,
    frames: torch.Tensor | np.ndarray,
    volumes: Mapping[str, torch.Tensor | np.ndarray],
    mask: np.ndarray | None = None,
    title: str = "",
    frame_labels: Sequence[str] | None = None,
    max_frames: int = 8,
    outline_tubes: bool = False,
) -> None:
    """Draw :func:`frame_grid_figure`'s grid into ``figure`` (a figure or one of its sub-figures); with
    ``outline_tubes`` the object's outline is drawn over every tube too."""
    pixels = _as_array(frames)
    t = pixels.shape[0]
    shown = np.unique(np.linspace(0, t - 1, min(t, max_frames)).round().astype(int))
    rows = 1 + len(volumes)
    axes = figure.subplots(rows, len(shown), squeeze=False)
    overlays = [overlay_frames(pixels, volume) for volume in volumes.values()]
    for column, index in enumerate(shown):
        axes[0, column].imshow(pixels[index])
        if mask is not None and mask[index].any():
            axes[0, column].contour(mask[index], levels=[0.5], colors="white", linewidths=0.8)
        axes[0, column].set_title(frame_labels[index] if frame_labels else f"t={index}", fontsize=8)
        for row, overlay in enumerate(overlays, start=1):
            axes[row, column].imshow(overlay[index])
            if outline_tubes and mask is not None and mask[index].any():
                axes[row, column].contour(mask[index], levels=[0.5], colors="white", linewidths=0.6)
    for row, name in enumerate(["clip", *volumes]):
        axes[row, 0].set_ylabel(name, fontsize=9)
    for axis in axes.flat:
        axis.set_xticks([])
        axis.set_yticks([])
    scale = ScalarMappable(ColourScale(0, 1), colormaps[COLOUR_MAP])
    figure.colorbar(scale, ax=axes[1:, :] if rows > 1 else axes, shrink=0.8, label="saliency (normalised)")
    if title:
        figure.suptitle(title, fontsize=10)


def _downsample(volume: np.ndarray) -> tuple[np.ndarray, int]:
    step = max(1, int(np.ceil(max(volume.shape[1:]) / MAX_3D_SIDE)))
    return volume[:, ::step, ::step], step


def tube_3d_figure(
    volume: torch.Tensor | np.ndarray, mask: np.ndarray | None = None, threshold: float = 0.5, title: str = ""
) -> go.Figure:
    """The tube as an isosurface over (t, h, w) at ``threshold`` and above (colour = saliency), with
    the object's mask as a translucent white surface inside it."""
    saliency, step = _downsample(_as_array(volume).astype(np.float32))
    t, h, w = np.meshgrid(np.arange(saliency.shape[0]), np.arange(saliency.shape[1]) * step,
                          np.arange(saliency.shape[2]) * step, indexing="ij")
    coordinates = {"x": w.ravel(), "y": t.ravel(), "z": h.ravel()}
    figure = go.Figure(go.Isosurface(
        **coordinates, value=saliency.ravel(), isomin=threshold, isomax=1.0, surface_count=4,
        colorscale="Jet", cmin=0, cmax=1, opacity=0.35, caps=NO_CAPS, colorbar={"title": "saliency"},
        name="saliency",
    ))
    if mask is not None:
        object_mask, _ = _downsample(mask.astype(np.float32))
        figure.add_trace(go.Isosurface(
            **coordinates, value=object_mask.ravel(), isomin=0.5, isomax=1.0, surface_count=1,
            colorscale=[[0, "white"], [1, "white"]], showscale=False, opacity=0.6, name="object mask",
            caps=NO_CAPS,
        ))
    figure.update_layout(
        title=title, height=520, margin={"l": 0, "r": 0, "t": 40, "b": 0},
        scene={"xaxis_title": "w (px)", "yaxis_title": "t (frame)", "zaxis_title": "h (px)",
               "zaxis": {"autorange": "reversed"}, "aspectmode": "manual",
               "aspectratio": {"x": 1, "y": 1.5, "z": 1}},
    )
    return figure


def profile_figure(profiles: pd.DataFrame) -> go.Figure:
    """Share of saliency per frame, one line per model, the object mask's share of area dashed."""
    figure = go.Figure()
    for name in profiles.columns:
        dash = "dash" if name in BASELINES else None
        figure.add_scatter(x=profiles.index, y=profiles[name], name=name, mode="lines+markers",
                           line={"dash": dash})
    figure.update_layout(xaxis_title="frame of the clip", yaxis_title="share of saliency mass", height=360,
                         margin={"t": 30})
    return figure


def scores_figure(study: LocalisationStudy) -> go.Figure:
    """One panel per score: each model's mean with its standard deviation, the baselines as lines."""
    summary = study.summary()
    columns = [c for c in SCORE_COLUMNS if summary[(c, "mean")].notna().any()]
    figure = make_subplots(rows=1, cols=len(columns), subplot_titles=[SCORE_COLUMNS[c][0] for c in columns])
    for i, column in enumerate(columns, start=1):
        models = summary.loc[study.models]
        figure.add_bar(x=list(models.index), y=models[(column, "mean")], row=1, col=i, showlegend=False,
                       error_y={"type": "data", "array": models[(column, "std")].fillna(0)},
                       marker_color="steelblue")
        for baseline, dash in zip(BASELINES, ("dot", "dash", "dashdot"), strict=True):
            figure.add_hline(y=summary.loc[baseline, (column, "mean")], line_dash=dash, row=1, col=i,
                             annotation_text=baseline if i == 1 else None, annotation_position="top left")
    figure.update_layout(height=380, margin={"t": 50})
    return figure


def frame_detail_figure(
    frames: torch.Tensor | np.ndarray, volume: torch.Tensor | np.ndarray, mask: np.ndarray | None, frame: int,
    threshold: float = 0.5, title: str = "",
) -> Figure:
    """One frame three times: the frame with the object's outline, the tube blended over it, and the
    tube alone with the outline of ``saliency >= threshold``."""
    pixels, saliency = _as_array(frames), _as_array(volume)
    figure = Figure(figsize=(7.5, 2.9), layout="constrained")
    axes = figure.subplots(1, 3)
    axes[0].imshow(pixels[frame])
    axes[1].imshow(overlay_frames(pixels[frame : frame + 1], saliency[frame : frame + 1])[0])
    image = axes[2].imshow(saliency[frame], cmap=COLOUR_MAP, vmin=0, vmax=1)
    if saliency[frame].max() >= threshold > saliency[frame].min():
        axes[2].contour(saliency[frame], levels=[threshold], colors="white", linewidths=1)
    for axis, name in zip(axes, ("frame (object outlined)", "tube over the frame", f"tube, >= {threshold:g}"),
                          strict=True):
        if mask is not None and mask[frame].any() and axis is not axes[2]:
            axis.contour(mask[frame], levels=[0.5], colors="white", linewidths=0.8)
        axis.set_title(name, fontsize=9)
        axis.set_xticks([])
        axis.set_yticks([])
    figure.colorbar(image, ax=axes[2], shrink=0.8)
    if title:
        figure.suptitle(title, fontsize=10)
    return figure
