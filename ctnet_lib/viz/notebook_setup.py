"""One call in every notebook's imports cell so that figures survive the export to standalone HTML.

Plotly figures get two representations: the plotly mimetype (JupyterLab draws it natively) and HTML
that uses a copy of plotly.js embedded once in the notebook (the first figure's output carries it), so
an exported report shows interactive figures without network access. Matplotlib figures are inline PNGs.
"""

from __future__ import annotations

import plotly.io as pio
from IPython import get_ipython
from plotly.io._base_renderers import NotebookRenderer

OFFLINE_RENDERER = "ctnet_offline"
PLOTLY_RENDERERS = f"plotly_mimetype+{OFFLINE_RENDERER}"


class OfflineNotebookRenderer(NotebookRenderer):
    """plotly's ``notebook`` renderer (plotly.js embedded once) without the per-figure MathJax script
    from a CDN, so that a figure's HTML refers to nothing outside the page."""

    def to_mimebundle(self, fig_dict: dict) -> dict[str, str]:
        html = pio.to_html(
            fig_dict,
            config=self.config,
            include_plotlyjs=False,
            include_mathjax=False,
            full_html=False,
            default_width="100%",
            default_height=525,
            validate=False,
        )
        return {"text/html": html}


def setup_notebook(figure_format: str = "png") -> None:
    """Set the plotly renderers (mimetype + offline HTML) and the inline matplotlib format.

    Calling it again (re-running the imports cell) does not embed plotly.js a second time.
    """
    if OFFLINE_RENDERER not in pio.renderers:
        pio.renderers[OFFLINE_RENDERER] = OfflineNotebookRenderer()
    if pio.renderers.default != PLOTLY_RENDERERS:
        pio.renderers.default = PLOTLY_RENDERERS
    _set_matplotlib_format(figure_format)
    if get_ipython() is not None:
        # embed plotly.js now, in this cell's output: plotly would do it with the first figure, and when
        # that figure is drawn inside an explorer's Output widget, every redraw of the widget would send
        # the 4 MB bundle through the kernel again (minutes instead of seconds)
        pio.renderers._activate_pending_renderers()


def _set_matplotlib_format(figure_format: str) -> None:
    """Inline matplotlib figures as ``figure_format`` images; nothing to do outside IPython."""
    if get_ipython() is None:
        return
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats(figure_format)
