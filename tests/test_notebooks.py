"""The source notebooks: committed clean, one parsable ``parameters`` cell, and each runs with ``smoke``."""

import ast
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from ctnet_lib.reports.notebooks import declared_parameters, parameter_defaults
from ctnet_lib.reports.runner import resolve_kernel
from ctnet_lib.reports.suite import plan_reports, run_suite
from ctnet_lib.train import RECIPES, make_config, notebook_config, parameter_changes
from ctnet_lib.train.engine import RESUMABLE_CHANGES, check_resumable
from ctnet_lib.viz.complexity_figures import gmacs_by_stage

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
IDS = [path.stem for path in NOTEBOOKS]
CELL_TIMEOUT_S = 600  # a hung cell fails its notebook instead of blocking the test run


def assigned_names(source: str) -> list[str]:
    """Names assigned at the top level of a cell (``x = 1`` and ``x: int = 1``)."""
    nodes = [node for node in ast.parse(source).body if isinstance(node, (ast.Assign, ast.AnnAssign))]
    return [(node.target if isinstance(node, ast.AnnAssign) else node.targets[0]).id for node in nodes]


def parameter_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_committed_without_outputs_or_execution_counts(path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    assert [i for i, cell in enumerate(code) if cell.outputs] == []
    assert [i for i, cell in enumerate(code) if cell.execution_count is not None] == []
    assert notebook.metadata["kernelspec"]["name"] == "ctnet-lab"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_has_one_parameters_cell_that_papermill_reads_completely(path):
    notebook = nbformat.read(path, as_version=4)
    cells = parameter_cells(notebook)
    assert len(cells) == 1
    # papermill skips a line with a second "=" (e.g. in the comment); such a parameter could not be set
    assert list(declared_parameters(path)) == assigned_names(cells[0].source)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_parameters_cell_shows_at_most_ten_values_before_its_advanced_groups(path):
    [cell] = parameter_cells(nbformat.read(path, as_version=4))
    lines = cell.source.splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith("# advanced")), len(lines))
    assert len(assigned_names("\n".join(lines[:first]))) <= 10


def built_config(path: Path, name: str):
    """The TrainConfig that notebook ``path`` assigns to ``name``, built from its parameter defaults."""
    notebook = nbformat.read(path, as_version=4)
    [statement] = [node for cell in notebook.cells if cell.cell_type == "code"
                   for node in ast.parse(cell.source).body
                   if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name]
    namespace = {**parameter_defaults(path), "make_config": make_config,
                 "parameter_changes": parameter_changes, "notebook_config": notebook_config}
    exec(compile(ast.Module([statement], []), str(path), "exec"), namespace)
    return namespace[name]


def test_training_report_and_saliency_fallback_train_the_same_recipe_by_default():
    notebooks = REPO / "notebooks"
    trained = built_config(notebooks / "04_training.ipynb", "config")
    fallback = built_config(notebooks / "05_saliency_tubes.ipynb", "fallback")
    assert {k: v for k, v in trained.to_dict().items() if k in RECIPES["synthetic"]} == {
        k: list(v) if isinstance(v, tuple) else v for k, v in RECIPES["synthetic"].items()}
    ignored = RESUMABLE_CHANGES | {"model"}
    recipe = {k: v for k, v in trained.to_dict().items() if k not in ignored}
    assert recipe == {k: v for k, v in fallback.to_dict().items() if k not in ignored}
    check_resumable(fallback.to_dict(), trained.replace(model=fallback.model), Path("run"))


def test_quickstart_declares_the_parameters_the_presets_set():
    assert set(declared_parameters(REPO / "notebooks" / "00_quickstart.ipynb")) == {
        "model", "num_frames", "size", "num_classes", "device"
    }


def test_gmacs_by_stage_groups_stem_residual_stages_and_head_in_forward_order():
    names = ["conv1", "bn1", "maxpool", "layer1.0.conv1", "layer1.1.conv2", "layer2.0.conv1", "avgpool", "fc"]
    table = pd.DataFrame({"name": names, "macs": [1e9, 2e9, 0, 3e9, 4e9, 5e9, 0, 6e9]})
    by_stage = gmacs_by_stage(table)
    assert list(by_stage.index) == ["stem", "layer1", "layer2", "head"]
    assert list(by_stage.values) == [3.0, 7.0, 5.0, 6.0]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_with_the_smoke_preset_without_an_error(path, tmp_path, monkeypatch):
    """Run in isolation: data caches and checkpoints go to tmp_path, so nothing is reused or left behind."""
    monkeypatch.setenv("CTNET_CACHE_DIR", str(tmp_path / "cache"))
    declared = declared_parameters(path)
    overrides = {"run_dir": str(tmp_path / "runs")} if "run_dir" in declared else {}
    plan = plan_reports("smoke", [path.stem], overrides, notebooks_dir=REPO / "notebooks",
                        presets_dir=REPO / "reports" / "presets")
    [result] = run_suite(plan, resolve_kernel(), tmp_path, progress_bar=False, cell_timeout_s=CELL_TIMEOUT_S)
    executed = nbformat.read(tmp_path / "smoke" / result.notebook, as_version=4)
    errors = [output for cell in executed.cells if cell.cell_type == "code" for output in cell.outputs
              if output.output_type == "error"]
    assert result.ok and errors == [], result.error
    assert (tmp_path / "smoke" / result.html).stat().st_size > 0
    assert progress_bar_widgets(executed) == []


PROGRESS_MODELS = {"FloatProgressModel", "IntProgressModel"}  # what tqdm.auto draws in a kernel


def progress_bar_widgets(notebook: nbformat.NotebookNode) -> list[str]:
    """Ids of the progress-bar widgets saved in an executed notebook (a report should hold none)."""
    state = notebook.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    return [key for key, widget in state.get("state", {}).items() if widget["model_name"] in PROGRESS_MODELS]

