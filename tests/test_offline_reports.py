"""A smoke report's HTML in headless Chromium with every network request blocked: the formulas are
typeset by the MathJax copy beside the page, the saved widget views are drawn by the widget manager's
copy, and no request fails."""

from __future__ import annotations

import pytest
from browser_support import REPO, browser, page_without_network, screenshot_dir  # noqa: F401 - browser is a fixture

from ctnet_lib.reports.runner import resolve_kernel
from ctnet_lib.reports.suite import plan_reports, run_suite

pytestmark = pytest.mark.slow
LOCAL = ("file:", "data:", "blob:", "about:")


@pytest.fixture(scope="module")
def report_page(tmp_path_factory):
    """Notebook 01 run with the smoke preset, its explorer shown."""
    folder = tmp_path_factory.mktemp("offline")
    plan = plan_reports("smoke", ["01_module_derivation"], {"show_widget": True},
                        REPO / "notebooks", REPO / "reports" / "presets")
    [result] = run_suite(plan, resolve_kernel(), folder, progress_bar=False, cell_timeout_s=600)
    assert result.ok, result.error
    return folder / "smoke" / result.html


def test_report_renders_math_and_widgets_with_the_network_blocked(browser, report_page):  # noqa: F811
    page, blocked = page_without_network(browser, LOCAL)
    failed = []
    page.on("requestfailed", lambda request: request.url.startswith("about:")
            or failed.append(f"{request.url[:120]} {request.failure}"))
    page.goto(report_page.as_uri())
    page.wait_for_selector(".MathJax_Display", timeout=60_000)
    page.wait_for_selector(".widget-tab", timeout=60_000)
    page.wait_for_timeout(1000)
    assert page.locator(".MathJax_Display").count() >= 8  # eq. 1-8 and the cost formulas, typeset
    assert page.locator("text=$$").count() == 0  # no formula left as TeX source
    assert page.locator(".widget-dropdown").count() >= 3  # the module explorer's saved view
    assert blocked == [] and failed == []
    page.screenshot(path=screenshot_dir() / "offline-report-01.png")
    page.close()
