"""Execute one notebook with papermill into the report folder and record how it went.

The executed notebook is written under a temporary name beside its final path (papermill saves it after
every cell, so a long run can be watched) and renamed when execution ends, failed or not: a failing
notebook still gets its executed ``.ipynb`` (with papermill's error cell) and ``.html``. An interrupted
run leaves the previous report untouched.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import papermill
from jupyter_client.kernelspec import KernelSpecManager
from papermill.exceptions import PapermillExecutionError

from ctnet_lib.io_utils import atomic_output
from ctnet_lib.options import CliError
from ctnet_lib.reports.html_export import export_html
from ctnet_lib.reports.kernel_client import PollingKernelManager
from ctnet_lib.reports.layout import FALLBACK_KERNEL, PREFERRED_KERNEL

SUMMARY_CHARS = 300


@dataclass(frozen=True)
class ReportResult:
    """What ``index.json`` records of one report; file names are relative to the report folder."""

    name: str
    parameters: dict[str, Any]
    status: str  # "ok" or "failed"
    error: str | None
    duration_s: float
    notebook: str
    html: str
    kernel: str
    finished_at: str  # ISO 8601, UTC

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_kernel(requested: str | None = None) -> str:
    """``requested`` if that kernelspec is installed; by default ``ctnet-lab``, else ``python3``."""
    installed = KernelSpecManager().find_kernel_specs()
    if requested is None:
        return PREFERRED_KERNEL if PREFERRED_KERNEL in installed else FALLBACK_KERNEL
    if requested not in installed:
        raise CliError(f"no Jupyter kernel {requested!r}; installed kernels: {', '.join(sorted(installed))}")
    return requested


def error_summary(error: BaseException) -> str:
    """One line that says what went wrong (for a notebook error: exception, message and cell)."""
    if isinstance(error, PapermillExecutionError):
        text = f"{error.ename}: {error.evalue} (cell In [{error.exec_count}])"
    else:
        text = f"{type(error).__name__}: {error}"
    line = " ".join(text.split())
    return line if len(line) <= SUMMARY_CHARS else line[: SUMMARY_CHARS - 3] + "..."


def execute(
    notebook: Path,
    output: Path,
    parameters: Mapping[str, Any],
    kernel: str,
    progress_bar: bool = True,
    cell_timeout_s: float | None = None,
) -> str | None:
    """Run ``notebook`` with papermill (working directory: its folder), saving to ``output``; a cell that
    runs longer than ``cell_timeout_s`` (default: no limit) fails the notebook.

    Returns ``None`` on success, else the one-line error summary.
    """
    try:
        papermill.execute_notebook(
            notebook,
            output,
            parameters=dict(parameters),
            kernel_name=kernel,
            progress_bar=progress_bar,
            cwd=notebook.parent,
            execution_timeout=cell_timeout_s,
            store_widget_state=True,  # nbclient: keep ipywidgets state in the notebook (and the HTML)
            kernel_manager_class=PollingKernelManager,  # no hang on a missed reply (kernel_client.py)
        )
    except Exception as error:  # a failing notebook (error cell, dead kernel) must not stop the others
        return error_summary(error)
    return None


def run_report(
    notebook: Path,
    output_dir: Path,
    parameters: Mapping[str, Any],
    kernel: str,
    hide_code: bool = False,
    progress_bar: bool = True,
    cell_timeout_s: float | None = None,
) -> ReportResult:
    """Execute ``notebook`` into ``output_dir/<stem>.ipynb``, export ``<stem>.html``, return the record."""
    ipynb, html = output_dir / f"{notebook.stem}.ipynb", output_dir / f"{notebook.stem}.html"
    start = time.perf_counter()
    with atomic_output(ipynb) as partial:
        error = execute(notebook, partial, parameters, kernel, progress_bar, cell_timeout_s)
    duration_s = time.perf_counter() - start
    export_html(ipynb, html, hide_code)
    return ReportResult(
        name=notebook.stem,
        parameters=dict(parameters),
        status="ok" if error is None else "failed",
        error=error,
        duration_s=round(duration_s, 2),
        notebook=ipynb.name,
        html=html.name,
        kernel=kernel,
        finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
