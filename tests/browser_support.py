"""Headless Chromium for the browser tests (Debian's ``chromium`` driven by Playwright).

Tests get a page from the ``browser`` fixture (``from browser_support import browser``); where Chromium or
Playwright is missing they skip with the reason. ``.ci/run`` installs both, so in CI they run.
Screenshots go to ``$CTNET_SCREENSHOT_DIR`` (default ``reports/screenshots/``, not committed).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CTNET_CHROMIUM", "/usr/bin/chromium")
# Chromium's own background traffic (updates, sync, safe browsing) would be failed requests offline
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORTS = {"1280x800": (1280, 800), "1920x1080": (1920, 1080)}
# the URLs a page served by a local server (JupyterLab, Voila) may request: everything else is outside
LOCAL_SERVER = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")


def screenshot_dir() -> Path:
    """Where the browser tests save their screenshots (created)."""
    folder = Path(os.environ.get("CTNET_SCREENSHOT_DIR", REPO / "reports" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A headless Chromium browser (Playwright); skips the test where none can be started."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CTNET_CHROMIUM)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def page_without_network(browser, local: Sequence[str], width: int = 1280, height: int = 800):
    """A new page of ``browser`` on which every request whose URL does not start with one of ``local`` is
    aborted; returns the page and the list that collects the aborted URLs."""
    page = browser.new_page(viewport={"width": width, "height": height})
    blocked: list[str] = []

    def abort(route) -> None:
        blocked.append(route.request.url)
        route.abort()

    page.route(lambda url: not url.startswith(tuple(local)), abort)
    return page, blocked


def jupyter_env(root: Path) -> dict[str, str]:
    """Environment variables that keep a Jupyter server's and its kernels' config, data, runtime files,
    IPython profile and ctnet cache inside ``root``, so that nothing of the user's is read or written (the
    environment's kernel specs, in ``sys.prefix``, are still found)."""
    folders = {"JUPYTER_CONFIG_DIR": "jupyter-config", "JUPYTER_DATA_DIR": "jupyter-data",
               "JUPYTER_RUNTIME_DIR": "jupyter-runtime", "IPYTHONDIR": "ipython", "CTNET_CACHE_DIR": "cache"}
    env = {}
    for name, folder in folders.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        env[name] = str(root / folder)
    return env


def start_server(command: Sequence[str], url: str, cwd: Path, timeout_s: float = 120,
                 env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start a local web server (``command``, with ``env`` added to the environment) in a process group
    of its own and wait until ``url`` answers (poll a static file: a page that runs a notebook would
    start a kernel per poll); its output goes to ``cwd/server.log``."""
    log = open(cwd / "server.log", "wb")  # noqa: SIM115 - closed with the process by stop_server
    process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
    process.log = log  # type: ignore[attr-defined]
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stop_server(process)
            raise RuntimeError(f"{command[0]} exited: {(cwd / 'server.log').read_text()[-2000:]}")
        try:
            with direct.open(url, timeout=5):
                return process
        except OSError:
            time.sleep(0.5)
    stop_server(process)
    raise RuntimeError(f"{url} did not answer in {timeout_s} s: {(cwd / 'server.log').read_text()[-2000:]}")


def stop_server(process: subprocess.Popen) -> None:
    """Stop the server and the kernels it started: SIGTERM to its process group (a Jupyter server shuts
    its kernels down), then SIGKILL to that group and to the kernels' own sessions for whatever is left."""
    kernels = _children(process.pid)  # jupyter_client starts each kernel in a session of its own
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=20)
    for group in (process.pid, *kernels):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
    process.wait()
    process.log.close()  # type: ignore[attr-defined]


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from Linux's /proc; none where there is no /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(stat.parent.name))
    return children


def step_the_field_explorer(explorer, expect) -> None:
    """On a rendered receptive-field explorer (a Playwright locator): the status says step 1/2 and the first
    tab shows the per-step table; one ArrowRight on the "after step" slider makes the kernel recompute,
    and the status (step 2/2) and the table change. ``expect`` is ``playwright.sync_api.expect``."""
    status = explorer.locator(":scope > .widget-vbox > .widget-html")
    steps = explorer.locator(".widget-tab .widget-output").first  # the first tab: the per-step table
    expect(status).to_contain_text("step 1/2", timeout=60_000)
    expect(steps.locator("table")).to_be_visible(timeout=60_000)
    status_before, steps_before = status.inner_text(), steps.inner_text()

    explorer.scroll_into_view_if_needed()
    explorer.locator(".widget-slider", has_text="after step").locator(".noUi-handle").focus()
    explorer.page.keyboard.press("ArrowRight")  # step 1 -> 2: the kernel recomputes and redraws

    expect(status).to_contain_text("step 2/2", timeout=120_000)
    expect(steps).not_to_have_text(steps_before, timeout=120_000)
    assert status.inner_text() != status_before


def keep_screenshot(page, path: Path) -> None:
    """Save a screenshot of ``page`` (a Playwright page, or a locator: that element only) at ``path`` and a
    copy in :func:`screenshot_dir`; print both."""
    page.screenshot(path=path)
    shutil.copy(path, screenshot_dir() / path.name)
    print(f"screenshot: {path} (copied to {screenshot_dir() / path.name})")


# the layout of everything on a page, as one string: equal for consecutive animation frames once settled
LAYOUT_SIGNATURE = """() => Array.from(document.querySelectorAll('.widget-tab, .js-plotly-plot, .widget-box'))
  .map(e => { const r = e.getBoundingClientRect(); return [r.x, r.y, r.width, r.height].join(','); })
  .join(';')"""


def wait_until_laid_out(page, deadline_s: float = 60, settled_checks: int = 3) -> None:
    """Wait until the page's widgets and plots keep the same boxes for ``settled_checks`` consecutive
    checks 100 ms apart (plotly and the tab widgets resize after they are attached); fail after
    ``deadline_s`` seconds. A condition, not a fixed pause: a loaded machine just takes longer."""
    deadline = time.monotonic() + deadline_s
    previous, same = None, 0
    while same < settled_checks:
        if time.monotonic() > deadline:
            raise AssertionError(f"the page's layout kept changing for {deadline_s} s")
        page.wait_for_timeout(100)
        signature = page.evaluate(LAYOUT_SIGNATURE)
        same = same + 1 if signature == previous else 0
        previous = signature
