"""Standalone HTML of an executed notebook (nbconvert's ``lab`` template, images embedded).

Plotly figures carry their own copy of plotly.js (see ``ctnet_lib.viz.notebook_setup``); widget state
stored by nbclient is written into the page. The page-level helpers of the template (MathJax for
formulas in markdown, require.js and the widget manager for live widgets) still come from a CDN and
are simply absent offline: text, tables, images and plotly figures do not need them.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from ctnet_lib.io_utils import atomic_write_text


def notebook_to_html(notebook: nbformat.NotebookNode, hide_code: bool = False) -> str:
    """The notebook as one HTML page; ``hide_code`` drops code inputs and the In/Out prompts."""
    exporter = HTMLExporter(
        template_name="lab",
        embed_images=True,
        exclude_input=hide_code,
        exclude_input_prompt=hide_code,
        exclude_output_prompt=hide_code,
    )
    body, _resources = exporter.from_notebook_node(notebook)
    return body


def export_html(notebook_path: Path, html_path: Path, hide_code: bool = False) -> Path:
    """Write the HTML of the notebook file ``notebook_path`` to ``html_path`` atomically."""
    notebook = nbformat.read(notebook_path, as_version=4)
    return atomic_write_text(html_path, notebook_to_html(notebook, hide_code))
