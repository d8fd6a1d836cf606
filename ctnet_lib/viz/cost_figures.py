"""Cost figures: counted MACs against C2, K and module type, and measured latency beside them.

Each figure comes twice: a plotly figure (interactive) and a ``*_static`` matplotlib ``Figure``
(outside pyplot's state; a static image in reports). Inputs are the DataFrames of
``analysis.counting.formulas.c2_cost_curve``, ``analysis.counting.paper_tables``
(``reproduce_paper_table``, ``network_sweep``) and ``analysis.timing.latency_tables``
(``module_latency_table``, ``c2_latency_table``, ``network_latency_table``);
``disagreement_lines`` puts a ``flops_vs_time_summary`` into sentences for the notebooks.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from matplotlib.figure import Figure
from plotly.subplots import make_subplots

LATENCY_COLUMNS = {"fwd_ms": "forward", "fwd_bwd_ms": "forward + backward"}


def _require(frame: pd.DataFrame, columns: tuple[str, ...], source: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"the table lacks columns {missing}; pass the DataFrame of {source}")


def c2_cost_figure(curve: pd.DataFrame, channels: int) -> go.Figure:
    """Module MMACs against C2 (log2 axis), the minimum marked and sqrt(C) as a dashed line."""
    _require(curve, ("c2", "c1", "macs", "is_min"), "formulas.c2_cost_curve")
    best = curve[curve["is_min"]]
    figure = go.Figure()
    figure.add_trace(go.Scatter(
        x=curve["c2"], y=curve["macs"] / 1e6, mode="lines+markers", name="CT-Module (K=2)",
        customdata=curve["c1"], hovertemplate="C2=%{x}, C1=%{customdata}<br>%{y:.1f} MMACs<extra></extra>",
    ))
    figure.add_trace(go.Scatter(x=best["c2"], y=best["macs"] / 1e6, mode="markers", name="minimum",
                                marker={"size": 14, "symbol": "star", "color": "crimson"}))
    root = math.sqrt(channels)
    figure.add_vline(x=root, line_dash="dash", annotation_text=f"√C = {root:.3g}")
    figure.update_xaxes(type="log", tickvals=list(curve["c2"]), ticktext=[str(v) for v in curve["c2"]],
                        title="C2 (size of the last sub-dimension)")
    figure.update_layout(title=f"Cost of one CT-Module vs C2 (C = {channels})", yaxis_title="MMACs",
                         height=400)
    return figure


def c2_cost_figure_static(curve: pd.DataFrame, channels: int) -> Figure:
    """Matplotlib version of :func:`c2_cost_figure`."""
    _require(curve, ("c2", "c1", "macs", "is_min"), "formulas.c2_cost_curve")
    figure = Figure(figsize=(6, 3.5), layout="constrained")
    axes = figure.add_subplot()
    axes.plot(curve["c2"], curve["macs"] / 1e6, "o-", label="CT-Module (K=2)")
    best = curve[curve["is_min"]]
    axes.plot(best["c2"], best["macs"] / 1e6, "*", color="crimson", markersize=14, label="minimum")
    axes.axvline(math.sqrt(channels), linestyle="--", color="grey", label=f"√C = {math.sqrt(channels):.3g}")
    axes.set_xscale("log", base=2)
    axes.set_xticks(list(curve["c2"]), [str(v) for v in curve["c2"]])
    axes.set(xlabel="C2 (size of the last sub-dimension)", ylabel="MMACs",
             title=f"Cost of one CT-Module vs C2 (C = {channels})")
    axes.legend()
    return figure


def paper_table_figure(table: pd.DataFrame) -> go.Figure:
    """Ours vs the paper's GMACs for every reproduced row (grouped bars, relative error on hover)."""
    _require(table, ("row", "gmacs", "paper_gmacs", "rel_error_pct"), "paper_tables.reproduce_paper_table")
    figure = go.Figure([
        go.Bar(x=table["row"], y=table["gmacs"], name="ours", customdata=table["rel_error_pct"],
               hovertemplate="%{x}<br>%{y:.2f} GMACs (%{customdata:+.2f} %)<extra></extra>"),
        go.Bar(x=table["row"], y=table["paper_gmacs"], name="paper"),
    ])
    figure.update_layout(barmode="group", title="Whole-network GMACs, ResNet-50: ours vs the paper",
                         yaxis_title="GMACs", height=450, xaxis_tickangle=-35)
    return figure


