"""`events.files`: a file written whole or not at all, and on disk before it takes its name."""

from __future__ import annotations

import os

import pytest

from claimsim.events import files
from claimsim.events.files import PART_SUFFIX, whole_and_on_disk, whole_or_absent


def test_a_file_written_whole_takes_its_name_only_once_written(tmp_path):
    path = tmp_path / "table.csv"
    path.write_bytes(b"old\n")
    with whole_or_absent(path) as part:
        part.write_bytes(b"new\n")
        assert path.read_bytes() == b"old\n"  # the reader still sees the old file whole
    assert path.read_bytes() == b"new\n" and sorted(tmp_path.iterdir()) == [path]


def test_a_write_that_fails_leaves_the_file_as_it_was_and_no_part(tmp_path):
    path = tmp_path / "checkpoint.json"
    path.write_bytes(b"old")
    with pytest.raises(OSError, match="disk full"):
        with whole_and_on_disk(path) as f:
            f.write(b"half")
            raise OSError("disk full")
    assert path.read_bytes() == b"old" and sorted(tmp_path.iterdir()) == [path]


def test_a_durable_write_is_fsynced_before_it_takes_its_name(tmp_path, monkeypatch):
    """The rename comes after the fsync of the part's bytes: a power cut between them leaves
    the old file or the whole new one, never a named file whose bytes are not on disk."""
    path = tmp_path / "paid.json"
    steps: list[str] = []
    fsync, replace = os.fsync, os.replace
    monkeypatch.setattr(files.os, "fsync", lambda fd: (steps.append("fsync"), fsync(fd))[1])
    monkeypatch.setattr(files.os, "replace",
                        lambda a, b: (steps.append(f"replace {os.path.basename(a)}"), replace(a, b))[1])
    with whole_and_on_disk(path) as f:
        f.write(b'{"last_seq":7}\n')
    assert steps == ["fsync", f"replace paid.json{PART_SUFFIX}"]
    assert path.read_bytes() == b'{"last_seq":7}\n'


def test_a_directory_at_the_path_is_refused_before_anything_is_written(tmp_path):
    from claimsim.events.errors import UserError

    target = tmp_path / "reports"
    target.mkdir()
    with pytest.raises(UserError, match="reports: is a directory; name a file to write"):
        with whole_or_absent(target) as part:
            part.write_bytes(b"never")
    assert sorted(tmp_path.iterdir()) == [target] and list(target.iterdir()) == []


def test_a_failed_rename_leaves_no_part(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"

    def refuse(src, dst):
        raise IsADirectoryError(21, "Is a directory")

    monkeypatch.setattr(files.os, "replace", refuse)
    with pytest.raises(IsADirectoryError):
        with whole_or_absent(path) as part:
            part.write_bytes(b"x")
    assert list(tmp_path.iterdir()) == []
