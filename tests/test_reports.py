"""``ctnet report``: presets, overrides, the papermill runner, HTML export, index and atomic writes."""

import contextlib
import io
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from ctnet_lib.cli import main
from ctnet_lib.io_utils import atomic_output, atomic_write_bytes, atomic_write_text
from ctnet_lib.options import CliError
from ctnet_lib.reports.html_export import export_html
from ctnet_lib.reports.index_page import merge_results, previous_results, write_index
from ctnet_lib.reports.notebooks import declared_parameters, parameter_defaults
from ctnet_lib.reports.presets import (
    ReportPreset,
    check_preset_notebooks,
    load_preset,
    parse_overrides,
    resolve_parameters,
)
from ctnet_lib.reports.runner import ReportResult, resolve_kernel, run_report

REPO = Path(__file__).resolve().parents[1]
SCRIPT_SRC = re.compile(r"<script[^>]*\bsrc=\"([^\"]+)\"")


def write_notebook(path: Path, *sources: str, parameters: str = "factor = 2  # a number") -> Path:
    """A throw-away notebook: a ``parameters`` cell, then one code cell per source."""
    cells = [new_code_cell(parameters, metadata={"tags": ["parameters"]})]
    cells += [new_code_cell(source) for source in sources]
    kernelspec = {"name": "ctnet-lab", "display_name": "ctnet-lab", "language": "python"}
    nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": kernelspec}), path)
    return path


def report_args(root: Path, *extra: str) -> list[str]:
    return [
        "report", "--preset", "test", "--no-progress", "--notebooks-dir", str(root / "notebooks"),
        "--presets-dir", str(root / "presets"), "--output-dir", str(root / "out"), *extra,
    ]


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    """Three tiny notebooks (one fails, one draws plotly + a widget) run once through ``ctnet report``."""
    root = tmp_path_factory.mktemp("suite")
    (root / "notebooks").mkdir()
    (root / "presets").mkdir()
    (root / "presets" / "test.yaml").write_text(
        "description: tiny test notebooks\n"
        "defaults: {factor: 3, unused_elsewhere: 1}\n"
        "notebooks: {a_ok: {label: from-preset}}\n"
    )
    write_notebook(
        root / "notebooks" / "a_ok.ipynb", 'print(f"{label}: {factor * 7}")',
        parameters='factor = 2  # a number\nlabel = "default"  # a word',
    )
    write_notebook(root / "notebooks" / "b_boom.ipynb", "raise ZeroDivisionError('boom in the notebook')")
    write_notebook(
        root / "notebooks" / "c_plot.ipynb",
        "import ipywidgets\nimport plotly.graph_objects as go\n\n"
        "from ctnet_lib.viz.notebook_setup import setup_notebook\n\nsetup_notebook()",
        "go.Figure(go.Bar(x=['a', 'b'], y=[1, factor]))",
        "go.Figure(go.Scatter(x=[1, 2], y=[2, 1]))",
        "ipywidgets.IntSlider(value=5)",
    )
    return root


@pytest.fixture(scope="module")
def suite_run(suite):
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = main(report_args(suite, "-p", "factor", "5"))
    return code, stderr.getvalue(), suite / "out" / "test"


# --- presets and overrides ---------------------------------------------------------------------------


def _quickstart_run(name):
    """The parameters the quickstart runs with under preset ``name``: its defaults, then the preset's."""
    preset = load_preset(name, REPO / "reports" / "presets")
    notebook = REPO / "notebooks" / "00_quickstart.ipynb"
    declared = {"00_quickstart": list(declared_parameters(notebook))}
    chosen = resolve_parameters(preset, declared, {})["00_quickstart"]
    return preset, {**parameter_defaults(notebook), **chosen}


@pytest.mark.parametrize("name", ["smoke", "cpu", "gpu"])
def test_shipped_presets_load_and_configure_the_quickstart(name):
    preset, run = _quickstart_run(name)
    assert preset.description
    assert set(run) == {"model", "num_frames", "size", "num_classes", "device"}


def test_gpu_preset_uses_resnet50_settings_and_smoke_tiny_inputs():
    _, gpu = _quickstart_run("gpu")
    _, smoke = _quickstart_run("smoke")
    assert (gpu["model"], gpu["num_frames"], gpu["size"], gpu["device"]) == ("ctnet_r50", 8, 224, "cuda")
    assert smoke["num_frames"] <= 4 and smoke["size"] <= 64


def test_parse_overrides_reads_values_as_yaml():
    pairs = [("size", "112"), ("pwconv", "true"), ("kernels", "[1, 3]"), ("model", "ctnet_r50"),
             ("lr", "0.5")]
    expected = {"size": 112, "pwconv": True, "kernels": [1, 3], "model": "ctnet_r50", "lr": 0.5}
    assert parse_overrides(pairs) == expected
    with pytest.raises(CliError, match="not valid YAML"):
        parse_overrides([("kernels", "[1, 3")])


