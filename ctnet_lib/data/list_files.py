"""List files and class files: which videos a split holds, their labels, and the class names.

Two list formats, one item per line, fields separated by white space, paths relative to a data root:

- ``<frame_dir> <num_frames> <label>``: a folder of JPEG frames (TSN/TSM, Something-Something);
- ``<video_path> <label>``: a video file (Kinetics style).

Blank lines and lines starting with ``#`` are skipped. A path may contain spaces (the numeric fields
are taken from the end of the line). Windows line ends (CRLF) and a UTF-8 byte-order mark are accepted.
A path listed twice is an error (it would weigh that video twice without anyone noticing).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ctnet_lib.parsed_files import read_json

__all__ = [
    "ClassList",
    "ListFileError",
    "VideoRecord",
    "check_class_names",
    "read_class_list",
    "read_list_file",
]

ListFormat = Literal["auto", "frames", "videos"]

CLASS_FILE_EXAMPLE = '{"classes": ["left", "right"], "flipped": ["right", "left"]}'
_EXPECTED = {
    "frames": "'<frame_dir> <num_frames> <label>' (num_frames and label are integers)",
    "videos": "'<video_path> <label>' (label is an integer)",
}


class ListFileError(ValueError):
    """A malformed line in a list file; the message names the file, the 1-based line and the fix."""


@dataclass(frozen=True)
class VideoRecord:
    """One item of a list file: an absolute ``path``, its ``label``, for frame folders ``num_frames``, and
    ``where`` it is listed (``<list file>:<line>``, for error messages; not part of equality)."""

    path: Path
    label: int
    num_frames: int | None = None
    where: str = field(default="", compare=False)


_INTEGER = re.compile(r"-?[0-9]+")


def _is_int(text: str) -> bool:
    return _INTEGER.fullmatch(text) is not None


def _looks_like_frames(line: str) -> bool:
    fields = line.split()
    return len(fields) >= 3 and _is_int(fields[-1]) and _is_int(fields[-2])


def _detect_format(lines: list[str]) -> Literal["frames", "videos"]:
    """The format most item lines have (ties: the first line's), so one malformed line, even the first,
    is reported against the format of the others."""
    frames = sum(_looks_like_frames(line) for line in lines)
    if 2 * frames == len(lines):
        return "frames" if _looks_like_frames(lines[0]) else "videos"
    return "frames" if 2 * frames > len(lines) else "videos"


def _parse_line(
    line: str, fmt: Literal["frames", "videos"], where: str, root: Path, num_classes: int | None
) -> VideoRecord:
    num_fields = 3 if fmt == "frames" else 2
    fields = line.strip().rsplit(maxsplit=num_fields - 1)
    if len(fields) != num_fields or not all(_is_int(f) for f in fields[1:]):
        raise ListFileError(f"{where}: expected {_EXPECTED[fmt]}, got {line.strip()!r}")
    numbers = [int(f) for f in fields[1:]]
    label = numbers[-1]
    if label < 0:
        raise ListFileError(f"{where}: the label must be >= 0 (labels count from 0), got {label}")
    if num_classes is not None and label >= num_classes:
        raise ListFileError(
            f"{where}: label {label} is outside the {num_classes} classes (0 to {num_classes - 1}): fix the "
            "label, or use the class file (or num_classes) that this list was made for"
        )
    num_frames = numbers[0] if fmt == "frames" else None
    if num_frames is not None and num_frames < 1:
        raise ListFileError(f"{where}: num_frames must be >= 1, got {num_frames}")
    return VideoRecord(path=root / fields[0], label=label, num_frames=num_frames, where=where)


def read_list_file(
    list_file: str | Path,
    root: str | Path | None = None,
    fmt: ListFormat = "auto",
    num_classes: int | None = None,
) -> list[VideoRecord]:
    """Parse a list file into records whose paths are ``root / <path>``.

    ``root`` defaults to the list file's folder. ``fmt="auto"`` takes the format most item lines have
    (three fields ending in two integers: frame folders; otherwise videos); every line must then match.
    ``num_classes``: labels must be below it. Raises :class:`ListFileError` naming the file and line.
    """
    list_file = Path(list_file)
    if not list_file.is_file():
        raise FileNotFoundError(f"list file {list_file} does not exist: check the path")
    root = list_file.parent if root is None else Path(root)
    try:
        text = list_file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise ListFileError(f"{list_file}: is not UTF-8 text ({error.reason} at byte {error.start}): save "
                            "it as UTF-8 (is it a list file?)") from None
    items = [(number, line) for number, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not items:
        raise ListFileError(f"{list_file}: holds no items; expected lines like {_EXPECTED['videos']}")
    chosen = _detect_format([line for _, line in items]) if fmt == "auto" else fmt
    records: list[VideoRecord] = []
    first_line: dict[Path, str] = {}
    for number, line in items:
        record = _parse_line(line, chosen, f"{list_file}:{number}", root, num_classes)
        if record.path in first_line:
            raise ListFileError(f"{record.where}: {record.path} is listed again (first at "
                                f"{first_line[record.path]}): remove one of the two lines")
        first_line[record.path] = record.where
        records.append(record)
    return records


@dataclass(frozen=True)
class ClassList:
    """Class names in label order and, per class, the class a horizontally flipped video belongs to.

    ``flipped[i]`` is a class name (``names[i]`` itself when flipping does not change the class) or
    ``None`` when a flipped video belongs to no class, so such videos must not be flipped.
    """

    names: tuple[str, ...]
    flipped: tuple[str | None, ...]

    def __len__(self) -> int:
        return len(self.names)

    def flip_label_map(self) -> dict[int, int]:
        """``{label: label after a horizontal flip}``; labels absent from the map must not be flipped."""
        index = {name: label for label, name in enumerate(self.names)}
        return {label: index[other] for label, other in enumerate(self.flipped) if other is not None}

    def to_json(self) -> dict[str, list[str | None]]:
        return {"classes": list(self.names), "flipped": list(self.flipped)}

    @classmethod
    def from_json(cls, data: Mapping[str, list], source: str = "classes.json") -> ClassList:
        """Build from ``{"classes": [...], "flipped": [...]}``; ``flipped`` is optional (all ``None``)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("classes"), list) or not data["classes"]:
            raise ValueError(f"{source}: expected a non-empty list under the key 'classes', as in "
                             f"{CLASS_FILE_EXAMPLE}")
        names = tuple(str(name) for name in data["classes"])
        if not isinstance(data.get("flipped") or [], list):
            raise ValueError(f"{source}: 'flipped' must be a list (a class name or null per class)")
        flipped = tuple(data.get("flipped") or [None] * len(names))
        if len(flipped) != len(names):
            raise ValueError(
                f"{source}: 'flipped' has {len(flipped)} entries but 'classes' has {len(names)}; "
                "give one entry (a class name or null) per class"
            )
        unknown = sorted({str(f) for f in flipped if f is not None and f not in names})
        if unknown:
            raise ValueError(f"{source}: 'flipped' names classes that are not in 'classes': {unknown}")
        return cls(names=names, flipped=flipped)


