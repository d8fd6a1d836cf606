"""The paper's complexity tables (Table 2's rows, Table 8) as data, and their reproduction by the hook
counter.

Every row is ResNet-50, 8 frames, 256 x 256, Something-Something's classes (``DEFAULT_NUM_CLASSES``), the
paper's convention, unless it says otherwise (Table 8's InceptionV3 rows are 299 x 299, the input size
that gives its 45.8 GFLOPs). "GFLOPs" in the paper are multiply-accumulates.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import pandas as pd

from ctnet_lib.analysis.counting.complexity import count_complexity
from ctnet_lib.analysis.counting.formulas import network_cost
from ctnet_lib.models import build_model
from ctnet_lib.models.presets import PRESETS, TEMPORAL_OPTIONS, model_config
from ctnet_lib.models.variants import DEFAULT_NUM_CLASSES
from ctnet_lib.ops.temporal_modules import TemporalModuleConfig

PAPER_TOLERANCE_PCT = 1.0


@dataclass(frozen=True)
class ReferenceRow:
    """One number the paper reports: which model (preset + options) on which clip, and its cost."""

    row: str
    table: str
    preset: str
    paper_gmacs: float
    paper_params_m: float | None = None
    options: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    frames: int = 8
    size: int = 256
    num_classes: int = DEFAULT_NUM_CLASSES
    tolerance_pct: float = PAPER_TOLERANCE_PCT  # wider only with a ``note`` that explains the residual
    note: str = ""


def _row(row: str, table: str, preset: str, gmacs: float, params_m: float | None = None,
         **options: object) -> ReferenceRow:
    frames = int(options.pop("frames", 8))
    size = int(options.pop("size", 256))
    tolerance = float(options.pop("tolerance_pct", PAPER_TOLERANCE_PCT))
    note = str(options.pop("note", ""))
    return ReferenceRow(row, table, preset, gmacs, params_m, MappingProxyType(options), frames, size,
                        tolerance_pct=tolerance, note=note)


# Table 8's CT-Net-InceptionV3: the residual of the stated rule (equal_3x3: the three 96-channel 3x3 convs
# of Mixed_5b/5c/5d, the only square 3x3 convs of InceptionV3 with stride 1 and equal channels)
INCEPTION_RESIDUAL = (
    "rule equal_3x3 replaces the 3 stride-1 equal-channel 3x3 convs (Mixed_5b/c/d.branch3x3dbl_3, 96 "
    "channels): 0.5 GMACs more than the paper's; its 1.2 M fewer parameters need convs of the 8x8 stages "
    "(Mixed_7b/7c: 1x3/3x1 or 448->384 convs) that a 3x3 module cannot replace as they are"
)


def reference_rows() -> list[ReferenceRow]:
    """The complexity rows the paper reports, in its order (Table 2a, 2g, 2h, 3, 2b, 2d), then Table 8."""
    return [
        _row("TSN (plain 2D ResNet-50)", "2g", "tsn_r50", 43.0, 23.9),
        _row("C3D-Module", "2a", "c3d_r50", 59.9),
        _row("R(2+1)D-Module", "2a", "r2plus1d_r50", 45.8),
        _row("CSN-Module", "2a", "csn_r50", 35.6),
        _row("CT-Module (K=2, balanced)", "2a", "ctmodule_r50", 36.3),
        _row("+ PWConv", "2g", "ctmodule_r50", 37.2, pwconv=True),
        _row("+ PWConv + SE", "2g", "ctmodule_r50", 37.2, pwconv=True, excitation="se"),
        _row("CT-Net (+ PWConv + TE)", "2g", "ctnet_r50", 37.3, 21.0),
        _row("CT-Net at 224x224", "2h", "ctnet_r50", 28.6, size=224),
        _row("CT-Net, 16 frames", "3", "ctnet_r50", 75.0, frames=16),
        _row("K = 1", "2b", "ctmodule_r50", 45.8, num_sub_dims=1),
        _row("K = 3", "2b", "ctmodule_r50", 35.7, num_sub_dims=3),
        _row("K = 4", "2b", "ctmodule_r50", 35.6, num_sub_dims=4),
        _row("C2 = 1", "2d", "ctmodule_r50", 45.9, last_sub_dim=1),
        _row("C2 = 4", "2d", "ctmodule_r50", 37.6, last_sub_dim=4),
        _row("C2 = 16", "2d", "ctmodule_r50", 36.4, last_sub_dim=16),
        _row("TSN-InceptionV3", "8", "tsn_inception_v3", 45.8, 22.1, size=299),
        _row("CT-Net-InceptionV3", "8", "ctnet_inception_v3", 43.9, 20.9, size=299, tolerance_pct=6.0,
             note=INCEPTION_RESIDUAL),
    ]


def select_reference_rows(names: str | Sequence[str] = "all") -> list[ReferenceRow]:
    """'all' -> every row, 'none' -> no row, a list -> the rows with those names (in the paper's order).

    Raises ValueError naming the unknown rows and the valid names.
    """
    rows = reference_rows()
    if isinstance(names, str):
        if names not in ("all", "none"):
            raise ValueError(f"rows={names!r}: use 'all', 'none' or a list of row names")
        return rows if names == "all" else []
    unknown = sorted(set(names) - {r.row for r in rows})
    if unknown:
        raise ValueError(f"unknown paper-table rows {unknown}; valid names: {[r.row for r in rows]}")
    return [r for r in rows if r.row in set(names)]


def temporal_config_of(preset: str, options: Mapping[str, object] | None = None) -> TemporalModuleConfig:
    """The temporal-module configuration ``build_model(preset, **options)`` would use (no model built)."""
    extra = sorted(set(options or {}) - set(TEMPORAL_OPTIONS))
    if extra:
        raise ValueError(f"options {extra} are not temporal-module options; use {sorted(TEMPORAL_OPTIONS)}")
    return model_config(preset, **(options or {})).temporal


def network_sweep(
    option: str,
    values: Sequence[object],
    preset: str = "ctmodule_r50",
    frames: int = 8,
    size: int = 256,
) -> pd.DataFrame:
    """Whole-network GMACs and params (closed form, ``formulas.network_cost``) for each value of one
    temporal option, beside the paper's number where a reference row has the same configuration,
    frames and size.

    Columns: option, value, gmacs, params_m, paper_gmacs (NaN where the paper has no such row).
    """
    backbone = PRESETS[preset].backbone
    references = {
        (temporal_config_of(r.preset, r.options), r.frames, r.size): r.paper_gmacs
        for r in reference_rows() if PRESETS[r.preset].backbone == backbone
    }
    records = []
    for value in values:
        config = temporal_config_of(preset, {option: value})
        cost = network_cost(config, frames, size, backbone=backbone)
        records.append({"option": option, "value": value, "gmacs": cost.gmacs, "params_m": cost.params_m,
                        "paper_gmacs": references.get((config, frames, size), float("nan"))})
    return pd.DataFrame(records)


TABLE_COLUMNS = ("row", "preset", "options", "frames", "size", "gmacs", "paper_gmacs", "rel_error_pct",
                 "params_m", "paper_params_m", "table", "tolerance_pct", "note")


def reproduce_paper_table(
    rows: Sequence[ReferenceRow] | None = None, progress: bool = False
) -> pd.DataFrame:
    """Build and count every row (about 1.3 s per row on one idle core).

    Columns: row, preset, options, frames, size, gmacs, paper_gmacs, rel_error_pct, params_m,
    paper_params_m (NaN where the paper gives none), table (the paper's table), tolerance_pct and note
    (why a row is further from the paper than 1 %). ``progress`` prints
    one line per row to stderr.
    """
    records = []
    for reference in reference_rows() if rows is None else rows:
        start = time.perf_counter()
        model = build_model(reference.preset, num_classes=reference.num_classes,
                            num_frames=reference.frames, **dict(reference.options))
        report = count_complexity(model, (1, 3, reference.frames, reference.size, reference.size))
        records.append({
            "row": reference.row, "preset": reference.preset, "options": dict(reference.options),
            "frames": reference.frames, "size": reference.size, "gmacs": report.gmacs,
            "paper_gmacs": reference.paper_gmacs,
            "rel_error_pct": 100.0 * (report.gmacs - reference.paper_gmacs) / reference.paper_gmacs,
            "params_m": report.params_m,
            "paper_params_m": float("nan") if reference.paper_params_m is None else reference.paper_params_m,
            "table": reference.table, "tolerance_pct": reference.tolerance_pct, "note": reference.note,
        })
        if progress:
            print(f"{reference.row}: {report.gmacs:.2f} GMACs (paper {reference.paper_gmacs}) "
                  f"in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return pd.DataFrame(records, columns=list(TABLE_COLUMNS))