def test_resolve_parameters_passes_only_declared_names_with_precedence():
    preset = ReportPreset("p", defaults={"seed": 0, "device": "cpu", "size": 64},
                          notebooks={"a": {"size": 32}})
    declared = {"a": {"seed", "size"}, "b": {"size", "device", "epochs"}}
    resolved = resolve_parameters(preset, declared, {"size": 16, "epochs": 2})
    assert resolved == {"a": {"seed": 0, "size": 16}, "b": {"size": 16, "device": "cpu", "epochs": 2}}
    assert resolve_parameters(preset, declared, {}) == {"a": {"seed": 0, "size": 32},
                                                        "b": {"size": 64, "device": "cpu"}}


def test_override_that_no_selected_notebook_declares_is_an_error_listing_valid_names():
    message = "-p sise: no selected notebook declares it; valid parameters: seed, size"
    with pytest.raises(CliError, match=message):
        resolve_parameters(ReportPreset("p"), {"a": {"size", "seed"}}, {"sise": 3})


def test_preset_entry_for_an_undeclared_parameter_is_an_error():
    preset = ReportPreset("p", notebooks={"a": {"frames": 4}})
    with pytest.raises(CliError, match="notebook a does not declare frames; it declares: size"):
        resolve_parameters(preset, {"a": {"size"}}, {})


def test_preset_naming_an_unknown_notebook_is_an_error():
    with pytest.raises(CliError, match="unknown notebook 99_typo"):
        check_preset_notebooks(ReportPreset("p", notebooks={"99_typo": {}}), ["00_quickstart"])


@pytest.mark.parametrize(
    "text", ["- a list\n", "defaults: 3\n", "notebooks: {a: 3}\n", "extra_key: 1\n", "defaults: {a: [1\n"]
)
def test_malformed_preset_file_is_a_one_line_error(tmp_path, text):
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(CliError) as error:
        load_preset("bad", tmp_path)
    assert "bad.yaml" in str(error.value) and "\n" not in str(error.value)


