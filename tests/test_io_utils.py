"""Atomic output and the temporaries that a writer killed before it finished leaves behind."""

from pathlib import Path

import pytest

from ctnet_lib.io_utils import atomic_output, atomic_write_text, remove_stale_temporaries


def temporary_of(path: Path) -> Path:
    """Write "final" to ``path`` atomically; return the name of the temporary used, which a writer killed
    before the rename would have left behind."""
    with atomic_output(path) as temporary:
        temporary.write_text("final")
    return temporary


def test_a_failing_writer_leaves_neither_a_final_file_nor_a_temporary(tmp_path):
    with pytest.raises(RuntimeError), atomic_output(tmp_path / "a.json") as temporary:
        temporary.write_text("half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    assert atomic_write_text(tmp_path / "a.json", "{}").read_text() == "{}"


def test_stale_temporaries_of_one_final_path_or_of_a_whole_folder_are_removed(tmp_path):
    finals = [tmp_path / name for name in ("last.pt", "best.pt", "clips.tar.gz", "Makefile")]
    stale = [temporary_of(path) for path in finals]
    for temporary in stale:
        temporary.write_text("half-written")
    stale[1].unlink()
    stale[1].mkdir()  # atomic_output also writes folders
    (stale[1] / "part").write_text("half-written")
    lookalikes = [tmp_path / name for name in (".last.notahexname.tmp.pt", "last.0123456789ab.tmp.pt",
                                               ".hidden", ".last.pt")]
    for path in lookalikes:
        path.write_text("keep")

    assert remove_stale_temporaries(tmp_path, "last.pt") == [stale[0]]
    assert remove_stale_temporaries(tmp_path, "last.pt") == []
    assert sorted(remove_stale_temporaries(tmp_path)) == sorted(stale[1:])
    assert sorted(tmp_path.iterdir()) == sorted(finals + lookalikes)
    assert all(path.read_text() == "final" for path in finals)
    assert remove_stale_temporaries(tmp_path / "missing") == []
