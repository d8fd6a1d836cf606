"""Measured cost beside counted cost: latency and memory tables of temporal modules at every ResNet
stage and of whole networks (quantities defined in ``timing.measure``), ratios to a reference row, and
how well counted MACs predict measured time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from ctnet_lib.analysis.counting.complexity import count_complexity
from ctnet_lib.analysis.counting.formulas import divisors
from ctnet_lib.analysis.timing.measure import environment_info, measure
from ctnet_lib.devices import resolve_device
from ctnet_lib.models import build_model
from ctnet_lib.models.block_selection import LAYER_NAMES
from ctnet_lib.models.resnet import BACKBONES
from ctnet_lib.models.variants import BASELINE_FAMILY, DEFAULT_NUM_CLASSES, FAMILIES, family_presets
from ctnet_lib.ops.conv_bn_act import conv3d
from ctnet_lib.ops.module_registry import module_kinds
from ctnet_lib.ops.temporal_modules import TemporalModuleConfig, build_temporal_module

# Module types compared at each stage; None is the plain 2D 3x3 conv that the temporal module replaces.
PLAIN_MODULE = f"2D 3x3 ({BASELINE_FAMILY.label})"
CTNET_MODULE = f"{FAMILIES['ctnet'].label} (PW+TE)"
MODULE_TYPES: dict[str, TemporalModuleConfig | None] = {
    PLAIN_MODULE: None,
    **{kind.label: TemporalModuleConfig(kind=kind.name) for kind in module_kinds()},
    CTNET_MODULE: TemporalModuleConfig(**FAMILIES["ctnet"].temporal),
}


def network_presets(backbone: str = "r50") -> dict[str, tuple[str, dict[str, object]]]:
    """label -> (preset, options) of every model variant on ``backbone`` (r50, r101 or small)."""
    return {label: (preset, {}) for label, preset in family_presets(backbone).items()}


@dataclass(frozen=True)
class StageShape:
    """Input of a ResNet stage's 3x3 conv: C channels, T frames, H x W pixels."""

    stage: str
    channels: int
    frames: int
    height: int
    width: int


