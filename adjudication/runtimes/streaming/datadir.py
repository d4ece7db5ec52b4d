"""Each worker process's faust data directory (`<temp>/claimsim-faust/<prefix>-<pid>`): faust
creates one even for an in-memory table, and a RocksDB table keeps its files there. The worker
removes its own when it exits; one that could not (killed with -9, or ended by `os._exit`) is
removed by the next `sweep()`, which every worker runs as it starts and every runner that starts
workers runs once they have stopped, so no run leaves one behind.

Choices where DESIGN.md is silent: a directory belongs to the pid in its name; it is stale once
no process has that pid (a zombie still counts as alive, so sweep after reaping). A reused pid
only delays the removal to a later sweep.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from claimsim.events.processes import pid_alive

ROOT = "claimsim-faust"
_OWNED = re.compile(r"^.+-(\d+)$")


def root() -> Path:
    return Path(tempfile.gettempdir()) / ROOT


def for_process(prefix: str, pid: int | None = None) -> Path:
    """The data directory of the worker process `pid` (default: this one) on `prefix`'s topics."""
    return root() / f"{prefix}-{pid or os.getpid()}"


def remove(path: Path) -> None:
    """Remove `path`, and the shared parent once it is empty."""
    shutil.rmtree(path, ignore_errors=True)
    try:
        path.parent.rmdir()
    except OSError:
        pass  # another worker's directory is in it (or it is gone already)


def sweep() -> list[Path]:
    """Remove every data directory whose process is gone (and the parent once empty); returns
    the ones removed."""
    base = root()
    try:
        entries = list(base.iterdir())
    except OSError:
        return []
    gone = []
    for entry in entries:
        owned = _OWNED.match(entry.name)
        if entry.is_dir() and (not owned or not pid_alive(int(owned.group(1)))):
            shutil.rmtree(entry, ignore_errors=True)  # a name without a pid: an older layout
            gone.append(entry)
    try:
        base.rmdir()
    except OSError:
        pass
    return gone
