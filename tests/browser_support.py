"""Headless Chromium for the browser tests (Debian's ``chromium`` driven by Playwright).

Tests get a page from the ``browser`` fixture (``from browser_support import browser``); where Chromium or
Playwright is missing they skip with the reason. ``.ci/run`` installs both, so in CI they run.
Screenshots go to ``$CTNET_SCREENSHOT_DIR`` (default ``reports/screenshots/``, not committed).
"""

from __future__ import annotations

import os
import shutil
import socket
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(command: Sequence[str], url: str, cwd: Path, timeout_s: float = 120) -> subprocess.Popen:
    """Start a local web server (``command``) and wait until ``url`` answers; its output goes to
    ``cwd/server.log``."""
    log = open(cwd / "server.log", "wb")  # noqa: SIM115 - closed with the process by stop_server
    process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    process.log = log  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[0]} exited: {(cwd / 'server.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return process
        except OSError:
            time.sleep(0.5)
    stop_server(process)
    raise RuntimeError(f"{url} did not answer in {timeout_s} s: {(cwd / 'server.log').read_text()[-2000:]}")


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    process.log.close()  # type: ignore[attr-defined]
