"""Reading the YAML and JSON files a user writes (configs, presets, class files) with errors that name the
file, the line, what was expected and the fix, instead of a parser's traceback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["YamlMapping", "read_json", "read_text_file", "read_yaml_mapping"]


def read_text_file(path: str | Path, what: str) -> str:
    """The UTF-8 text of the file ``path``; FileNotFoundError or ValueError (a folder, not UTF-8) name
    ``what`` it is and the fix."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{what} {path} is a folder, not a file: pass the path of the file itself")
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist: check the path")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"{what} {path} is not UTF-8 text ({error.reason} at byte {error.start}): save it "
                         "as UTF-8 (is it the right file?)") from None


@dataclass(frozen=True)
class YamlMapping:
    """The top-level mapping of a YAML file and the 1-based line of each key, for messages."""

    path: Path
    values: dict[str, Any]
    lines: dict[str, int]

    def where(self, key: str) -> str:
        """``<file>:<line>`` of ``key``."""
        return f"{self.path}:{self.lines[key]}"


def _yaml_problem(error: yaml.YAMLError) -> str:
    """'line L, column C: <problem> (<context>)' of a YAML parser error, on one line."""
    mark = getattr(error, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    return " ".join(f"{where}{problem}{f' ({context})' if context else ''}".split())


def read_yaml_mapping(path: str | Path, what: str, example: str, allow_empty: bool = False) -> YamlMapping:
    """The mapping at the top of the YAML file ``path`` with the line of each key. A missing file, a
    syntax error (with its line and what the parser expected), an empty file (unless ``allow_empty``), or
    a top level that is not a mapping of names raise FileNotFoundError or ValueError naming ``what`` the
    file is, and the fix (``example``: a line of a valid file, such as ``epochs: 10``)."""
    path = Path(path)
    text = read_text_file(path, what)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        content = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValueError(f"{what} {path} is not valid YAML ({_yaml_problem(error)}): fix that line; each "
                         f"line reads 'name: value', such as '{example}'") from None
    if node is None and allow_empty:
        return YamlMapping(path, {}, {})
    if node is None:
        raise ValueError(f"{what} {path} is empty: write one 'name: value' per line, such as '{example}'")
    if not isinstance(content, dict) or not all(isinstance(key, str) for key in content):
        raise ValueError(f"{what} {path}:{node.start_mark.line + 1}: expected a mapping of names to values "
                         f"at the top, got {type(content).__name__}; write one 'name: value' per line, such "
                         f"as '{example}'")
    lines = {key_node.value: key_node.start_mark.line + 1 for key_node, _ in node.value}
    return YamlMapping(path, content, lines)


def read_json(path: str | Path, what: str, example: str) -> Any:
    """The JSON value in the file ``path``. A missing file, an empty file or a syntax error (its line,
    column and what the parser expected) raise FileNotFoundError or ValueError naming ``what`` the file
    is and the fix (``example``: a valid file's content)."""
    path = Path(path)
    text = read_text_file(path, what)
    if not text.strip():
        raise ValueError(f"{what} {path} is empty: write JSON such as {example}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{what} {path}:{error.lineno} is not valid JSON ({error.msg} at line "
                         f"{error.lineno}, column {error.colno}): fix that line; the file reads like "
                         f"{example}") from None
