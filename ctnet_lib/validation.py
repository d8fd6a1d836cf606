"""Checks of user input that every entry point (the ``ctnet`` sub-commands and the library functions they
call) runs before any work: number ranges, output paths and the types of dataclass fields.

Each check raises ValueError naming the input and what would fix it; the ``ctnet`` command prints it on
one line. One function per rule, so every entry point words the same mistake the same way.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "check_at_least",
    "check_clip_size",
    "check_field_types",
    "check_in_range",
    "check_output_file",
    "check_output_folder",
    "field_type_problem",
]


def check_at_least(name: str, value: float | None, minimum: float, *, optional: bool = False) -> None:
    """Raise ValueError unless ``value >= minimum`` (None passes when ``optional``; NaN never passes)."""
    if value is None and optional:
        return
    if not (isinstance(value, (int, float)) and value >= minimum and not math.isinf(value)):
        kind = "a whole number" if isinstance(minimum, int) else "a number"
        raise ValueError(f"{name} must be at least {minimum:g}, got {value!r}: pass {kind} of {minimum:g} or "
                         "more")


def check_in_range(name: str, value: float | None, low: float, high: float, *, high_open: bool = False,
                   low_open: bool = False, optional: bool = False) -> None:
    """Raise ValueError unless ``value`` lies between ``low`` and ``high`` (ends included unless open;
    None passes when ``optional``; NaN never passes)."""
    if value is None and optional:
        return
    above = isinstance(value, (int, float)) and (value > low if low_open else value >= low)
    below = isinstance(value, (int, float)) and (value < high if high_open else value <= high)
    if not (above and below):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        if math.isinf(high):
            interval = f"{'above' if low_open else 'at least'} {low:g}"
        raise ValueError(f"{name} must be {'in ' * (not math.isinf(high))}{interval}, got {value!r}: pass a "
                         "value in that range")


def check_clip_size(frames: int, size: int, smallest_size: int = 1) -> None:
    """Raise ValueError unless a clip of ``frames`` frames of ``size`` x ``size`` pixels fits a network
    that needs at least ``smallest_size`` pixels a side (a ResNet's total stride of 32: its last feature
    map then has one pixel; InceptionV3's unpadded convolutions 75)."""
    check_at_least("frames", frames, 1)
    check_at_least("size", size, 1)
    if size < smallest_size:
        raise ValueError(f"size {size} is below the network's smallest input ({smallest_size} pixels): "
                         f"the smallest size is {smallest_size}; use {smallest_size} or more")


def _nearest_existing(path: Path) -> Path:
    """``path`` or the closest of its parents that exists."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_writable_place(path: Path, what: str) -> None:
    """Raise ValueError unless ``path`` can be created (or replaced): the folder it goes in, or its nearest
    existing parent, is a folder this process may write in. An existing folder is the caller's to check."""
    existing = _nearest_existing(path)
    if existing == path.absolute():
        if path.is_dir():
            return
        existing = existing.parent  # an existing file is replaced through a temporary beside it
    elif not existing.is_dir():
        raise ValueError(f"{what} {path} cannot be created: {existing} is a file, not a folder; choose "
                         "another path")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{what} {path} cannot be written: {existing} is not writable; choose a folder you "
                         "can write to (or fix its permissions)")


def check_output_folder(path: str | os.PathLike, what: str = "output folder") -> Path:
    """Raise ValueError unless ``path`` is a folder, or can become one, that this process may write in;
    return it as a Path. ``what`` names the path in the message (for example ``--out``)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{what} {path} is a file, not a folder: pass a folder path (or move the file "
                         "away)")
    if path.is_dir() and not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"{what} {path} is not writable: choose a folder you can write to (or fix its "
                         "permissions)")
    _check_writable_place(path, what)
    return path


def check_output_file(path: str | os.PathLike, what: str = "output file") -> Path:
    """Raise ValueError unless a file can be written at ``path`` (not a folder, in a writable folder);
    return it as a Path."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{what} {path} is a folder, not a file: pass a file path such as "
                         f"{path / 'results.json'}")
    _check_writable_place(path, what)
    return path


def _type_name(annotation: Any) -> str:
    """How a message names a field type: 'an integer', 'a string or null', 'a list of numbers'..."""
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(arg) for arg in args if arg is not type(None)]
        return " or ".join(names) + (" or null" if type(None) in args else "")
    if origin is tuple or origin is list:
        return f"a list of {_type_name(args[0]).removeprefix('a ').removeprefix('an ')}s"
    if origin is not None and issubclass(origin, Mapping):
        return "a mapping of names to values"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
        annotation, getattr(annotation, "__name__", str(annotation)))


def _fits(value: Any, annotation: Any) -> bool:
    """Whether ``value`` (as YAML or JSON gives it) is of the field type ``annotation``."""
    if annotation is Any:
        return True
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in args)
    if annotation is type(None):
        return value is None
    if origin is tuple or origin is list:
        return isinstance(value, (list, tuple)) and all(_fits(item, args[0]) for item in value)
    if origin is not None and issubclass(origin, Mapping):
        return isinstance(value, Mapping) and all(isinstance(key, str) for key in value)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, annotation)


def field_type_problem(cls: type, name: str, value: Any) -> str | None:
    """Why ``value`` does not fit the field ``name`` of the dataclass ``cls`` (None when it does): the
    type expected, the value given and the fix, with the field's name."""
    annotation = typing.get_type_hints(cls)[name]
    if _fits(value, annotation):
        return None
    default = next(f.default for f in dataclasses.fields(cls) if f.name == name)
    example = "" if default is dataclasses.MISSING or default is None else \
        f", such as {name}: {json.dumps(list(default) if isinstance(default, tuple) else default)}"
    hint = ""
    if isinstance(value, str) and annotation in (int, float) and _is_number(value):
        hint = " (in YAML write a number without quotes; a float needs a dot, as in 1.0e-3)"
    return (f"{name}: expected {_type_name(annotation)}, got {value!r} ({type(value).__name__}); give "
            f"{_type_name(annotation)}{example}{hint}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_field_types(instance: Any, source: str | None = None) -> None:
    """Raise ValueError naming the first field of the dataclass ``instance`` whose value has the wrong
    type (``source``, such as a file name, goes first in the message)."""
    for field in dataclasses.fields(instance):
        problem = field_type_problem(type(instance), field.name, getattr(instance, field.name))
        if problem:
            prefix = f"{source}: " if source else f"{type(instance).__name__} field "
            raise ValueError(prefix + problem)
