"""Notebook 03 in a real JupyterLab driven by headless Chromium: Run > Run All Cells, the receptive-field
explorer renders, moving its "after step" slider changes the explorer's output (status and steps table).

The server runs the environment's ``jupyter lab`` on 127.0.0.1 without token or password, its root a
temporary folder holding a copy of the notebook with the smoke preset's parameters (widget on), and its
Jupyter/IPython config, data and runtime folders temporary too (nothing of the user's is touched).
A screenshot goes to ``tmp_path`` and to the screenshot folder; its path is printed (``pytest -s``).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from browser_support import (  # noqa: F401 - browser is a fixture
    LOCAL_SERVER,
    REPO,
    browser,
    jupyter_env,
    keep_screenshot,
    page_without_network,
    start_server,
    step_the_field_explorer,
    stop_server,
    wait_until_laid_out,
)
from ports import free_port

from ctnet_lib.reports.suite import plan_reports

pytestmark = [pytest.mark.slow]

NOTEBOOK = "03_receptive_field"
JUPYTER = os.path.join(os.path.dirname(sys.executable), "jupyter")
# JupyterLab's settings for this server: every cell attached to the page (the explorer's cell is drawn
# even while off screen), and no news or update check (no request leaves the machine, no toast)
USER_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": '{"windowingMode": "none"}',
    "@jupyterlab/apputils-extension/notification": '{"fetchNews": "false", "checkForUpdates": false}',
}
EXPLORER = ".jp-OutputArea-output .widget-hbox:has(> .widget-tab)"


def write_smoke_copy(folder) -> None:
    """``folder/<NOTEBOOK>.ipynb``: the notebook with the smoke preset's values (show_widget on) appended
    to its parameters cell."""
    plan = plan_reports("smoke", [NOTEBOOK], {"show_widget": True}, REPO / "notebooks",
                        REPO / "reports" / "presets")
    parameters = plan.parameters[NOTEBOOK]
    assert parameters["show_widget"] is True
    notebook = nbformat.read(REPO / "notebooks" / f"{NOTEBOOK}.ipynb", as_version=4)
    [cell] = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    cell.source += "\n# the smoke preset, widget on (tests/test_browser_jupyterlab.py)\n" + "\n".join(
        f"{name} = {value!r}" for name, value in parameters.items())
    nbformat.write(notebook, folder / f"{NOTEBOOK}.ipynb")


@pytest.fixture
def lab_url(tmp_path):
    """A JupyterLab server on a free port whose root holds the smoke copy of the notebook; stopped (with
    its kernels) afterwards."""
    root = tmp_path / "root"
    root.mkdir()
    write_smoke_copy(root)
    env = jupyter_env(tmp_path / "home")
    for plugin, settings in USER_SETTINGS.items():
        path = Path(env["JUPYTER_CONFIG_DIR"]) / "lab" / "user-settings" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(settings)
    port = free_port()
    command = [JUPYTER, "lab", *(["--allow-root"] if os.geteuid() == 0 else []), "--no-browser",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               "--ServerApp.token=", "--ServerApp.password=", f"--ServerApp.root_dir={root}",
               "--LabApp.news_url=None",
               "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate"]
    url = f"http://127.0.0.1:{port}/"
    process = start_server(command, url + "static/favicon.ico", tmp_path, timeout_s=180, env=env)
    try:
        yield url
    finally:
        stop_server(process)
        print(f"JupyterLab log: {tmp_path / 'server.log'}")


def run_all_cells(page, attempts: int = 10) -> None:
    """Run > Run All Cells, again while no cell has started: until the kernel's session is ready the
    command is disabled and a click on it does nothing (seen: the kernel idle for the whole wait)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    started = page.locator(".jp-InputPrompt", has_text=re.compile(r"\[(\*|\d+)\]"))
    for _ in range(attempts):
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
        page.locator(".lm-Menu .lm-Menu-itemLabel", has_text=re.compile("^Run All Cells$")).click()
        try:
            started.first.wait_for(timeout=30_000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")  # close the menu if the click left it open
    raise AssertionError(f"Run All Cells started no cell in {attempts} tries")


def test_run_all_then_move_the_explorer_slider(browser, lab_url, tmp_path):  # noqa: F811
    from playwright.sync_api import expect  # here: without playwright the browser fixture has skipped

    page, outside = page_without_network(browser, LOCAL_SERVER)
    screenshot = tmp_path / "jupyterlab-03-explorer-1280x800.png"
    try:
        page.goto(f"{lab_url}lab/tree/{NOTEBOOK}.ipynb", wait_until="domcontentloaded", timeout=120_000)
        page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(timeout=180_000)
        page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.click()  # the notebook has the focus
        run_all_cells(page)

        explorer = page.locator(EXPLORER)
        # the cells run, the explorer is drawn: 10x what the notebook needs alone on the 2-core machine
        explorer.locator(".widget-tab").wait_for(timeout=600_000)
        step_the_field_explorer(explorer, expect)
        wait_until_laid_out(page)  # the screenshot shows the redrawn explorer
    except Exception:
        print(f"JupyterLab log, last lines:\n{(tmp_path / 'server.log').read_text(errors='replace')[-4000:]}")
        raise
    finally:
        keep_screenshot(page, screenshot)
        page.close()
    assert outside == [], f"requests outside the machine: {outside}"
