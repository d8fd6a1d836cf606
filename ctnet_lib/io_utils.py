"""Atomic file output: write to a temporary file in the target's folder, then ``os.replace`` it.

An interrupted or failing writer never leaves a half-written file at the final path: readers see either
the previous version or the complete new one. A writer killed outright (SIGKILL) can leave its hidden
temporary beside the final path; :func:`remove_stale_temporaries` deletes such leftovers.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# the temporary of final path <stem><suffix>: '.<stem>.<12 hex digits>.tmp<suffix>' (see _temporary_for)
_TEMPORARY = re.compile(r"\.(?P<stem>.+)\.[0-9a-f]{12}\.tmp(?P<suffix>(\.[^.]*)?)")


def _temporary_for(path: Path) -> Path:
    """A fresh temporary path beside ``path``, of the form :data:`_TEMPORARY` matches."""
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex[:12]}.tmp{path.suffix}")


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary path beside ``path`` for the caller to write; on success move it onto
    ``path``, on error (or interruption) delete it. The caller may create a file or a folder there.

    The temporary file is not created here, so it gets the usual permissions of the writer. Its name
    starts with a dot and keeps the suffix of ``path`` (tools that check extensions stay happy).
    Parent folders are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary_for(path)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        _remove(temporary)


def _remove(path: Path) -> None:
    """Delete the file or folder at ``path``, if any (a link, not what it points to)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def remove_stale_temporaries(folder: str | os.PathLike, name: str | None = None) -> list[Path]:
    """Delete the temporaries (files or folders) that :func:`atomic_output` writers killed before they
    finished left in ``folder``: those of the final file ``name``, or of every name when None; return
    them. Final paths are never touched; a missing folder has none. Call it only while no writer is at
    work there (a live writer's temporary looks the same)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stale: list[Path] = []
    for entry in sorted(folder.iterdir()):
        match = _TEMPORARY.fullmatch(entry.name)
        if match and (name is None or match["stem"] + match["suffix"] == name):
            _remove(entry)
            stale.append(entry)
    return stale


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (flushed to disk before the rename); return ``path``."""
    with atomic_output(path) as temporary, open(temporary, "xb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; return ``path``."""
    return atomic_write_bytes(path, text.encode(encoding))
