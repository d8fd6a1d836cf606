"""The benchmark suite: cases in fresh processes, ratios to baselines of the same run, targets, JSON."""

import json

import pytest

from ctnet_lib.analysis.timing.benchmark_cases import Case, SuiteSettings, suite_cases
from ctnet_lib.analysis.timing.benchmark_results import (
    describe_machine,
    load_benchmark_results,
    module_table,
    network_table,
)
from ctnet_lib.analysis.timing.benchmark_suite import combine_rounds, run_suite
from ctnet_lib.analysis.timing.benchmark_targets import TARGETS, add_ratios, evaluate_targets
from ctnet_lib.viz.benchmark_figures import network_benchmark_figure

QUICK = SuiteSettings(threads=1, repeats=1, warmup=0, quick=True)


def _network(label, fwd_bwd, peak, **extra):
    return {"group": "network", "label": label, "batch_size": 2, "fwd_ms": fwd_bwd / 3,
            "fwd_bwd_ms": fwd_bwd, "peak_mem_mb": peak, "forced": False, "checkpointing": "none", **extra}


def _train_only(row):
    return {key: value for key, value in row.items() if key != "fwd_ms"}


def test_ratios_and_targets_from_rows():
    rows = add_ratios([
        _network("TSN", 100.0, 1000.0),
        _network("CT-Net", 85.0, 1200.0),
        _network("CT-Net", 120.0, 1250.0, implementation="native", memory_format="contiguous", forced=True),
        _network("CT-Net", 95.0, 1050.0, checkpointing="modules"),
        _network("CT-Net", 90.0, 1150.0, checkpointing="activations"),
    ])
    assert rows[0]["fwd_bwd_ms_vs_baseline"] == 1.0
    assert rows[1]["fwd_bwd_ms_vs_baseline"] == pytest.approx(0.85)
    assert rows[1]["peak_mem_mb_vs_baseline"] == pytest.approx(1.2)
    targets = {t["target"]: t for t in evaluate_targets(rows)}
    assert set(targets) == {t.name for t in TARGETS}
    assert targets["CT-Net-R50 training step / TSN-R50's"] == {
        "target": "CT-Net-R50 training step / TSN-R50's", "measured": 0.85, "limit": 0.9, "at_least": False,
        "met": True}
    assert targets["CT-Net-R50 training step / the readable implementation's"]["measured"] == 0.708
    assert targets["CT-Net-R50 peak training memory / TSN-R50's"]["met"] is False
    assert targets["CT-Net-R50 peak training memory with checkpointing=modules / TSN-R50's"]["met"] is True
    activations = "CT-Net-R50 peak training memory with checkpointing=activations / TSN-R50's"
    assert targets[activations]["measured"] == 1.15
    not_measured = targets["data clips/s (decord, one thread) / ctnet_small training clips/s"]
    assert not_measured["measured"] is None and not_measured["met"] is None


def test_the_suite_covers_every_module_network_and_decoder():
    cases = suite_cases(SuiteSettings())
    labels = {(case.group, case.label) for case in cases}
    assert {("module", "2D 3x3 (TSN)"), ("module", "R(2+1)D"), ("module", "CT-Net (PW+TE)"),
            ("network", "TSN"), ("network", "CT-Net"), ("data", "decord"), ("data", "pyav")} <= labels
    assert cases[0].label == "2D 3x3 (TSN)"  # baselines first
    assert len({json.dumps([c.group, c.label, c.options], sort_keys=True) for c in cases}) == len(cases)


@pytest.mark.slow
def test_run_suite_measures_in_subprocesses_and_writes_json(tmp_path):
    cases = [
        Case("module", "2D 3x3 (TSN)", {"implementation": "auto"}),
        Case("module", "CT-Module", {"implementation": "auto"}),
        Case("network", "TSN", {"preset": "tsn_small"}),
        Case("network", "CT-Net", {"preset": "ctnet_small"}),
        Case("network", "CT-Net", {"preset": "ctnet_small", "implementation": "native",
                                   "memory_format": "contiguous"}),
        Case("data", "pyav", {"backend": "pyav"}),
    ]
    lines = []
    results = run_suite(QUICK, tmp_path / "bench.json", cases, log=lines.append)
    assert json.loads((tmp_path / "bench.json").read_text()) == json.loads(json.dumps(results))
    assert len(lines) == len(cases)
    assert results["machine"]["threads"] == 1 and results["machine"]["cpu_cores"] >= 1
    modules = [r for r in results["rows"] if r["group"] == "module"]
    assert [r["stage"] for r in modules] == ["layer1", "layer2", "layer3", "layer4"] * 2
    assert all(r["fwd_ms_vs_baseline"] == 1.0 for r in modules[:4])
    assert all(r["implementation"] == "lowered" and not r["forced"] for r in modules[4:])
    ctnet = [r for r in results["rows"] if r["label"] == "CT-Net"]
    assert [(r["implementation"], r["memory_format"]) for r in ctnet] == [
        ("lowered", "channels_last"), ("native", "contiguous")]
    tsn = next(r for r in results["rows"] if r["label"] == "TSN")
    for row in ctnet:  # each ratio is the row's own measurement over TSN's in the same run
        for key in ("fwd_ms", "fwd_bwd_ms", "peak_mem_mb"):
            assert row[f"{key}_vs_baseline"] == pytest.approx(row[key] / tsn[key]), key
    data = next(r for r in results["rows"] if r["group"] == "data")
    assert data["clips_per_s"] == pytest.approx(1000.0 / data["clip_ms"]) and data["threads"] == 1
    targets = {t["target"]: t for t in results["targets"]}
    readable = targets["CT-Net-R50 training step / the readable implementation's"]
    # targets are recorded to 3 decimals
    assert readable["measured"] == pytest.approx(ctnet[0]["fwd_bwd_ms"] / ctnet[1]["fwd_bwd_ms"], abs=5e-4)
    assert readable["met"] == (readable["measured"] <= readable["limit"])


