"""Git's clean filter for notebooks: what ``git add`` and ``git status`` see of a notebook run in
JupyterLab is the notebook without outputs, so running the committed notebooks does not dirty them.

``make`` installs it (``git config filter.ctnet-notebook.clean ...``; ``.gitattributes`` names the
notebooks); the file on disk keeps its outputs.
"""

from __future__ import annotations

import sys

import nbformat

RUN_METADATA = ("execution", "papermill", "widgets")  # what running adds to cell and notebook metadata


def clean(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop outputs, execution counts and the metadata that running a notebook writes."""
    for key in RUN_METADATA:
        notebook.metadata.pop(key, None)
    for cell in notebook.cells:
        for key in RUN_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


if __name__ == "__main__":
    sys.stdout.write(nbformat.writes(clean(nbformat.reads(sys.stdin.read(), as_version=4))) + "\n")
