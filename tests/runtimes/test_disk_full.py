"""A disk that fills while `claimsim adjudicate` writes: a one-line error that says what to do (no
traceback), nothing written before it lost, and the same command run again (space freed) ends
with the ledger an uninterrupted run writes, byte for byte. The full disk is a file object that
takes a given number of bytes, writes part of the next write (a torn line, as a real full disk
leaves) and then fails with ENOSPC, as `write(2)` does (named no file, as a buffered file's
error names none)."""

from __future__ import annotations

import builtins
import errno
import os

import pytest

from claimsim.adjudication.runtimes import family_storage, passes
from claimsim import cli
from claimsim.cli import main
from claimsim.events import log

from ..fixtures.damaged_runs import copy, entries, simulate
from ..fixtures.run_dirs import ledger_bytes


class _Room:
    def __init__(self, left: int):
        self.left = left


class _FillingFile:
    """A real file that fails once `room` is spent: the write that spends it lands in part."""

    def __init__(self, f, room: _Room):
        self._f, self._room = f, room

    def write(self, data) -> int:
        if self._room.left >= len(data):
            self._room.left -= len(data)
            return self._f.write(data)
        self._f.write(data[:self._room.left])
        self._room.left = 0
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # a buffered file's: no name

    def flush(self) -> None:
        """Once full, a flush fails too, as a buffered writer's does with bytes still to write."""
        if self._room.left == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._f.flush()

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


def _fill_after(room: int, wanted):
    """An `open` whose files that `wanted(path, mode)` picks share `room` bytes of disk."""
    left = _Room(room)

    def filling_open(path, mode="r", *args, **kwargs):
        f = builtins.open(path, mode, *args, **kwargs)
        return _FillingFile(f, left) if wanted(str(path), mode) else f
    return filling_open


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return simulate(tmp_path_factory.mktemp("full") / "clean")


@pytest.fixture(scope="module")
def whole(clean, tmp_path_factory):
    """The ledger an uninterrupted `adjudicate` writes."""
    run_dir = copy(clean, tmp_path_factory.mktemp("whole") / "r")
    assert main(["adjudicate", str(run_dir), "--no-progress"]) == 0
    return ledger_bytes(run_dir)


def test_a_disk_that_fills_under_the_ledger_says_so_and_the_run_goes_on_from_it(
        clean, whole, tmp_path, monkeypatch, capsys):
    run_dir = copy(clean, tmp_path / "r")
    # 40 KB of ledger fits: the manifest and some answers, then a line torn part-way.
    monkeypatch.setattr(log, "open", _fill_after(40_000, lambda p, m: p.endswith(".jsonl")
                                                  and "a" in m), raising=False)
    assert main(["adjudicate", str(run_dir), "--no-progress"]) == 1
    err = capsys.readouterr().err
    segment = log.segments(run_dir / "ledger")[0][1]
    assert err.startswith("claimsim: error: No space left on device. What was written before")
    assert "Traceback" not in err and "`claimsim adjudicate RUN_DIR` goes on" in err
    torn = segment.read_bytes()
    assert 0 < len(torn) <= 40_000 and not torn.endswith(b"\n")  # the failed write landed in part
    kept = len(torn.splitlines()) - 1  # complete lines

    monkeypatch.undo()  # space freed
    assert main(["adjudicate", str(run_dir), "--no-progress"]) == 0
    assert ledger_bytes(run_dir) == whole
    assert len(entries(run_dir / "ledger")) > kept > 1


def test_a_disk_that_fills_under_the_ledger_still_removes_the_scratch_family_store(
        clean, whole, tmp_path, monkeypatch, capsys):
    """Over the disk store (`--cache-families`): the ledger's last flush fails again as the
    runtime closes, and the scratch store (gigabytes at a payer's scale, on the disk the message
    asks the user to clear) is removed all the same."""
    from claimsim.adjudication.runtimes.family_storage import STATE_DIR

    run_dir = copy(clean, tmp_path / "r")
    monkeypatch.setattr(log, "open", _fill_after(40_000, lambda p, m: p.endswith(".jsonl")
                                                  and "a" in m), raising=False)
    assert main(["adjudicate", str(run_dir), "--no-progress", "--cache-families", "100"]) == 1
    assert capsys.readouterr().err.startswith("claimsim: error: No space left on device.")
    assert not (run_dir / STATE_DIR).exists()
    monkeypatch.undo()
    assert main(["adjudicate", str(run_dir), "--no-progress"]) == 0
    assert ledger_bytes(run_dir) == whole


def test_a_disk_that_fills_under_a_pass_says_so_and_the_one_pass_writes_the_ledger(
        clean, whole, tmp_path, monkeypatch, capsys, caplog):
    """Passes of 100 inputs; the third pass's answers meet the full disk in its forked child (the
    patched `open` is the child's too): the scratch is removed, a warning says why, and the run
    goes the one-pass way, which needs less room (no copy of the input and answers), to the
    same ledger."""
    monkeypatch.setattr(family_storage, "IN_MEMORY_INPUTS", 50)
    monkeypatch.setattr(passes, "PASS_INPUTS", 100)
    monkeypatch.setattr(passes, "open", _fill_after(
        10_000, lambda p, m: p.endswith("out-2")), raising=False)
    run_dir = copy(clean, tmp_path / "r")
    assert main(["adjudicate", str(run_dir), "--no-progress"]) == 0
    assert "filled up with the family passes' scratch (No space left on device)" in caplog.text
    assert "Traceback" not in capsys.readouterr().err
    assert not (run_dir / passes.SCRATCH).exists()  # the scratch files' space given back
    assert ledger_bytes(run_dir) == whole


def test_an_os_error_other_than_a_full_disk_is_not_dressed_as_one(monkeypatch):
    def broken(args):
        raise OSError(errno.EIO, os.strerror(errno.EIO), "somewhere")

    real = cli.build_parser

    def build():  # the command's function is bound when the tree is built: replaced there
        parser = real()
        for action in parser._subparsers._group_actions:
            action.choices["simulate"].set_defaults(func=broken)
        return parser

    monkeypatch.setattr(cli, "build_parser", build)
    with pytest.raises(OSError) as raised:
        main(["simulate", "--out", "x"])
    assert raised.value.errno == errno.EIO
