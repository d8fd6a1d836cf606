"""Figures of the ablation study: accuracy against cost, per sub-table of the paper's Table 2.

(Builders for ``06_ablations``; the numbers come from ``analysis.accuracy.ablation_results``.)
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ctnet_lib.analysis.accuracy.ablation_results import sub_table_summary
from ctnet_lib.models.ablations import SUB_TABLES

__all__ = ["COST_AXES", "accuracy_vs_cost_figure"]

# (summary column, per-seed column, axis title) of each cost
COST_AXES = (
    ("mmacs", "macs", "MMACs per clip", 1e-6),
    ("train_time_s", "train_time_s", "measured training time (s)", 1.0),
)


def accuracy_vs_cost_figure(results: pd.DataFrame, sub_table: str, metric: str = "final") -> go.Figure:
    """Held-out top-1 (%) of every seed (small markers) and its mean ± std (large marker, error bar)
    against MACs per clip (left) and measured training time (right), one colour per configuration of
    ``sub_table``; configurations without results are left out of the plot and named in the title."""
    summary = sub_table_summary(results, sub_table, metric)
    figure = make_subplots(rows=1, cols=2, subplot_titles=[axis[2] for axis in COST_AXES],
                           horizontal_spacing=0.08)
    colours = px.colors.qualitative.Plotly
    for index, (name, row) in enumerate(summary.iterrows()):
        if row["n"] == 0:
            continue
        colour = colours[index % len(colours)]
        seeds = results[results["config"] == name]
        for col, (mean_column, seed_column, _, scale) in enumerate(COST_AXES, start=1):
            figure.add_scatter(
                x=seeds[seed_column] * scale, y=seeds[f"{metric}_top1"], mode="markers", row=1, col=col,
                marker={"color": colour, "size": 6, "opacity": 0.6}, legendgroup=name, showlegend=False,
                hovertext=[f"{row['label']} seed {s}" for s in seeds["seed"]], name=row["label"])
            figure.add_scatter(
                x=[row[mean_column]], y=[row["top1_mean"]], mode="markers", row=1, col=col,
                error_y={"type": "data", "array": [0 if pd.isna(row["top1_std"]) else row["top1_std"]]},
                marker={"color": colour, "size": 13, "symbol": "diamond"}, legendgroup=name,
                name=f"{row['label']} (n={int(row['n'])}, paper {row['paper_top1']:.1f})",
                showlegend=col == 1)
    missing = [row["label"] for _, row in summary.iterrows() if row["n"] == 0]
    title = f"Table {sub_table} ({SUB_TABLES[sub_table]}): held-out top-1, {metric} epoch"
    if missing:
        title += f"<br><sup>no results yet: {', '.join(missing)}</sup>"
    figure.update_yaxes(title_text="top-1 (%)", col=1)
    figure.update_layout(title=title, height=420, margin={"t": 80})
    return figure