def read_class_list(path: str | Path) -> ClassList:
    """Read a ``classes.json`` file (see :class:`ClassList`) or, when the file does not start like JSON
    (``{`` or ``[``), a text file with one class name per line in label order (the authors' release's
    ``category.txt``)."""
    path = Path(path)
    if path.is_file():
        text = path.read_text(encoding="utf-8-sig")
        names = [line.strip() for line in text.splitlines() if line.strip()]
        if names and not text.lstrip().startswith(("{", "[")):
            return ClassList.from_json({"classes": names}, source=str(path))
    return ClassList.from_json(read_json(path, "class file", CLASS_FILE_EXAMPLE), source=str(path))


def check_class_names(trained: Sequence[str], given: Sequence[str], source: str) -> None:
    """Raise ValueError naming the first position where the class names ``given`` by ``source`` (a class
    file, a data set) differ from those a model was ``trained`` with, in name or order: labels would mean
    other classes, and accuracy would drop towards zero without any other error."""
    trained, given = [str(name) for name in trained], [str(name) for name in given]
    if trained == given:
        return
    index = next((i for i, (a, b) in enumerate(zip(trained, given, strict=False)) if a != b),
                 min(len(trained), len(given)))
    there, saved = ([repr(names[index]) if index < len(names) else "nothing (the list ends)"]
                    for names in (given, trained))
    raise ValueError(
        f"{source} does not name the classes the model was trained with: class {index} is {there[0]} there "
        f"but {saved[0]} in the checkpoint ({len(given)} vs {len(trained)} classes): use the class file "
        "(same names, same order) the model was trained with"
    )