def paper_table_figure_static(table: pd.DataFrame) -> Figure:
    """Matplotlib version of :func:`paper_table_figure`."""
    _require(table, ("row", "gmacs", "paper_gmacs"), "paper_tables.reproduce_paper_table")
    figure = Figure(figsize=(9, 4), layout="constrained")
    axes = figure.add_subplot()
    positions = range(len(table))
    axes.bar([p - 0.2 for p in positions], table["gmacs"], width=0.4, label="ours")
    axes.bar([p + 0.2 for p in positions], table["paper_gmacs"], width=0.4, label="paper")
    axes.set_xticks(list(positions), table["row"], rotation=35, ha="right", fontsize=8)
    axes.set(ylabel="GMACs", title="Whole-network GMACs, ResNet-50: ours vs the paper")
    axes.legend()
    return figure


def network_sweep_figure(sweep: pd.DataFrame) -> go.Figure:
    """Whole-network GMACs per value of one option (``paper_tables.network_sweep``), with the paper's
    numbers where it has them."""
    _require(sweep, ("option", "value", "gmacs", "paper_gmacs"), "paper_tables.network_sweep")
    option, values = sweep["option"].iloc[0], sweep["value"].astype(str)
    figure = go.Figure(go.Scatter(x=values, y=sweep["gmacs"], mode="lines+markers", name="ours"))
    figure.add_trace(go.Scatter(x=values, y=sweep["paper_gmacs"], mode="markers", name="paper",
                                marker={"symbol": "x", "size": 12}))
    figure.update_xaxes(type="category", title=option)
    figure.update_layout(title=f"Whole-network GMACs vs {option}", yaxis_title="GMACs", height=380)
    return figure


def network_sweep_figure_static(sweep: pd.DataFrame) -> Figure:
    """Matplotlib version of :func:`network_sweep_figure`."""
    _require(sweep, ("option", "value", "gmacs", "paper_gmacs"), "paper_tables.network_sweep")
    option, values = sweep["option"].iloc[0], sweep["value"].astype(str)
    figure = Figure(figsize=(5.5, 3.2), layout="constrained")
    axes = figure.add_subplot()
    axes.plot(values, sweep["gmacs"], "o-", label="ours")
    axes.plot(values, sweep["paper_gmacs"], "x", markersize=11, label="paper")
    axes.set(xlabel=option, ylabel="GMACs", title=f"Whole-network GMACs vs {option}")
    axes.legend()
    return figure


def latency_vs_c2_figure(table: pd.DataFrame) -> go.Figure:
    """Measured latency (median, IQR as error bars) and counted GMACs against C2 (second y axis)."""
    _require(table, ("c2", "gmacs", "fwd_ms", "fwd_iqr_ms", "fwd_bwd_ms", "fwd_bwd_iqr_ms"),
             "latency.c2_latency_table")
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    for column, label in LATENCY_COLUMNS.items():
        figure.add_trace(go.Scatter(
            x=table["c2"], y=table[column], mode="lines+markers", name=f"{label} (ms)",
            error_y={"type": "data", "array": table[column.replace("_ms", "_iqr_ms")]},
        ), secondary_y=False)
    figure.add_trace(go.Scatter(x=table["c2"], y=table["gmacs"], mode="lines+markers", name="GMACs",
                                line={"dash": "dot", "color": "black"}), secondary_y=True)
    figure.update_xaxes(type="log", tickvals=list(table["c2"]), title="C2")
    figure.update_yaxes(title_text="latency (ms, median ± IQR)", secondary_y=False)
    figure.update_yaxes(title_text="GMACs (counted)", secondary_y=True)
    figure.update_layout(title=_latency_title(table, "CT-Module latency vs C2"), height=420)
    return figure


def latency_vs_c2_figure_static(table: pd.DataFrame) -> Figure:
    """Matplotlib version of :func:`latency_vs_c2_figure`."""
    _require(table, ("c2", "gmacs", "fwd_ms", "fwd_iqr_ms", "fwd_bwd_ms", "fwd_bwd_iqr_ms"),
             "latency.c2_latency_table")
    figure = Figure(figsize=(6.5, 3.6), layout="constrained")
    axes = figure.add_subplot()
    for column, label in LATENCY_COLUMNS.items():
        axes.errorbar(table["c2"], table[column], yerr=table[column.replace("_ms", "_iqr_ms")], marker="o",
                      capsize=3, label=f"{label} (ms)")
    axes.set_xscale("log", base=2)
    axes.set_xticks(list(table["c2"]), [str(v) for v in table["c2"]])
    axes.set(xlabel="C2", ylabel="latency (ms, median ± IQR)", title=_latency_title(table, "CT-Module vs C2"))
    twin = axes.twinx()
    twin.plot(table["c2"], table["gmacs"], "k:", marker="s", label="GMACs")
    twin.set_ylabel("GMACs (counted)")
    axes.legend(loc="upper left", fontsize=8)
    twin.legend(loc="upper right", fontsize=8)
    return figure


