"""Standalone HTML of an executed notebook (nbconvert's ``lab`` template, images embedded).

Plotly figures carry their own copy of plotly.js (see ``ctnet_lib.viz.notebook_setup``); widget state
stored by nbclient is written into the page. The page-level helpers of the template (require.js,
MathJax for formulas in markdown, the widget manager that draws saved widget views) are copied beside
the page, into ``_static/`` (see ``ctnet_lib.reports.offline_assets``), so a page needs no network.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from ctnet_lib.io_utils import atomic_write_text
from ctnet_lib.reports.offline_assets import AssetUrls, install_report_assets


def notebook_to_html(notebook: nbformat.NotebookNode, hide_code: bool = False,
                     assets: AssetUrls | None = None) -> str:
    """The notebook as one HTML page; ``hide_code`` drops code inputs and the In/Out prompts; ``assets``
    points the page helpers at local copies (default: nbconvert's CDN URLs)."""
    urls = {} if assets is None else {"mathjax_url": assets.mathjax, "require_js_url": assets.require_js,
                                      "widget_renderer_url": assets.widget_renderer}
    exporter = HTMLExporter(
        template_name="lab",
        embed_images=True,
        exclude_input=hide_code,
        exclude_input_prompt=hide_code,
        exclude_output_prompt=hide_code,
        **urls,
    )
    body, _resources = exporter.from_notebook_node(notebook)
    return body


def export_html(notebook_path: Path, html_path: Path, hide_code: bool = False) -> Path:
    """Write the HTML of the notebook file ``notebook_path`` to ``html_path`` atomically, with the page
    helpers in ``_static/`` beside it."""
    notebook = nbformat.read(notebook_path, as_version=4)
    assets = install_report_assets(html_path.parent)
    return atomic_write_text(html_path, notebook_to_html(notebook, hide_code, assets))
