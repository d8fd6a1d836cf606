"""The demo and the cpu report start from the zoo: the demo's saliency cells, run as Voila runs them, train
nothing and write no run folder (the browser test, tests/test_demo.py, checks that the page renders), and
the cpu preset leaves notebook 05 on the zoo."""

import os
from pathlib import Path

import nbformat

import ctnet_lib.train.engine
import ctnet_lib.train.experiment
from ctnet_lib.reports.presets import load_preset
from ctnet_lib.train.zoo import ZOO_SOURCE

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "notebooks" / "demo" / "explorers.ipynb"
SALIENCY_REPORT = REPO / "notebooks" / "05_saliency_tubes.ipynb"


def test_the_cpu_report_explains_the_zoo_models():
    parameters = nbformat.read(SALIENCY_REPORT, as_version=4).cells[1]
    assert "parameters" in parameters.metadata["tags"]
    namespace: dict = {}
    exec(parameters.source, namespace)
    assert namespace["run_dir"] == ZOO_SOURCE
    assert "run_dir" not in load_preset("cpu", REPO / "reports" / "presets").notebooks["05_saliency_tubes"]


def test_demo_saliency_cells_load_the_zoo_and_train_nothing(tmp_path, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("the demo trained a model at start-up")

    monkeypatch.setattr(ctnet_lib.train.experiment, "train", no_training)
    monkeypatch.setattr(ctnet_lib.train.experiment, "fit", no_training)
    monkeypatch.setattr(ctnet_lib.train.engine, "fit", no_training)
    monkeypatch.setenv("CTNET_CACHE_DIR", str(tmp_path / "cache"))
    workdir = tmp_path / "notebooks" / "demo"
    workdir.mkdir(parents=True)
    monkeypatch.chdir(workdir)
    cells = [cell.source for cell in nbformat.read(DEMO, as_version=4).cells if cell.cell_type == "code"]
    saliency = [source for source in cells if "SaliencyExplorer(" in source]
    namespace: dict = {}
    for source in [cells[0], cells[1], *saliency]:  # parameters, imports, the saliency explorer
        exec(compile(source, str(DEMO), "exec"), namespace)
    assert namespace["run_dir"] == "zoo"
    assert {t.source for t in namespace["trained"].values()} == {"zoo"}
    assert not any("runs" in path.parts for path in tmp_path.rglob("*")), "a run folder was written"
    assert os.listdir(workdir) == []
