"""``ctnet ablate``: one JSON per (configuration, seed) cell, never retrained, resumed when killed."""

import json

import pandas as pd
import pytest

from ctnet_lib.cli import main
from ctnet_lib.data.synthetic_hard import HardSyntheticSettings
from ctnet_lib.models.ablations import ABLATION_CONFIGS, SUB_TABLES, sub_table_configs
from ctnet_lib.models.presets import model_config
from ctnet_lib.train import train
from ctnet_lib.train.ablation import STUDY, Cell, cell_config, cell_status, cells, run_cell

TINY = STUDY.replace(data=HardSyntheticSettings(num_frames=4, size=32), train_per_class=1, val_per_class=1,
                     num_frames=4, crop_size=32, short_side=32, epochs=2, batch_size=4, base_batch_size=4)


def folders(tmp_path):
    return {"out_dir": tmp_path / "out", "work_dir": tmp_path / "work", "data_dir": tmp_path / "data"}


def test_the_table_holds_every_sub_table_with_valid_models_and_the_paper_numbers():
    assert len(ABLATION_CONFIGS) == 13
    for config in ABLATION_CONFIGS.values():
        model_config(config.preset, **config.options)
        assert config.paper_top1 and set(config.paper_top1) <= set(SUB_TABLES)
    assert [c.name for c in sub_table_configs("2a")] == ["c3d", "r2plus1d", "csn", "ctmodule"]
    assert [c.paper_top1["2b"] for c in sub_table_configs("2b")] == [47.3, 46.5, 47.1, 46.5]
    assert ABLATION_CONFIGS["ctnet"].paper_top1 == {"2g": 50.1}


def test_cells_come_in_balanced_seed_rounds():
    every = cells()
    assert len(every) == len(ABLATION_CONFIGS) * len(STUDY.seeds)
    first_round = every[: len(ABLATION_CONFIGS)]
    assert {cell.seed for cell in first_round} == {STUDY.seeds[0]}
    assert [c.name for c in first_round] == list(ABLATION_CONFIGS)
    assert cells(STUDY, ["csn"], [4]) == [Cell("csn", 4)]
    with pytest.raises(ValueError, match="unknown ablation configuration 'nope'"):
        cells(STUDY, ["nope"])


def test_a_cell_writes_its_json_once_and_a_rerun_skips_it(tmp_path):
    paths = folders(tmp_path)
    path, trained = run_cell(Cell("tsn", 0), TINY, **paths)
    assert trained and path == paths["out_dir"] / "tsn-seed0.json"
    record = json.loads(path.read_text())
    assert (record["config"], record["preset"], record["seed"]) == ("tsn", "tsn_small", 0)
    assert record["curves"]["epoch"] == [1, 2] and len(record["curves"]["top1"]) == 2
    assert record["final"]["epoch"] == 2 and record["best"]["top1"] == max(record["curves"]["top1"])
    assert record["macs"] > 0 and record["params"] > 0 and record["input_shape"] == [1, 3, 4, 32, 32]
    assert record["recipe"]["epochs"] == 2 and record["data"]["train_per_class"] == 1
    assert "train_list" not in record["recipe"] and record["machine"]["cores"] >= 1
    assert list(paths["out_dir"].iterdir()) == [path]
    before = path.read_text()
    assert run_cell(Cell("tsn", 0), TINY, **paths) == (path, False)
    assert path.read_text() == before
    assert cell_status(Cell("tsn", 0), TINY, paths["out_dir"], paths["work_dir"]) == "done"
    with pytest.raises(ValueError, match="another study"):
        cell_status(Cell("tsn", 0), TINY.replace(epochs=3), paths["out_dir"], paths["work_dir"])


def test_a_killed_cell_resumes_without_redoing_its_finished_epochs(tmp_path):
    paths = folders(tmp_path)
    cell = Cell("csn", 1)
    config = cell_config(cell, TINY, paths["work_dir"], paths["data_dir"])
    train(config, stop_after_epochs=1)  # the process that was killed after epoch 1
    assert cell_status(cell, TINY, paths["out_dir"], paths["work_dir"]) == "partial (1/2 epochs)"
    first_epoch = pd.read_csv(paths["work_dir"] / "csn-seed1" / "metrics.csv").iloc[0]
    path, trained = run_cell(cell, TINY, **paths)
    assert trained
    record = json.loads(path.read_text())
    assert record["curves"]["epoch"] == [1, 2]
    assert record["curves"]["epoch_time_s"][0] == pytest.approx(first_epoch["epoch_time_s"])
    assert record["curves"]["top1"][0] == pytest.approx(first_epoch["top1"])


def test_command_runs_only_the_chosen_cell_and_lists_it_done(tmp_path, capsys):
    out, work, data = tmp_path / "out", tmp_path / "work", tmp_path / "data"
    common = ["--out", str(out), "--work-dir", str(work), "--data-dir", str(data)]
    assert main(["ablate", "--only", "tsn", "--seed", "2", "--epochs", "1", "--train-per-class", "1",
                 "--val-per-class", "1", *common]) == 0
    assert [p.name for p in out.iterdir()] == ["tsn-seed2.json"]
    capsys.readouterr()
    assert main(["ablate", "--list", "--only", "tsn", "--only", "csn", "--seed", "2", "--epochs", "1",
                 "--train-per-class", "1", "--val-per-class", "1", *common]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split() for line in lines] == [["tsn", "seed", "2", "done"],
                                                ["csn", "seed", "2", "to", "do"]]


def test_a_bad_configuration_name_is_one_line_and_exit_2(capsys):
    assert main(["ablate", "--only", "ctnett", "--list"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "'ctnett'" in error and "ctnet" in error


def test_cell_parse_reads_name_and_seed_and_names_a_bad_text():
    assert Cell.parse("ctmodule_k3-seed2") == Cell("ctmodule_k3", 2)
    with pytest.raises(ValueError, match="<configuration>-seed<S>"):
        Cell.parse("ctnet")
    with pytest.raises(ValueError, match="unknown ablation configuration 'ctnett'"):
        Cell.parse("ctnett-seed0")
