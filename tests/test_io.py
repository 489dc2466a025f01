"""Result files: shared permissions, their own row count and checksum, readable errors for damaged files."""
import os
import stat

import pandas as pd
import pytest
import torch

from bench.io import (CheckpointError, ResultFileError, atomic_torch_save, atomic_write_text, load_checkpoint,
                      read_rows, write_rows)

FRAME = pd.DataFrame({"idx": range(10), "correct": [i % 3 > 0 for i in range(10)]})


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_atomic_writes_honour_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        atomic_write_text("x", tmp_path / "table.md")
        atomic_torch_save({"w": torch.ones(1)}, tmp_path / "model.pt")
    finally:
        os.umask(old)
    for name in ("table.md", "model.pt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode


def test_result_rows_reload_with_their_provenance(tmp_path):
    write_rows(FRAME, tmp_path / "rows.tsv", {"sigma": 0.5})
    frame, provenance = read_rows(tmp_path / "rows.tsv")
    pd.testing.assert_frame_equal(frame, FRAME)
    assert provenance["sigma"] == 0.5 and provenance["rows"] == 10


def test_a_truncated_result_file_is_refused_naming_it_and_how_to_rebuild(tmp_path):
    path = tmp_path / "rows.tsv"
    write_rows(FRAME, path, {})
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:6]))  # header + 5 of 10 rows
    with pytest.raises(ResultFileError, match=r"holds 5 rows.*records 10") as info:
        read_rows(path)
    assert str(path) in str(info.value) and "delete" in str(info.value)


def test_an_edited_result_file_fails_its_checksum(tmp_path):
    path = tmp_path / "rows.tsv"
    write_rows(FRAME, path, {})
    path.write_text(path.read_text().replace("False", "True", 1))  # same row count, one verdict changed
    with pytest.raises(ResultFileError, match="checksum"):
        read_rows(path)


def test_a_result_file_without_provenance_is_refused(tmp_path):
    path = tmp_path / "rows.tsv"
    write_rows(FRAME, path, {})
    path.with_suffix(".json").unlink()
    with pytest.raises(ResultFileError, match="no provenance"):
        read_rows(path)


def test_an_unreadable_checkpoint_error_names_the_file(tmp_path):
    path = tmp_path / "checkpoint.pt"
    atomic_torch_save({"w": torch.ones(100)}, path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match=str(path)):
        load_checkpoint(path)


class FailsWhenSaved:
    def __reduce__(self):
        raise OSError("disk full")


def test_a_write_that_fails_half_way_leaves_the_earlier_file_and_no_temporary(tmp_path):
    path = tmp_path / "checkpoint.pt"
    atomic_torch_save({"epoch": 1, "w": torch.zeros(1000)}, path)
    before = path.read_bytes()
    with pytest.raises(OSError, match="disk full"):
        atomic_torch_save({"epoch": 2, "w": torch.ones(1000), "state": FailsWhenSaved()}, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]


def test_a_failing_rename_leaves_the_earlier_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "model.pt"
    atomic_torch_save({"w": torch.zeros(3)}, path)
    before = path.read_bytes()

    def refuse(*args):
        raise PermissionError("rename refused")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        atomic_torch_save({"w": torch.ones(3)}, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]


def test_the_temporary_file_sits_beside_its_target_so_the_rename_is_atomic(tmp_path):
    """os.replace is atomic only within one file system: the temporary file is a hidden sibling of the target,
    in a folder created on demand."""
    target = tmp_path / "new" / "deeper" / "table.md"
    seen = []

    def write(handle):
        seen.extend(sorted(p.name for p in target.parent.iterdir()))
        handle.write("x")

    from bench.io import _atomic
    _atomic(target, write, "w")
    assert len(seen) == 1 and seen[0].startswith(".table.md.") and seen[0].endswith(".tmp")
    assert [p.name for p in target.parent.iterdir()] == ["table.md"]
