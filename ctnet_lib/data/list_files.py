"""List files and class files: which videos a split holds, their labels, and the class names.

Two list formats, one item per line, fields separated by white space, paths relative to a data root:

- ``<frame_dir> <num_frames> <label>``: a folder of JPEG frames (TSN/TSM, Something-Something);
- ``<video_path> <label>``: a video file (Kinetics style).

Blank lines and lines starting with ``#`` are skipped. A path may contain spaces (the numeric fields
are taken from the end of the line).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "ClassList",
    "ListFileError",
    "VideoRecord",
    "read_class_list",
    "read_list_file",
]

ListFormat = Literal["auto", "frames", "videos"]

_EXPECTED = {
    "frames": "'<frame_dir> <num_frames> <label>' (num_frames and label are integers)",
    "videos": "'<video_path> <label>' (label is an integer)",
}


class ListFileError(ValueError):
    """A malformed line in a list file; the message names the file, the 1-based line and the fix."""


@dataclass(frozen=True)
class VideoRecord:
    """One item of a list file: an absolute ``path``, its ``label`` and, for frame folders, ``num_frames``."""

    path: Path
    label: int
    num_frames: int | None = None


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _detect_format(fields: list[str]) -> Literal["frames", "videos"]:
    return "frames" if len(fields) >= 3 and _is_int(fields[-1]) and _is_int(fields[-2]) else "videos"


def _parse_line(line: str, fmt: Literal["frames", "videos"], where: str, root: Path) -> VideoRecord:
    num_fields = 3 if fmt == "frames" else 2
    fields = line.strip().rsplit(maxsplit=num_fields - 1)
    if len(fields) != num_fields or not all(_is_int(f) for f in fields[1:]):
        raise ListFileError(f"{where}: expected {_EXPECTED[fmt]}, got {line.strip()!r}")
    numbers = [int(f) for f in fields[1:]]
    label = numbers[-1]
    if label < 0:
        raise ListFileError(f"{where}: the label must be >= 0 (labels count from 0), got {label}")
    num_frames = numbers[0] if fmt == "frames" else None
    if num_frames is not None and num_frames < 1:
        raise ListFileError(f"{where}: num_frames must be >= 1, got {num_frames}")
    return VideoRecord(path=root / fields[0], label=label, num_frames=num_frames)


def read_list_file(
    list_file: str | Path, root: str | Path | None = None, fmt: ListFormat = "auto"
) -> list[VideoRecord]:
    """Parse a list file into records whose paths are ``root / <path>``.

    ``root`` defaults to the list file's folder. ``fmt="auto"`` takes the format from the first item
    (three fields ending in two integers: frame folders; otherwise videos); every line must then match.
    """
    list_file = Path(list_file)
    if not list_file.is_file():
        raise FileNotFoundError(f"list file {list_file} does not exist: check the path")
    root = list_file.parent if root is None else Path(root)
    records: list[VideoRecord] = []
    chosen: Literal["frames", "videos"] | None = None if fmt == "auto" else fmt
    for number, line in enumerate(list_file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if chosen is None:
            chosen = _detect_format(line.split())
        records.append(_parse_line(line, chosen, f"{list_file}:{number}", root))
    if not records:
        raise ListFileError(f"{list_file}: holds no items; expected lines like {_EXPECTED['videos']}")
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
        if not isinstance(data.get("classes"), list) or not data["classes"]:
            raise ValueError(f"{source}: expected a non-empty list under the key 'classes'")
        names = tuple(str(name) for name in data["classes"])
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
    """Read a ``classes.json`` file (see :class:`ClassList`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"class file {path} does not exist: check the path")
    return ClassList.from_json(json.loads(path.read_text(encoding="utf-8")), source=str(path))
