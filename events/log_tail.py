"""A log's last line, read from the end of its newest segment without reading the rest: where a
writer resumes (`log.LogWriter`) and where a reader learns a log's extent (`log.last_envelope`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson


def _last_complete_line(path: Path) -> bytes | None:
    """The last newline-terminated line of a file (without its newline), reading only its tail.

    A torn tail (bytes after the last newline) is not a line and is skipped.
    """
    with open(path, "rb") as f:
        pos = f.seek(0, os.SEEK_END)
        data, block = b"", 4096
        while pos > 0:
            step = min(block, pos)
            pos -= step
            f.seek(pos)
            data = f.read(step) + data
            block *= 2
            cut = data.rfind(b"\n")
            if cut < 0:
                continue
            start = data.rfind(b"\n", 0, cut)
            if start >= 0 or pos == 0:
                return data[start + 1 : cut]
    return None


def tail_entry(path: Path, line: bytes, error: type[Exception]) -> dict[str, Any]:
    """The last line decoded as a log entry (an object with an integer seq), or `error` naming
    the file: a blank or edited last line is damage, not a crash."""
    try:
        env = orjson.loads(line)
    except orjson.JSONDecodeError as e:
        raise error(f"{path}: its last line is not JSON ({e}); `claimsim log verify` names the"
                    " damage") from None
    if not isinstance(env, dict) or type(env.get("seq")) is not int:
        raise error(f"{path}: its last line is not a log entry (no integer seq);"
                    " `claimsim log verify` names the damage")
    return env


def input_count(directory: Path | str) -> int:
    """How many inputs an input log holds. Its lines are inputs by position, each answered (one
    that is not an entry as `unreadable_input`), so a last line that is not an entry counts too:
    the lines of its segment are then counted from the segment's first seq, as the reader numbers
    them (a full read of that one segment, on a damaged log only)."""
    from claimsim.events.log import (LogError, last_envelope, require_dir,  # `log` imports
                                     segments)                               # this module

    directory = require_dir(directory)  # a missing one is its own LogError, not the tail's
    try:
        env = last_envelope(directory)
    except LogError:
        first, path = next(s for s in reversed(segments(directory))
                           if _last_complete_line(s[1]) is not None)
        with open(path, "rb") as f:
            return first + sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))
    return 0 if env is None else env["seq"] + 1
