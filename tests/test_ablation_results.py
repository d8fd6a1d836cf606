"""Aggregation of ablation results and the verdict on the paper's orderings, on hand-made JSON."""

import json

import pytest

from ctnet_lib.analysis.accuracy.ablation_results import (
    all_ordering_verdicts,
    load_results,
    missing_cells,
    ordering_sentences,
    ordering_verdicts,
    rerun_comparison,
    status_text,
    sub_table_summary,
    summary_sentences,
    summary_table,
)
from ctnet_lib.models.ablations import ABLATION_CONFIGS
from ctnet_lib.viz.ablation_figures import accuracy_vs_cost_figure


def write(folder, config, seed, top1, time_s=100.0):
    record = {"config": config, "label": ABLATION_CONFIGS[config].label, "seed": seed,
              "final": {"epoch": 6, "top1": top1, "top5": 90.0},
              "best": {"epoch": 5, "top1": top1 + 1, "top5": 91.0},
              "macs": 160_000_000, "params": 750_000, "train_time_s": time_s}
    (folder / f"{config}-seed{seed}.json").write_text(json.dumps(record))


@pytest.fixture
def results(tmp_path):
    # 2a: paper C3D 46.1 < CSN 46.8 < R(2+1)D 47.0 < CT-Module 47.3
    for seed, noise in enumerate((-0.5, 0.0, 0.5)):
        write(tmp_path, "c3d", seed, 50 + noise)  # below CT-Module, resolved: holds
        write(tmp_path, "ctmodule", seed, 70 + noise)
        write(tmp_path, "r2plus1d", seed, 80 + noise)  # above CT-Module, resolved: reversed
        write(tmp_path, "csn", seed, 50 + 10 * noise)  # wide spread: within it against C3D
    write(tmp_path, "tsn", 0, 40.0)  # one seed: too few
    return load_results(tmp_path)


def test_load_orders_rows_by_table_and_seed(results):
    assert list(results["config"].unique()) == ["tsn", "c3d", "r2plus1d", "csn", "ctmodule"]
    assert list(results[results["config"] == "c3d"]["seed"]) == [0, 1, 2]


def test_summary_has_every_configuration_with_mean_std_and_counts(results):
    summary = summary_table(results)
    assert list(summary.index) == list(ABLATION_CONFIGS)
    assert summary.at["ctmodule", "n"] == 3 and summary.at["ctmodule", "top1_mean"] == pytest.approx(70)
    assert summary.at["ctmodule", "top1_std"] == pytest.approx(0.5)
    assert summary.at["ctnet", "n"] == 0
    assert summary.at["c3d", "mmacs"] == pytest.approx(160) and summary.at["c3d", "params_m"] == 0.75
    assert summary_table(results, "best").at["ctmodule", "top1_mean"] == pytest.approx(71)
    table = sub_table_summary(results, "2a")
    assert list(table.index) == ["c3d", "r2plus1d", "csn", "ctmodule"]
    assert list(table["paper_top1"]) == [46.1, 47.0, 46.8, 47.3]


def test_verdicts_hold_reverse_or_stay_within_the_spread(results):
    verdicts = ordering_verdicts(results, "2a").set_index(["higher", "lower"])["verdict"]
    assert verdicts[("ctmodule", "c3d")] == "holds"
    assert verdicts[("ctmodule", "r2plus1d")] == "reversed"
    assert verdicts[("csn", "c3d")] == "within the seed spread"
    assert len(verdicts) == 6
    sentences = ordering_sentences(ordering_verdicts(results, "2a"))
    assert any("does NOT hold" in s and "R(2+1)D" in s for s in sentences)
    g = ordering_verdicts(results, "2g").set_index(["higher", "lower"])["verdict"]
    assert g[("ctmodule", "tsn")] == "too few seeds" and g[("ctnet", "ctmodule")] == "too few seeds"


def test_ties_of_the_paper_are_not_orderings(results):
    b = ordering_verdicts(results, "2b")
    assert not ((b["higher"] == "ctmodule_k1") & (b["lower"] == "ctmodule_k4")).any()
    assert len(b) == 5  # 4 rows, 6 pairs, one tie (K=1 and K=4 both 46.5)


def test_missing_cells_in_seed_rounds_and_an_empty_folder(results, tmp_path):
    missing = missing_cells(results, (0, 1))
    assert missing[0] == "ctmodule_k1-seed0" and "tsn-seed1" in missing and "tsn-seed0" not in missing
    empty = load_results(tmp_path / "nothing")
    assert empty.empty and summary_table(empty)["n"].sum() == 0
    assert set(ordering_verdicts(empty, "2c")["verdict"]) == {"too few seeds"}
    accuracy_vs_cost_figure(empty, "2a")


def test_figure_draws_seeds_and_means_and_names_what_is_missing(results):
    figure = accuracy_vs_cost_figure(results, "2a")
    assert len(figure.data) == 4 * 2 * 2  # 4 configurations x 2 costs x (seeds, mean)
    assert "no results yet" not in figure.layout.title.text
    assert "+ PWConv + TE (CT-Net)" in accuracy_vs_cost_figure(results, "2g").layout.title.text


def test_a_foreign_json_is_named(tmp_path):
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(ValueError, match=r"other\.json is not a result of `ctnet ablate`"):
        load_results(tmp_path)


def test_status_and_summary_say_what_is_done_and_what_holds(results):
    status = status_text(results, (0,))
    assert status.startswith("5 of 13 cells done") and "ctnet-seed0" in status and "c3d-seed0" not in status
    sentences = summary_sentences(results, all_ordering_verdicts(results))
    assert "R(2+1)D 80.0 ± 0.5 % (n=3)" in sentences[0] and "TSN" in sentences[1]
    assert "24 orderings in Table 2a/b/c/g: 4 hold, 1 are reversed, 1 are within the seed spread, " \
        "18 are not judged yet" in sentences[-2]
    assert "about 4.6 % of the time: of the 6 judged, about 0.3 would" in sentences[-1]
    empty = results.iloc[:0]
    assert summary_sentences(empty, all_ordering_verdicts(empty))[0].startswith("No results")


def test_rerun_comparison_gives_the_per_epoch_differences(tmp_path):
    curves = {"epoch": [1, 2], "top1": [10.0, 20.0], "train_loss": [2.0, 1.5]}
    (tmp_path / "a.json").write_text(json.dumps({"curves": curves}))
    (tmp_path / "b.json").write_text(json.dumps({"curves": {**curves, "top1": [10.0, 21.0]}}))
    frame = rerun_comparison(tmp_path / "a.json", tmp_path / "b.json")
    assert list(frame["top1_diff"]) == [0.0, 1.0] and list(frame["train_loss_diff"]) == [0.0, 0.0]
