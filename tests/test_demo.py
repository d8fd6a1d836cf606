"""``make demo``'s app in headless Chromium: Voila serves notebooks/demo/explorers.ipynb (code hidden),
the three explorers render, and moving the receptive-field explorer's "after step" slider changes its
output (status and steps table). Requests that would leave the machine are blocked.

Voila runs as the Makefile's demo target runs it, from a temporary copy of the repository's layout
(``notebooks/demo/explorers.ipynb`` and ``voila.json``), so the demo's runs (``../../runs/demo``), the
synthetic set and the Jupyter/IPython folders all land in ``tmp_path``. The server is polled on a static
file: Voila runs the notebook (loading the zoo's saliency models, tests/test_demo_zoo.py checks that
nothing is trained) in a new kernel for every request of the notebook's page, so polling the page itself
would leave kernels running in the background.
"""

from __future__ import annotations

import os
import shutil
import sys
import time

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

pytestmark = [pytest.mark.slow]

VOILA = os.path.join(os.path.dirname(sys.executable), "voila")
DEMO = "notebooks/demo/explorers.ipynb"
EXPLORERS = 3  # module, receptive field, saliency
RUN_TIMEOUT_MS = 420_000  # every cell of the demo on a busy CI machine (about a minute on 2 free cores)
# Voila's lab template links Font Awesome's CSS from a CDN although voila.js bundles the same icons: the
# only requests that may be blocked, and the page works without them
REDUNDANT_CDN = "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@"


@pytest.fixture
def demo_url(tmp_path):
    """Voila serving a copy of the demo notebook on a free port (stopped with its kernels afterwards)."""
    root = tmp_path / "root"
    (root / DEMO).parent.mkdir(parents=True)
    shutil.copy(REPO / DEMO, root / DEMO)
    shutil.copy(REPO / "voila.json", root)  # its kernels' client (ctnet_lib.reports.kernel_client)
    port = free_port()
    command = [VOILA, DEMO, "--no-browser", "--Voila.ip=127.0.0.1", f"--port={port}",
               "--Voila.port_retries=0"]
    url = f"http://127.0.0.1:{port}/"
    started = time.monotonic()
    process = start_server(command, url + "voila/static/voila.js", root, timeout_s=120,
                           env=jupyter_env(tmp_path / "home"))
    try:
        yield url, started
    finally:
        stop_server(process)
        print(f"Voila log: {root / 'server.log'}")


def test_demo_explorers_render_and_respond(browser, demo_url, tmp_path):  # noqa: F811
    """The page renders its three explorers (the time from the server's start to the saliency explorer's
    first tube drawn is printed: the demo's start time, which no test bounds), the field explorer
    recomputes on a slider step, no code is shown and nothing is requested outside the machine."""
    from playwright.sync_api import expect  # here: without playwright the browser fixture has skipped

    url, started = demo_url
    page, outside = page_without_network(browser, LOCAL_SERVER)
    screenshot = tmp_path / "demo-1280x800.png"
    try:
        page.goto(url, wait_until="commit", timeout=60_000)  # the page streams while the cells run
        # Voila shows the page once every cell has run, then draws the widgets
        expect(page.locator("#rendered_cells")).to_be_visible(timeout=RUN_TIMEOUT_MS)
        expect(page.locator(".widget-tab")).to_have_count(EXPLORERS, timeout=60_000)
        saliency_explorer = page.locator(".widget-hbox:has(> .widget-tab)").nth(EXPLORERS - 1)
        expect(saliency_explorer.locator("img").first).to_be_visible(timeout=60_000)
        print(f"demo start: the saliency explorer drew its first tube {time.monotonic() - started:.1f} s "
              "after Voila was started")
        saliency_explorer.scroll_into_view_if_needed()
        wait_until_laid_out(page)
        keep_screenshot(saliency_explorer, tmp_path / "demo-saliency.png")
        field_explorer = page.locator(".widget-hbox:has(> .widget-tab)", has_text="after step")
        step_the_field_explorer(field_explorer, expect)
        assert page.locator(".jp-InputArea-editor").count() == 0  # code hidden
        wait_until_laid_out(page)  # the screenshot shows the redrawn explorer
    except Exception:
        log = (tmp_path / "root" / "server.log").read_text(errors="replace")
        print(f"Voila log, last lines:\n{log[-4000:]}")
        raise
    finally:
        keep_screenshot(page, screenshot)
        print(f"requests blocked: {outside}")
        page.close()
    assert all(url.startswith(REDUNDANT_CDN) for url in outside), f"requests outside the machine: {outside}"