def resnet50_stage_shapes(
    resolution: int = 224, frames: int = 8, channel_divisor: int = 1
) -> list[StageShape]:
    """Shapes seen by the 3x3 convs of ResNet-50's stride-1 blocks.

    C = 64/128/256/512 at 56/28/14/7 px for a 224 px input (the stem halves twice, each stage once,
    rounding up); ``channel_divisor`` (a divisor of 64) shrinks C for quick runs.
    """
    if resolution < 1 or frames < 1 or channel_divisor < 1 or 64 % channel_divisor:
        raise ValueError(
            f"resolution={resolution}, frames={frames} must be >= 1 and channel_divisor={channel_divisor} "
            "a divisor of 64"
        )
    side = _half_up(_half_up(resolution))
    widths = BACKBONES["r50"].widths
    shapes = []
    for stage in range(4):
        shapes.append(StageShape(LAYER_NAMES[stage], widths[stage] // channel_divisor, frames, side, side))
        side = _half_up(side)
    return shapes


def _half_up(pixels: int) -> int:
    return (pixels + 1) // 2


def build_probe_module(config: TemporalModuleConfig | None, channels: int) -> nn.Module:
    """The temporal module of ``config``, or the 2D 3x3 conv it replaces (as a 1x3x3 Conv3d) for None."""
    if config is None:
        return conv3d(channels, channels, (1, 3, 3))
    return build_temporal_module(channels, config)


def module_latency_table(
    shapes: Sequence[StageShape],
    module_types: Mapping[str, TemporalModuleConfig | None] | None = None,
    device: str = "auto",
    repeats: int = 5,
    warmup: int = 2,
    batch_size: int = 1,
) -> pd.DataFrame:
    """One row per (stage shape, module type): counted GMACs and params beside latency and memory.

    Columns: module, stage, channels, c2, frames, height, width, batch_size, gmacs (per clip),
    params_m, fwd_ms, fwd_iqr_ms, fwd_bwd_ms, fwd_bwd_iqr_ms, saved_activation_mb, peak_fwd_mb,
    peak_fwd_bwd_mb, repeats, device, device_name, torch_version, threads, gmacs_per_s (forward
    throughput: counted GMACs of the batch per second).
    """
    module_types = MODULE_TYPES if module_types is None else module_types
    target = resolve_device(device)
    rows = []
    for shape in shapes:
        for label, config in module_types.items():
            module = build_probe_module(config, shape.channels)
            input_shape = (batch_size, shape.channels, shape.frames, shape.height, shape.width)
            rows.append(_module_row(label, module, config, shape, input_shape, target, repeats, warmup))
    return _finish(rows, MODULE_COLUMNS)


def c2_latency_table(
    shape: StageShape,
    c2_values: Sequence[int] | None = None,
    base: TemporalModuleConfig | None = None,
    device: str = "auto",
    repeats: int = 5,
    warmup: int = 2,
    batch_size: int = 1,
) -> pd.DataFrame:
    """One row per C2 (default: every divisor of C) of a K=2 CT-Module at ``shape``; columns as
    ``module_latency_table``."""
    base = (base or TemporalModuleConfig()).with_options(kind="ct", num_sub_dims=2)
    target = resolve_device(device)
    rows = []
    for c2 in divisors(shape.channels) if c2_values is None else c2_values:
        config = base.with_options(last_sub_dim=int(c2))
        module = build_temporal_module(shape.channels, config)
        input_shape = (batch_size, shape.channels, shape.frames, shape.height, shape.width)
        rows.append(_module_row(f"CT C2={c2}", module, config, shape, input_shape, target, repeats, warmup))
    return _finish(rows, MODULE_COLUMNS)


def _module_row(
    label: str,
    module: nn.Module,
    config: TemporalModuleConfig | None,
    shape: StageShape,
    input_shape: tuple[int, ...],
    device: torch.device,
    repeats: int,
    warmup: int,
) -> dict[str, object]:
    counted = count_complexity(module, (1, *input_shape[1:]))
    sizes = getattr(module, "sizes", None)
    return {
        "module": label, "stage": shape.stage, "channels": shape.channels,
        "c2": sizes[-1] if sizes and len(sizes) > 1 else math.nan,
        "frames": shape.frames, "height": shape.height, "width": shape.width,
        "batch_size": input_shape[0], "gmacs": counted.gmacs, "params_m": counted.params_m,
        **measure(module, input_shape, device, repeats, warmup),
        **environment_info(device),
    }


def network_latency_table(
    networks: Mapping[str, tuple[str, Mapping[str, object]]] | None = None,
    frames: int = 8,
    resolution: int = 224,
    device: str = "auto",
    repeats: int = 3,
    warmup: int = 1,
    batch_size: int = 1,
    num_classes: int = DEFAULT_NUM_CLASSES,
) -> pd.DataFrame:
    """One row per network (label -> (preset, options)) on clips (batch_size, 3, frames, res, res);
    columns as ``module_latency_table`` with preset instead of stage shape fields."""
    networks = network_presets() if networks is None else networks
    target = resolve_device(device)
    input_shape = (batch_size, 3, frames, resolution, resolution)
    rows = []
    for label, (preset, options) in networks.items():
        model = build_model(preset, num_classes=num_classes, num_frames=frames, **dict(options))
        counted = count_complexity(model, (1, *input_shape[1:]))
        rows.append({
            "network": label, "preset": preset, "options": dict(options), "frames": frames,
            "resolution": resolution, "batch_size": batch_size,
            "gmacs": counted.gmacs, "params_m": counted.params_m,
            **measure(model, input_shape, target, repeats, warmup, input_requires_grad=False),
            **environment_info(target),
        })
        del model
    return _finish(rows, NETWORK_COLUMNS)


MEASURE_COLUMNS = (
    "batch_size", "gmacs", "params_m", "fwd_ms", "fwd_iqr_ms", "fwd_bwd_ms", "fwd_bwd_iqr_ms",
    "saved_activation_mb", "peak_fwd_mb", "peak_fwd_bwd_mb", "repeats", "device", "device_name",
    "torch_version", "threads", "gmacs_per_s",
)


MODULE_COLUMNS = ("module", "stage", "channels", "c2", "frames", "height", "width", *MEASURE_COLUMNS)


NETWORK_COLUMNS = ("network", "preset", "options", "frames", "resolution", *MEASURE_COLUMNS)


def _finish(rows: list[dict[str, object]], columns: tuple[str, ...]) -> pd.DataFrame:
    """The rows as a DataFrame with ``columns`` in order (empty but with the columns when no rows)."""
    if not rows:
        return pd.DataFrame(columns=list(columns))
    frame = pd.DataFrame(rows)
    frame["gmacs_per_s"] = frame["gmacs"] * frame["batch_size"] / (frame["fwd_ms"] / 1000.0)
    return frame[list(columns)]


def relative_to(table: pd.DataFrame, label_column: str, reference: str) -> pd.DataFrame:
    """``table`` plus gmacs_ratio, fwd_ratio, fwd_bwd_ratio: each row over the ``reference`` row.

    Module tables are compared within each stage (column ``stage``); network tables as one group.
    An empty table (nothing measured) comes back empty, with the ratio columns.
    """
    ratio_columns = {"gmacs_ratio": [], "fwd_ratio": [], "fwd_bwd_ratio": []}
    if table.empty:
        return table.assign(**ratio_columns)
    if reference not in set(table[label_column]):
        raise ValueError(
            f"reference {reference!r} is not in column {label_column!r}; choose one of "
            f"{sorted(set(table[label_column]))}"
        )
    base = table[table[label_column] == reference]
    result = table.copy()
    for column, ratio in (("gmacs", "gmacs_ratio"), ("fwd_ms", "fwd_ratio"), ("fwd_bwd_ms", "fwd_bwd_ratio")):
        if "stage" in table:
            denominator = table["stage"].map(base.set_index("stage")[column])
        else:
            denominator = base[column].iloc[0]
        result[ratio] = table[column] / denominator
    return result


def flops_vs_time_summary(table: pd.DataFrame, label_column: str, reference: str) -> pd.DataFrame:
    """Per label: mean GMACs ratio, forward and forward+backward time ratios over ``reference``
    (within each stage), median forward throughput (GMAC/s) and median saved activations.

    Columns: <label_column>, gmacs_ratio, fwd_ratio, fwd_bwd_ratio, gmacs_per_s, saved_activation_mb,
    time_per_mac_vs_reference (fwd_ratio / gmacs_ratio: above 1 = slower than its MACs predict).
    """
    ratios = relative_to(table, label_column, reference)
    summary = ratios.groupby(label_column, sort=False).agg(
        gmacs_ratio=("gmacs_ratio", "mean"), fwd_ratio=("fwd_ratio", "mean"),
        fwd_bwd_ratio=("fwd_bwd_ratio", "mean"), gmacs_per_s=("gmacs_per_s", "median"),
        saved_activation_mb=("saved_activation_mb", "median"),
    )
    summary["time_per_mac_vs_reference"] = summary["fwd_ratio"] / summary["gmacs_ratio"]
    return summary.reset_index()


def rank_agreement(table: pd.DataFrame, time_column: str = "fwd_ms") -> float:
    """Spearman rank correlation between counted GMACs and measured time over the rows (1 = same order),
    averaged over stages when the table has them."""
    groups = [group for _, group in table.groupby("stage")] if "stage" in table else [table]
    values = [group["gmacs"].rank().corr(group[time_column].rank()) for group in groups if len(group) > 1]
    return float(np.mean(values)) if values else math.nan