def _latency_title(table: pd.DataFrame, what: str) -> str:
    if table.empty:
        return f"{what} (nothing measured)"
    if "device_name" not in table:
        return what
    row = table.iloc[0]
    return f"{what} — {row['device_name']}, {row['threads']} threads, torch {row['torch_version']}"


def latency_by_module_figure(table: pd.DataFrame, label_column: str = "module") -> go.Figure:
    """Counted GMACs (left) beside measured forward and forward+backward ms (right) per module type,
    one colour per stage (or a single series for network tables)."""
    _require(table, (label_column, "gmacs", "fwd_ms", "fwd_bwd_ms"), "latency.module_latency_table")
    groups = table.groupby("stage", sort=False) if "stage" in table else [("network", table)]
    figure = make_subplots(rows=1, cols=3, subplot_titles=("counted GMACs", "forward ms", "fwd + bwd ms"))
    for name, group in groups:
        for col, column in enumerate(("gmacs", "fwd_ms", "fwd_bwd_ms"), start=1):
            error = group[column.replace("_ms", "_iqr_ms")] if column != "gmacs" else None
            figure.add_trace(go.Bar(
                x=group[label_column], y=group[column], name=str(name), legendgroup=str(name),
                showlegend=col == 1, error_y=None if error is None else {"type": "data", "array": error},
            ), row=1, col=col)
    figure.update_layout(barmode="group", height=430,
                         title=_latency_title(table, "Counted cost vs measured time"))
    figure.update_xaxes(tickangle=-35)
    return figure


def latency_by_module_figure_static(table: pd.DataFrame, label_column: str = "module") -> Figure:
    """Matplotlib version of :func:`latency_by_module_figure`."""
    _require(table, (label_column, "gmacs", "fwd_ms", "fwd_bwd_ms"), "latency.module_latency_table")
    labels = list(dict.fromkeys(table[label_column]))
    stages = list(dict.fromkeys(table["stage"])) if "stage" in table else ["network"]
    figure = Figure(figsize=(12, 3.8), layout="constrained")
    axes = figure.subplots(1, 3)
    width = 0.8 / max(len(stages), 1)
    for i, stage in enumerate(stages):
        group = table if stage == "network" else table[table["stage"] == stage]
        group = group.set_index(label_column).reindex(labels)
        positions = [p + (i - (len(stages) - 1) / 2) * width for p in range(len(labels))]
        for ax, column in zip(axes, ("gmacs", "fwd_ms", "fwd_bwd_ms"), strict=True):
            error = group[column.replace("_ms", "_iqr_ms")] if column != "gmacs" else None
            ax.bar(positions, group[column], width=width, yerr=error, label=stage, capsize=2)
    for ax, title in zip(axes, ("counted GMACs", "forward ms", "fwd + bwd ms"), strict=True):
        ax.set_xticks(range(len(labels)), labels, rotation=35, ha="right", fontsize=8)
        ax.set_title(title)
    if not table.empty:
        axes[0].legend(fontsize=8)
    figure.suptitle(_latency_title(table, "Counted cost vs measured time"), fontsize=9)
    return figure


def disagreement_lines(summary: pd.DataFrame, label_column: str, reference: str) -> list[str]:
    """One sentence per label of a ``flops_vs_time_summary``: its MACs and times relative to
    ``reference`` and whether it runs slower or faster than its MACs predict."""
    lines = []
    for _, row in summary.iterrows():
        if row[label_column] == reference:
            continue
        factor = row["time_per_mac_vs_reference"]
        verdict = (f"forward {factor:.1f}x slower than its MACs predict" if factor > 1
                   else f"forward {1 / factor:.1f}x faster than its MACs predict")
        lines.append(
            f"{row[label_column]}: {row['gmacs_ratio']:.2f}x the MACs of {reference}, "
            f"{row['fwd_ratio']:.2f}x its forward time, {row['fwd_bwd_ratio']:.2f}x its forward+backward "
            f"time ({verdict}; {row['gmacs_per_s']:.0f} GMAC/s forward, "
            f"{row['saved_activation_mb']:.3g} MiB saved for backward)"
        )
    return lines
