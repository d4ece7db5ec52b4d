"""Files written whole or not at all, and a folder's entries removed, for every layer.

A file a command writes in place is cut short when the command stops mid-write (an error, a full
disk, Ctrl-C, `kill`) and is then read as a whole one by a reader or a resumed run: a report
table, a what-if run's metrics, the Kafka runtime's position files, a projection checkpoint.
`whole_or_absent` writes beside the file and renames it into place once written;
`whole_and_on_disk` also puts the bytes on disk (fsync) before the rename, for a file that later
steps rely on surviving a power cut (a projection checkpoint, the run clock's paid mark).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from claimsim.events.errors import UserError

PART_SUFFIX = ".part"  # what `whole_or_absent` adds to the file's name while it is written


@contextmanager
def whole_or_absent(path: Path) -> Iterator[Path]:
    """Write a file at the path this yields (`path` + ".part"), moved to `path` once the block
    ends (`os.replace`: atomic); if the block raises, the part is removed and `path` is as it
    was. A directory at `path` is refused before anything is written (a one-line `UserError`:
    the rename would fail only after the whole file was written beside it)."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path}: is a directory; name a file to write")
    part = path.with_name(path.name + PART_SUFFIX)
    try:
        yield part
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    try:
        os.replace(part, path)
    except OSError:  # e.g. a directory made at `path` meanwhile: no part is left behind
        part.unlink(missing_ok=True)
        raise


@contextmanager
def whole_and_on_disk(path: Path) -> Iterator[BinaryIO]:
    """A binary file to write at `path`, whole or not at all (`whole_or_absent`) and flushed and
    fsynced before it takes `path`'s name: once `path` is there, its bytes are on disk."""
    with whole_or_absent(path) as part, open(part, "wb") as f:
        yield f
        f.flush()
        os.fsync(f.fileno())


def remove_entry(path: Path, *, ignore_errors: bool = False) -> None:
    """Remove a folder's entry: a folder with all it holds, else the file or link itself (a link
    to a folder is not followed). `ignore_errors`: what cannot be removed stays, unsaid (a
    cleanup on the way out of an error, whose own error is the one to report)."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    except OSError:
        if not ignore_errors:
            raise
