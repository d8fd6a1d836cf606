"""Option parsing shared by the ``ctnet`` command, notebooks and the library, without importing the CLI.

Parsers turn the strings a user types (``--set kernels=1,3``, a notebook's ``"balanced"``) into typed
values and raise ValueError naming the bad text and the fix. ``CliError`` is the ValueError that the
command prints on one line, without a traceback.
"""

from __future__ import annotations

from typing import Any


class CliError(ValueError):
    """A user error that the ``ctnet`` command reports on one line, without a traceback."""


def parse_set_options(pairs: list[str]) -> dict[str, str]:
    """``['kernels=1,3', 'pwconv=true']`` -> ``{'kernels': '1,3', 'pwconv': 'true'}``."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set {pair!r} is not key=value (for example --set kernels=3,3)")
        options[key.strip()] = value.strip()
    return options


def parse_bool(value: Any) -> bool:
    """True/False from a bool or one of 1/0, true/false, yes/no, on/off (any case)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{value!r} is not a boolean (use true or false)")


def parse_kernels(value: Any) -> tuple[int, ...]:
    """'3,5' or (3, 5) -> (3, 5), 3 -> (3,); raises ValueError naming the text when it holds a non-integer."""
    if isinstance(value, int):
        return (value,)
    if not isinstance(value, str):
        return tuple(int(v) for v in value)
    try:
        return tuple(int(k) for k in value.replace(" ", "").split(",") if k)
    except ValueError:
        raise ValueError(f"kernels {value!r} must be comma-separated odd integers such as 3 or 1,3") from None


def parse_last_sub_dim(value: Any) -> int | None:
    """'balanced' or None -> None (balanced factorisation); otherwise the size of the last sub-dimension."""
    return None if value is None or str(value).strip().lower() == "balanced" else int(value)
