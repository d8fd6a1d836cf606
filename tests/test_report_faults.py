"""``ctnet report`` under faults: bad input is a one-line usage error before anything runs; a notebook
that raises or hangs is still reported (failed, in the index); a run killed in the middle leaves no
half-written report or index at a final path, and the next run completes the index."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from ctnet_lib.cli import main

NOTEBOOKS = {
    "a_ok": ["print('fine', factor)"],
    "b_raises": ["raise RuntimeError('the notebook broke')"],
    "c_hangs": ["import time\ntime.sleep(seconds)"],
}


def make_suite(root: Path, notebooks: dict[str, list[str]] = NOTEBOOKS) -> Path:
    """``root/notebooks`` (each with the parameters ``factor = 2`` and ``seconds = 0.0``) and a preset."""
    (root / "notebooks").mkdir(parents=True)
    (root / "presets").mkdir()
    (root / "presets" / "test.yaml").write_text("description: fault tests\n")
    kernelspec = {"name": "ctnet-lab", "display_name": "ctnet-lab", "language": "python"}
    for stem, sources in notebooks.items():
        cells = [new_code_cell("factor = 2  # a number\nseconds = 0.0  # how long to sleep",
                               metadata={"tags": ["parameters"]})]
        cells += [new_code_cell(source) for source in sources]
        nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": kernelspec}),
                       root / "notebooks" / f"{stem}.ipynb")
    return root


def report_args(root: Path, *extra: str) -> list[str]:
    return ["report", "--preset", "test", "--no-progress", "--notebooks-dir", str(root / "notebooks"),
            "--presets-dir", str(root / "presets"), "--output-dir", str(root / "out"), *extra]


FAULTS = [
    # (id, arguments, exit status, stderr holds, {report: status} in the index afterwards)
    ("unknown notebook", ["zz_missing"], 2, "unknown notebook zz_missing; valid names: a_ok, b_raises", {}),
    ("unknown preset", ["a_ok", "--preset", "nope"], 2, "unknown preset 'nope'; valid presets: test", {}),
    ("wrong type", ["a_ok", "-p", "factor", "abc"], 2,
     "parameter factor = 'abc' for a_ok: expected int like its default 2, got str", {}),
    ("unknown name", ["a_ok", "-p", "factr", "3"], 2,
     "-p factr: no selected notebook declares it; valid parameters: factor, seconds", {}),
    ("notebook raises", ["a_ok", "b_raises"], 1, "b_raises (RuntimeError: the notebook broke",
     {"a_ok": "ok", "b_raises": "failed"}),
    # the cell sleeps an hour; 20 s is 10x what the parameters cell needs on a loaded 2-core machine
    ("cell hangs", ["c_hangs", "-p", "seconds", "3600", "--cell-timeout", "20"], 1,
     "c_hangs (CellTimeoutError", {"c_hangs": "failed"}),
]


@pytest.mark.parametrize(("arguments", "status", "message", "index"), [row[1:] for row in FAULTS],
                         ids=[row[0] for row in FAULTS])
def test_report_fault(tmp_path, arguments, status, message, index):
    root = make_suite(tmp_path)
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        assert main(report_args(root, *arguments)) == status
    assert message in stderr.getvalue() and "Traceback" not in stderr.getvalue()
    folder = root / "out" / "test"
    if not index:  # a usage error runs nothing and writes nothing
        assert not folder.exists()
        return
    records = json.loads((folder / "index.json").read_text())["reports"]
    assert {record["name"]: record["status"] for record in records} == index
    for stem in index:  # a failed notebook still gets its executed notebook and page
        assert nbformat.read(folder / f"{stem}.ipynb", as_version=4).cells
        assert (folder / f"{stem}.html").stat().st_size > 0


@pytest.mark.slow
def test_killed_run_leaves_no_partial_report_and_the_next_run_completes(tmp_path):
    root = make_suite(tmp_path, {"a_fast": ["print('fast')"], "b_slow": ["import time\ntime.sleep(seconds)"]})
    folder = root / "out" / "test"
    command = [sys.executable, "-m", "ctnet_lib.cli", *report_args(root, "-p", "seconds", "120")]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:  # kill it (with its kernel) while the slow notebook runs, after the fast one was indexed
        deadline = time.monotonic() + 180
        while not list(folder.glob(".b_slow.*.tmp.ipynb")) and time.monotonic() < deadline:
            assert process.poll() is None, "the report run ended before it could be killed"
            time.sleep(0.5)
        time.sleep(2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert list(folder.glob(".b_slow.*.tmp.ipynb")), "the slow notebook never started"
    finals = sorted(path.name for path in folder.iterdir() if not path.name.startswith((".", "_")))
    assert finals == ["a_fast.html", "a_fast.ipynb", "index.html", "index.json"]
    assert [r["name"] for r in json.loads((folder / "index.json").read_text())["reports"]] == ["a_fast"]
    nbformat.read(folder / "a_fast.ipynb", as_version=4)

    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        assert main(report_args(root, "b_slow")) == 0, stderr.getvalue()
    records = json.loads((folder / "index.json").read_text())["reports"]
    assert [(r["name"], r["status"]) for r in records] == [("a_fast", "ok"), ("b_slow", "ok")]
    assert [path.name for path in folder.iterdir() if path.name.startswith(".")] == []
