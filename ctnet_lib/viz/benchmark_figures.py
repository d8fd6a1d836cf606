"""Figures of a committed ``ctnet benchmark`` run (tables from ``analysis.benchmark_results``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ctnet_lib.ops.recompute import parse_checkpointing


def _case_name(row: pd.Series) -> str:
    extra = [row[name] for name in ("implementation", "memory_format") if isinstance(row.get(name), str)]
    checkpointing = row.get("checkpointing")  # a bool in runs made before its levels existed
    level = parse_checkpointing(checkpointing) if isinstance(checkpointing, (bool, str, np.bool_)) else "none"
    if level != "none":
        extra.append(f"checkpointing={level}")
    if row.get("accumulate", 1) > 1:
        extra.append(f"{row['accumulate']} micro-batches")
    return f"{row['label']} ({', '.join(extra)})" if extra else str(row["label"])


def _ratio_labels(rows: pd.DataFrame, column: str) -> list[str]:
    """'0.85x' per row; empty where the case did not measure it (a training-only case's inference)."""
    values = rows[column] if column in rows else pd.Series(np.nan, index=rows.index)
    return ["" if pd.isna(r) else f"{r:.2f}x" for r in values]


def network_benchmark_figure(networks: pd.DataFrame, title: str = "") -> go.Figure:
    """Bars per network case: inference and training-step ms (left), peak training memory (right),
    each labelled with its ratio to TSN's."""
    rows = networks.dropna(subset=["fwd_bwd_ms_vs_baseline"]).copy()
    names = [_case_name(row) for _, row in rows.iterrows()]
    figure = make_subplots(rows=1, cols=2,
                           subplot_titles=("time per call (ms)", "peak training memory (MiB)"))
    for column, label in (("fwd_ms", "inference"), ("fwd_bwd_ms", "training step (fwd + bwd)")):
        figure.add_trace(go.Bar(x=names, y=rows[column], name=label,
                                text=_ratio_labels(rows, f"{column}_vs_baseline")), row=1, col=1)
    figure.add_trace(go.Bar(x=names, y=rows["peak_mem_mb"], name="peak memory",
                            text=_ratio_labels(rows, "peak_mem_mb_vs_baseline")), row=1, col=2)
    figure.update_layout(title=title or "Whole networks, ratios to TSN", barmode="group", height=480)
    return figure


def module_benchmark_figure(modules: pd.DataFrame, title: str = "") -> go.Figure:
    """Forward + backward ms of every module case at each ResNet-50 stage (log axis)."""
    figure = go.Figure()
    for name, rows in modules.groupby(modules.apply(_case_name, axis=1), sort=False):
        figure.add_trace(go.Bar(x=rows["stage"], y=rows["fwd_bwd_ms"], name=name,
                                text=_ratio_labels(rows, "fwd_bwd_ms_vs_baseline")))
    figure.update_layout(title=title or "Modules at each stage: forward + backward (ratio to the 2D 3x3)",
                         barmode="group", yaxis={"type": "log", "title": "ms"}, height=480)
    return figure