def test_unknown_preset_exits_2_with_one_line_listing_valid_presets(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    assert main(["report", "--preset", "nope"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert lines == ["ctnet report: error: unknown preset 'nope'; valid presets: cpu, gpu, smoke"]
    assert "Traceback" not in captured.err and captured.out == ""


def test_unknown_notebook_and_unknown_parameter_exit_2_with_one_line(suite, capsys):
    assert main(report_args(suite, "zz_missing")) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "ctnet report: error: unknown notebook zz_missing; valid names: a_ok, b_boom, c_plot"
    ]
    assert main(report_args(suite, "a_ok", "-p", "labl", "x")) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "ctnet report: error: -p labl: no selected notebook declares it; valid parameters: factor, label"
    ]


def test_list_shows_declared_parameters_and_the_values_given(suite, capsys):
    assert main(report_args(suite, "--list", "a_ok", "-p", "factor", "9")) == 0
    out = capsys.readouterr().out
    assert "factor = 2  ->  9  # a number" in out
    assert 'label = "default"  ->  "from-preset"  # a word' in out
    assert "b_boom" not in out


# --- the runner ----------------------------------------------------------------------------------------


def test_failing_notebook_does_not_stop_the_others_and_is_named(suite_run):
    code, stderr, folder = suite_run
    assert code == 1
    assert "1 of 3 notebooks failed: b_boom (ZeroDivisionError: boom in the notebook" in stderr
    for stem in ("a_ok", "b_boom", "c_plot"):
        assert (folder / f"{stem}.ipynb").is_file() and (folder / f"{stem}.html").is_file()
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []


def test_index_json_and_html_list_every_report_with_status_and_parameters(suite_run):
    _code, _stderr, folder = suite_run
    index = json.loads((folder / "index.json").read_text())
    reports = {record["name"]: record for record in index["reports"]}
    assert index["preset"] == "test" and list(reports) == ["a_ok", "b_boom", "c_plot"]
    assert reports["a_ok"]["status"] == "ok" and reports["a_ok"]["error"] is None
    assert reports["a_ok"]["parameters"] == {"factor": 5, "label": "from-preset"}
    assert reports["b_boom"]["status"] == "failed"
    assert reports["b_boom"]["error"].startswith("ZeroDivisionError: boom in the notebook")
    assert all(record["duration_s"] > 0 for record in reports.values())
    page = (folder / "index.html").read_text()
    for stem in reports:
        assert f'href="{stem}.html"' in page and f'href="{stem}.ipynb"' in page
    assert page.count('class="failed"') == 1 and page.count('class="ok"') == 2
    assert "ZeroDivisionError: boom in the notebook" in page


def test_parameters_reach_the_notebook_and_the_error_cell_is_kept(suite_run):
    _code, _stderr, folder = suite_run
    ok = nbformat.read(folder / "a_ok.ipynb", 4)
    printed = "".join(o.get("text", "") for cell in ok.cells if cell.cell_type == "code"
                      for o in cell.outputs)
    assert "from-preset: 35" in printed
    boom = nbformat.read(folder / "b_boom.ipynb", 4)
    errors = [o for cell in boom.cells if cell.cell_type == "code" for o in cell.outputs
              if o.output_type == "error"]
    assert [e.ename for e in errors] == ["ZeroDivisionError"]
    assert "boom in the notebook" in (folder / "b_boom.html").read_text()


def test_plotly_html_embeds_plotly_js_once_and_loads_no_plotly_from_a_cdn(suite_run):
    _code, _stderr, folder = suite_run
    page = (folder / "c_plot.html").read_text()
    assert page.count("window.Plotly = Plotly") == 1  # the plotly.js bundle, inline, once for two figures
    assert page.count("Plotly.newPlot(") == 2
    assert page.index("window.Plotly = Plotly") < page.index("Plotly.newPlot(")
    sources = SCRIPT_SRC.findall(page)
    assert not [src for src in sources if "plot" in src.lower()]
    # the page helpers (require.js, MathJax, the widget manager) are copies beside the page
    assert sources and all(src.startswith("_static/") for src in sources), sources
    assert "_static/html-manager/embed-amd.js" in page
    assert (folder / "_static" / "mathjax" / "MathJax.js").is_file()


def test_widget_state_is_saved_in_the_notebook_and_the_html(suite_run):
    _code, _stderr, folder = suite_run
    notebook = nbformat.read(folder / "c_plot.ipynb", 4)
    states = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert any(state["model_name"] == "IntSliderModel" and state["state"]["value"] == 5
               for state in states.values())
    assert 'type="application/vnd.jupyter.widget-state+json"' in (folder / "c_plot.html").read_text()


def test_hide_code_html_has_no_code_input_or_prompts(tmp_path):
    root = tmp_path
    (root / "notebooks").mkdir()
    (root / "presets").mkdir()
    (root / "presets" / "test.yaml").write_text("description: one\n")
    write_notebook(root / "notebooks" / "shown.ipynb", "secret_marker_variable = 41\nprint('result', factor)")
    assert main(report_args(root, "--hide-code")) == 0
    folder = root / "out" / "test"
    hidden = (folder / "shown.html").read_text()
    export_html(folder / "shown.ipynb", tmp_path / "visible.html")
    visible = (tmp_path / "visible.html").read_text()
    for marker in ("secret_marker_variable", 'class="jp-InputPrompt', 'class="jp-OutputPrompt'):
        assert marker in visible and marker not in hidden
    assert "result 2" in hidden


def test_cell_timeout_fails_the_notebook_and_keeps_what_ran(tmp_path):
    # the second cell never ends; 20 s is 10x what the first cell needs on a loaded 2-core machine
    notebook = write_notebook(tmp_path / "slow.ipynb", "print('before')",
                              "import time\nwhile True:\n    time.sleep(1)")
    result = run_report(notebook, tmp_path / "out", {}, resolve_kernel(), progress_bar=False,
                        cell_timeout_s=20)
    assert result.status == "failed" and result.error.startswith("CellTimeoutError")
    assert "before" in (tmp_path / "out" / "slow.html").read_text()


def test_running_a_subset_keeps_the_other_reports_in_the_index(tmp_path):
    def result(name: str, status: str = "ok") -> ReportResult:
        return ReportResult(name, {}, status, None, 1.0, f"{name}.ipynb", f"{name}.html", "python3", "t")

    for name in ("a", "b"):
        (tmp_path / f"{name}.html").write_text("x")
    write_index(tmp_path, "p", "", [result("a"), result("b")])
    write_index(tmp_path, "p", "", [result("b", "failed")])
    assert [(r.name, r.status) for r in previous_results(tmp_path)] == [("a", "ok"), ("b", "failed")]
    (tmp_path / "a.html").unlink()
    assert [r.name for r in previous_results(tmp_path)] == ["b"]
    assert [r.name for r in merge_results([result("z")], [result("c")])] == ["c", "z"]


# --- atomic writes -------------------------------------------------------------------------------------


def test_atomic_write_replaces_content_and_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "sub" / "report.html"
    atomic_write_text(target, "first")
    atomic_write_bytes(target, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


def test_atomic_write_never_leaves_a_partial_file(tmp_path):
    target = tmp_path / "index.json"
    target.write_text("old complete content")
    with pytest.raises(TypeError):
        atomic_write_bytes(target, "not bytes")  # type: ignore[arg-type]
    with pytest.raises(KeyboardInterrupt), atomic_output(target) as partial:
        partial.write_text("half")
        raise KeyboardInterrupt
    assert target.read_text() == "old complete content"
    assert [p.name for p in tmp_path.iterdir()] == ["index.json"]


def test_atomic_output_keeps_the_suffix_and_hides_the_temporary_name(tmp_path):
    with atomic_output(tmp_path / "00_quickstart.ipynb") as partial:
        assert partial.parent == tmp_path and partial.name.startswith(".") and partial.suffix == ".ipynb"
        partial.write_text("{}")
    assert (tmp_path / "00_quickstart.ipynb").read_text() == "{}"
