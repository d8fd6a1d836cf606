"""Find the notebooks of the suite, select some by name, and read the parameters each declares."""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import papermill

from ctnet_lib.options import CliError


def find_notebooks(notebooks_dir: Path) -> dict[str, Path]:
    """``{stem: path}`` of every ``*.ipynb`` in ``notebooks_dir``, sorted by name."""
    if not notebooks_dir.is_dir():
        raise FileNotFoundError(
            f"no notebook folder {str(notebooks_dir)!r}; "
            "run from the ctnet-lab checkout or pass --notebooks-dir"
        )
    return {path.stem: path for path in sorted(notebooks_dir.glob("*.ipynb"))}


def select_notebooks(notebooks: dict[str, Path], names: Sequence[str]) -> dict[str, Path]:
    """The notebooks called ``names`` (all of them when ``names`` is empty), in suite order."""
    if not notebooks:
        raise CliError("no notebooks (*.ipynb) to run")
    unknown = [name for name in names if name not in notebooks]
    if unknown:
        raise CliError(f"unknown notebook {', '.join(unknown)}; valid names: {', '.join(notebooks)}")
    return {stem: path for stem, path in notebooks.items() if not names or stem in names}


def declared_parameters(notebook: Path) -> dict[str, dict[str, str]]:
    """Parameters of the notebook's ``parameters`` cell, as papermill infers them:
    ``{name: {"name", "inferred_type_name", "default", "help"}}`` (default and help are source text)."""
    return papermill.inspect_notebook(notebook)


def parameter_defaults(notebook: Path) -> dict[str, Any]:
    """``{name: value}`` of the notebook's ``parameters`` cell (values are plain literals)."""
    return literal_defaults(declared_parameters(notebook))


def literal_defaults(declared: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """``{name: value}`` of :func:`declared_parameters`' output (default source text read as a literal)."""
    return {name: ast.literal_eval(info["default"]) for name, info in declared.items()}
