import math
import time

import pandas as pd
import pytest
import torch

from ctnet_lib.analysis.counting.formulas import divisors
from ctnet_lib.analysis.timing.latency_tables import (
    MODULE_COLUMNS,
    MODULE_TYPES,
    StageShape,
    c2_latency_table,
    flops_vs_time_summary,
    module_latency_table,
    network_latency_table,
    rank_agreement,
    relative_to,
    resnet50_stage_shapes,
)
from ctnet_lib.analysis.timing.measure import Timing, environment_info, saved_activation_bytes, time_call
from ctnet_lib.ops import TemporalModuleConfig
from ctnet_lib.ops.conv_bn_act import conv3d
from ctnet_lib.viz.cost_figures import disagreement_lines

COLUMNS = {
    "gmacs", "params_m", "fwd_ms", "fwd_iqr_ms", "fwd_bwd_ms", "fwd_bwd_iqr_ms", "saved_activation_mb",
    "peak_fwd_mb", "peak_fwd_bwd_mb", "repeats", "batch_size", "device", "device_name", "torch_version",
    "threads", "gmacs_per_s",
}


def test_stage_shapes_of_resnet50():
    shapes = resnet50_stage_shapes(224, 8)
    assert [(s.channels, s.height) for s in shapes] == [(64, 56), (128, 28), (256, 14), (512, 7)]
    assert [s.height for s in resnet50_stage_shapes(256)] == [64, 32, 16, 8]
    assert [s.channels for s in resnet50_stage_shapes(32, 2, channel_divisor=8)] == [8, 16, 32, 64]
    with pytest.raises(ValueError, match="channel_divisor"):
        resnet50_stage_shapes(224, 8, channel_divisor=3)


def test_time_call_runs_warmup_plus_repeats_and_reports_median_and_iqr():
    calls = []

    def sleep_longer_each_call():  # 1, 2, ... ms: a sample can only be longer than its sleep
        calls.append(1)
        time.sleep(len(calls) / 1000)

    timing = time_call(sleep_longer_each_call, torch.device("cpu"), repeats=4, warmup=2)
    assert len(calls) == 6 and len(timing.samples_ms) == 4
    # the timed calls are the 3rd to 6th, not the warm-up ones
    assert all(sample >= ms for sample, ms in zip(timing.samples_ms, (3, 4, 5, 6), strict=True))
    assert Timing((4.0, 1.0, 3.0, 2.0)).median_ms == 2.5 and Timing((4.0, 1.0, 3.0, 2.0)).iqr_ms == 1.5
    with pytest.raises(ValueError, match="repeats"):
        time_call(lambda: None, torch.device("cpu"), repeats=0)


def test_saved_activations_exclude_parameters():
    conv = conv3d(4, 4, 3)
    x = torch.randn(1, 4, 2, 5, 5, requires_grad=True)
    assert saved_activation_bytes(conv, x) == x.numel() * 4  # a conv keeps its input, not its weight


def test_module_table_on_tiny_shapes():
    shapes = resnet50_stage_shapes(16, 2, channel_divisor=8)[:2]
    types = {k: MODULE_TYPES[k] for k in ("2D 3x3 (TSN)", "CSN", "CT-Net (PW+TE)")}
    table = module_latency_table(shapes, types, device="cpu", repeats=3, warmup=1)
    assert len(table) == 6 and set(table.columns) >= COLUMNS
    assert (table[["gmacs", "fwd_ms", "fwd_bwd_ms", "saved_activation_mb", "gmacs_per_s"]] > 0).all().all()
    assert (table["repeats"] == 3).all()
    assert table["peak_fwd_mb"].isna().all()  # CUDA only
    assert table.loc[table["module"] == "CT-Net (PW+TE)", "c2"].tolist() == [2.0, 4.0]
    assert set(table["device"]) == {"cpu"} and (table["threads"] == torch.get_num_threads()).all()
    ratios = relative_to(table, "module", "2D 3x3 (TSN)")
    assert (ratios.loc[ratios["module"] == "2D 3x3 (TSN)", ["gmacs_ratio", "fwd_ratio"]] == 1).all().all()


def test_c2_table_covers_every_divisor():
    shape = StageShape("layer1", 12, 2, 4, 4)
    table = c2_latency_table(shape, device="cpu", repeats=2, warmup=0)
    assert table["c2"].tolist() == divisors(12)
    assert (table["repeats"] == 2).all() and (table["fwd_ms"] > 0).all()
    best = table.loc[table["gmacs"].idxmin(), "c2"]
    assert best in (3, 4)
    te = c2_latency_table(shape, [2, 6], TemporalModuleConfig(excitation="te"), "cpu", repeats=1, warmup=0)
    assert te["c2"].tolist() == [2, 6]


def test_network_table_on_small_presets():
    networks = {"TSN": ("tsn_small", {}), "CT-Net": ("ctnet_small", {"dropout": 0.0})}
    table = network_latency_table(networks, frames=2, resolution=64, device="cpu", repeats=2, warmup=0,
                                  num_classes=5)
    assert table["network"].tolist() == ["TSN", "CT-Net"]
    assert set(table.columns) >= COLUMNS
    assert (table[["gmacs", "fwd_ms", "fwd_bwd_ms", "saved_activation_mb"]] > 0).all().all()
    assert math.isclose(relative_to(table, "network", "TSN")["gmacs_ratio"].iloc[0], 1.0)


def test_summaries_compare_macs_with_time():
    table = pd.DataFrame({
        "module": ["ref", "cheap", "ref", "cheap"], "stage": ["a", "a", "b", "b"],
        "gmacs": [2.0, 0.5, 4.0, 1.0], "fwd_ms": [10.0, 20.0, 20.0, 40.0],
        "fwd_bwd_ms": [30.0, 30.0, 60.0, 60.0],
        "gmacs_per_s": [200.0, 25.0, 200.0, 25.0], "saved_activation_mb": [1.0, 3.0, 1.0, 3.0],
    })
    summary = flops_vs_time_summary(table, "module", "ref").set_index("module")
    assert summary.loc["cheap", "gmacs_ratio"] == 0.25 and summary.loc["cheap", "fwd_ratio"] == 2.0
    assert summary.loc["cheap", "time_per_mac_vs_reference"] == 8.0
    (line,) = disagreement_lines(summary.reset_index(), "module", "ref")
    assert "0.25x the MACs of ref" in line and "8.0x slower" in line
    assert rank_agreement(table) == pytest.approx(-1.0)


def test_nothing_measured_gives_empty_tables_with_columns():
    empty = module_latency_table([], device="cpu")
    assert list(empty.columns) == list(MODULE_COLUMNS) and empty.empty
    assert c2_latency_table(StageShape("layer1", 8, 2, 4, 4), [], device="cpu").empty
    assert network_latency_table({}, device="cpu").empty
    assert flops_vs_time_summary(empty, "module", "2D 3x3 (TSN)").empty
    assert math.isnan(rank_agreement(empty))


def test_environment_info_names_the_device():
    info = environment_info(torch.device("cpu"))
    assert set(info) == {"device", "device_name", "torch_version", "threads"} and info["device_name"]
