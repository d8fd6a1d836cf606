"""Every explorer laid out in headless Chromium at 1280x800 (JupyterLab's side panel open) and at
1920x1080: no control overflows its container, every tab has the same height, 3D views are at least
500 px wide. The explorers are executed in a kernel (as a report is) and drawn from the saved widget
state by the widget manager; a screenshot of each at 1280x800 goes to the screenshot folder."""

from __future__ import annotations

import nbformat
import pytest
from browser_support import (  # noqa: F401 - browser is a fixture
    VIEWPORTS,
    browser,
    screenshot_dir,
    wait_until_laid_out,
)
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from ctnet_lib.reports.runner import resolve_kernel, run_report

pytestmark = pytest.mark.slow

SIDE_PANEL_PX = 300  # JupyterLab's left side panel with its tab bar, open
SETUP = """\
import torch
from ctnet_lib import build_model
from ctnet_lib.explain.clips import ClipView
from ctnet_lib.viz.notebook_setup import setup_notebook
from ctnet_lib.viz.widgets.cost_sweep import CostSweep
from ctnet_lib.viz.widgets.field_explorer import FieldExplorer
from ctnet_lib.viz.widgets.module_explorer import ModuleExplorer
from ctnet_lib.viz.widgets.saliency_explorer import SaliencyExplorer

setup_notebook()
torch.manual_seed(0)
models = {name: build_model(name, num_classes=3, num_frames=4).eval()
          for name in ("tsn_small", "ctnet_small")}
frames = torch.randint(0, 255, (4, 32, 32, 3), dtype=torch.uint8)
mask = torch.zeros(4, 32, 32, dtype=torch.bool)
mask[:, 8:20, 8:20] = True
view = ClipView(Path("clip.mp4"), frames.permute(3, 0, 1, 2).float() / 255, frames.numpy(),
                torch.arange(4).numpy(),
                0, mask.numpy())
"""
EXPLORERS = {
    "module_explorer": "ModuleExplorer().ui",
    "field_explorer": "FieldExplorer(channels=16, size=9).ui",
    "cost_sweep": "CostSweep().ui",
    "saliency_explorer": "SaliencyExplorer(models, [view], ['a', 'b', 'c']).ui",
}


@pytest.fixture(scope="module")
def explorers_page(tmp_path_factory):
    """The four explorers executed in a kernel and exported to HTML with the page helpers beside it."""
    root = tmp_path_factory.mktemp("layout")
    cells = [new_code_cell("", metadata={"tags": ["parameters"]}),
             new_code_cell("from pathlib import Path\n" + SETUP)]
    for name, source in EXPLORERS.items():
        cells += [new_markdown_cell(f"<div id='{name}'>{name}</div>"), new_code_cell(source)]
    kernelspec = {"name": "ctnet-lab", "display_name": "ctnet-lab", "language": "python"}
    notebook = root / "explorers.ipynb"
    nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": kernelspec}), notebook)
    result = run_report(notebook, root / "out", {}, resolve_kernel(), progress_bar=False, cell_timeout_s=300)
    assert result.ok, result.error
    return root / "out" / result.html


OVERFLOWS = """
(slack) => {
  const problems = [];
  const roots = [...document.querySelectorAll('.widget-hbox.widget-box')]
    .filter((box) => !box.parentElement.closest('.widget-hbox'));  // each explorer's outer box
  roots.forEach((root, index) => {
    root.dataset.explorer = index;
    const [controls, tabs] = root.children;
    const frame = controls.getBoundingClientRect();
    for (const element of controls.querySelectorAll('*')) {
      const box = element.getBoundingClientRect();
      if (box.width > 0 && (box.right > frame.right + slack || box.left < frame.left - slack))
        problems.push(`explorer ${index}: ${element.className} spans ${box.left}-${box.right}, ` +
                      `its controls ${frame.left}-${frame.right}`);
    }
    const outer = root.getBoundingClientRect(), right = tabs.getBoundingClientRect().right;
    if (right > outer.right + slack)
      problems.push(`explorer ${index}: tabs end at ${right} > ${outer.right}`);
  });
  return [roots.length, problems];
}
"""


def tab_heights_and_3d_widths(page, explorer) -> tuple[set[int], list[float]]:
    """Click through the explorer's tabs: the height of its tab widget on each, and the widths of the
    plotly 3D scenes shown."""
    heights, widths = set(), []
    tabs = explorer.locator(".widget-tab").first
    titles = tabs.locator(".lm-TabBar-tab")
    for index in range(titles.count()):
        titles.nth(index).click()
        wait_until_laid_out(page)
        heights.add(round(tabs.bounding_box()["height"]))
        for plot in tabs.locator(".js-plotly-plot:has(.gl-container)").all():
            if plot.is_visible():
                widths.append(plot.bounding_box()["width"])
    titles.first.click()
    return heights, widths


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_explorers_fit_their_containers_at_both_sizes(browser, explorers_page, viewport):  # noqa: F811
    width, height = VIEWPORTS[viewport]
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(explorers_page.as_uri())
    if viewport == "1280x800":  # JupyterLab with its side panel open leaves the notebook this much room
        page.add_style_tag(content=f"body {{ margin-left: {SIDE_PANEL_PX}px !important; }}")
    page.wait_for_selector(".widget-tab", timeout=60_000)
    wait_until_laid_out(page)
    count, problems = page.evaluate(OVERFLOWS, 1)
    assert count == len(EXPLORERS) and problems == []
    for index, name in enumerate(EXPLORERS):
        explorer = page.locator(f"[data-explorer='{index}']")
        heights, widths = tab_heights_and_3d_widths(page, explorer)
        assert len(heights) == 1, f"{name}: tab heights {heights}"
        assert all(w >= 500 for w in widths), f"{name}: 3D view widths {widths}"
        if name in ("field_explorer", "saliency_explorer"):
            assert widths, f"{name}: no 3D view drawn"
        if viewport == "1280x800":
            explorer.screenshot(path=screenshot_dir() / f"{name}-1280x800.png")
    page.close()
    print(f"screenshots: {screenshot_dir()}")
