"""Figures of a complexity report: GMACs per network stage, as a plotly and as a matplotlib bar chart.

``table`` is ``ComplexityReport.table`` from ``ctnet_lib.analysis.counting.complexity``: one row per executed
layer with at least the columns ``name`` (dotted module name) and ``macs``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from matplotlib.figure import Figure


def stage_names(names: pd.Series) -> pd.Series:
    """Stage of each dotted layer name: its first component (``layer3.1.conv2`` -> ``layer3``); the
    layers before the first ``layer*`` form ``stem``, those after the last form ``head``."""
    first = names.str.split(".").str[0]
    is_stage = first.str.startswith("layer")
    after_stages = is_stage.cummax()
    return first.where(is_stage, pd.Series(np.where(after_stages, "head", "stem"), index=names.index))


def gmacs_by_stage(table: pd.DataFrame) -> pd.Series:
    """GMACs summed per stage, in forward order (stem, layer1, ..., head)."""
    return (table["macs"].groupby(stage_names(table["name"]), sort=False).sum() / 1e9).rename("gmacs")


def stage_gmacs_bar(table: pd.DataFrame, title: str = "GMACs per stage") -> go.Figure:
    """Interactive bar chart of :func:`gmacs_by_stage`."""
    gmacs = gmacs_by_stage(table)
    figure = go.Figure(go.Bar(x=gmacs.index, y=gmacs.values, text=[f"{v:.3g}" for v in gmacs.values]))
    figure.update_layout(title=title, xaxis_title="stage", yaxis_title="GMACs", height=380)
    return figure


def stage_gmacs_bar_static(table: pd.DataFrame, title: str = "GMACs per stage") -> Figure:
    """The same chart as a matplotlib figure (a static image in reports)."""
    gmacs = gmacs_by_stage(table)
    figure = Figure(figsize=(6, 3.2), layout="constrained")
    axes = figure.add_subplot()
    bars = axes.bar(gmacs.index, gmacs.values, color="tab:blue")
    axes.bar_label(bars, fmt="%.3g", fontsize=8)
    axes.margins(y=0.12)
    axes.set(title=title, xlabel="stage", ylabel="GMACs")
    return figure