@pytest.mark.slow
def test_a_failing_case_names_itself(tmp_path):
    expected = r"benchmark case network/broken .* failed: ValueError: unknown model preset 'nope'"
    with pytest.raises(RuntimeError, match=expected):
        run_suite(QUICK, tmp_path / "bench.json", [Case("network", "broken", {"preset": "nope"})])
    assert not (tmp_path / "bench.json").exists()


def test_committed_results_read_as_tables_and_figures(tmp_path):
    rows = add_ratios([_network("TSN", 100.0, 1000.0), _network("CT-Net", 85.0, 1200.0),
                       _network("CT-Net", 95.0, 1050.0, checkpointing=True),  # as runs before the levels
                       _train_only(_network("CT-Net", 90.0, 1150.0, checkpointing="activations"))])
    results = {"suite": "ctnet-benchmark", "created": "2026-11-30T00:00:00+00:00", "rows": rows,
               "targets": evaluate_targets(rows),
               "machine": {"device_name": "a CPU", "device": "cpu", "threads": 2, "cpu_cores": 2,
                           "torch_version": "2.13.0", "commit": "abc"}}
    (tmp_path / "cpu.json").write_text(json.dumps(results))
    loaded = load_benchmark_results(tmp_path)
    assert list(loaded) == ["cpu"]
    table = network_table(loaded["cpu"])
    assert table["fwd_bwd_ms_vs_baseline"].tolist() == pytest.approx([1.0, 0.85, 0.95, 0.9])
    assert module_table(loaded["cpu"]).empty
    assert "a CPU (cpu, 2 threads of 2 cores)" in describe_machine(results)
    figure = network_benchmark_figure(table)
    assert len(figure.data) == 3
    assert list(figure.data[0].x) == ["TSN", "CT-Net", "CT-Net (checkpointing=modules)",
                                      "CT-Net (checkpointing=activations)"]
    assert list(figure.data[0].text) == ["1.00x", "0.85x", "0.95x", ""]  # a training-only case's inference
    (tmp_path / "other.json").write_text('{"suite": "something else"}')
    with pytest.raises(ValueError, match=r"other\.json is not a `ctnet benchmark` result"):
        load_benchmark_results(tmp_path)


def test_rounds_combine_to_medians_and_keep_each_round():
    rounds = [[{"label": "TSN", "batch_size": 2, "forced": False, "fwd_ms": ms, "peak_mem_mb": mem}]
              for ms, mem in ((100.0, 10.0), (300.0, 30.0), (120.0, 20.0))]
    [row] = combine_rounds(rounds)
    assert row["fwd_ms"] == 120.0 and row["fwd_ms_rounds"] == [100.0, 300.0, 120.0]
    assert row["peak_mem_mb"] == 20.0 and row["batch_size"] == 2 and row["forced"] is False
    assert "batch_size_rounds" not in row
    assert combine_rounds(rounds[:1]) == rounds[0]


@pytest.mark.slow
def test_run_suite_with_rounds_runs_every_case_each_round(tmp_path):
    cases = [Case("data", "pyav", {"backend": "pyav"}), Case("data", "decord", {"backend": "decord"})]
    lines = []
    results = run_suite(QUICK, None, cases, log=lines.append, rounds=2)
    assert [line.split()[0] for line in lines] == ["[1.1]", "[1.2]", "[2.2]", "[2.1]"]
    assert results["rounds"] == 2
    for row in results["rows"]:
        assert len(row["clip_ms_rounds"]) == 2 and row["clip_ms"] == pytest.approx(
            sum(row["clip_ms_rounds"]) / 2)
