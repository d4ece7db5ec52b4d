"""The append-only, hash-chained event log: JSON Lines in segment files under one directory.

One writer at a time, held by an OS lock (`fcntl.flock` on `LOCK`, released by the kernel if the
writer dies). Each line is the canonical body `{at, cause, data, key, seq, type, v}` followed by
`prev` and `hash`, where `hash = sha256(prev || body)`; an edit, gap or reorder breaks the chain and
`log_verify.verify` names the first bad seq. A crash mid-write leaves a torn last line, which the
next writer truncates (and says so) before going on. Readers stream; nothing loads a whole log.
"""

from __future__ import annotations

import fcntl
import itertools
import logging
import os
from collections.abc import Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from hashlib import sha256

from claimsim.events.encoding import (GENESIS_HASH, canonical, chain_hash, chained_lines,
                                      sequenced_lines)
from claimsim.events.envelope import Envelope
from claimsim.events.errors import UserError
from claimsim.events.log_tail import _last_complete_line, tail_entry
from claimsim.events.registry import current_versions, decode, upcast_envelope

log = logging.getLogger(__name__)

_dumps, _SORTED = orjson.dumps, orjson.OPT_SORT_KEYS  # the canonical encoding, bound for the hot path

LOCK_FILE = "LOCK"
SEGMENT_SUFFIX = ".jsonl"
DEFAULT_SEGMENT_EVENTS = 250_000
# A log file's buffer, for its writer and every reader (and the family passes' scratch files):
# one read or write call per MiB, not per 4 KiB (the default here, the block size). Iterating
# the projections bench's ledger and input (2.0M lines, 1.95 GB) took 1.20 CPU s with the
# default and 0.39 s with this (docs/performance.md, "Reading the logs with a 1 MiB buffer").
FILE_BUFFER = 1 << 20


class LogError(UserError):
    """A log that cannot be opened or read as asked (missing directory, locked, ...)."""


class LogLocked(LogError):
    pass


class Fsync(StrEnum):
    ALWAYS = "always"  # after every event
    BATCH = "batch"  # at every commit(): the end of each extend(), and close()
    NEVER = "never"  # leave it to the OS


def _segment_name(first_seq: int) -> str:
    return f"{first_seq:012d}{SEGMENT_SUFFIX}"


def segments(directory: Path) -> list[tuple[int, Path]]:
    """The log's segment files as (first seq, path), in order."""
    out = []
    for path in Path(directory).glob(f"*{SEGMENT_SUFFIX}"):
        try:
            out.append((int(path.stem), path))
        except ValueError:
            continue
    return sorted(out)


def require_dir(directory: Path | str) -> Path:
    """The path of an existing log directory, or a `LogError` saying what is wrong with it."""
    directory = Path(directory)
    if not directory.exists():
        raise LogError(f"{directory}: no such log directory")
    if not directory.is_dir():
        raise LogError(f"{directory}: not a directory")
    return directory


class LogWriter:
    """The single writer of one log directory.

    `append` takes events built by `new_event` (already-validated dicts) and returns the full
    envelope; `commit` ends a batch (flush, and fsync per policy); `extend` is append-all + commit.
    """

    def __init__(
        self,
        directory: Path | str,
        *,
        fsync: Fsync | str = Fsync.BATCH,
        segment_events: int = DEFAULT_SEGMENT_EVENTS,
    ):
        self.directory = Path(directory)
        self.fsync = Fsync(fsync)
        self.segment_events = segment_events
        self.recovered_bytes = 0
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.directory / LOCK_FILE, "a+")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.seek(0)
            holder = self._lock.read().strip() or "unknown"
            self._lock.close()
            raise LogLocked(
                f"{self.directory}: another process (pid {holder}) is writing this log"
            ) from None
        self._lock.seek(0)
        self._lock.truncate()
        self._lock.write(str(os.getpid()))
        self._lock.flush()
        self._file = None
        self._fsync_always = self.fsync is Fsync.ALWAYS
        self._open_tail()
        self._prev_bytes = self.last_hash.encode("ascii")

    # -- opening and recovery -------------------------------------------------------------
    def _open_tail(self) -> None:
        segs = segments(self.directory)
        self.next_seq, self.last_hash = 0, GENESIS_HASH
        if not segs:
            self._start_segment(0)
            return
        # The newest segment may be empty (a crash right after rotation): use the one before.
        for first_seq, path in reversed(segs):
            self._truncate_torn_tail(path)
            line = _last_complete_line(path)
            if line is not None:
                env = orjson.loads(line)
                self.next_seq, self.last_hash = env["seq"] + 1, env["hash"]
                break
        first_seq, path = segs[-1]
        self._segment_first = first_seq
        self._segment_count = self.next_seq - first_seq
        self._file = open(path, "ab", buffering=FILE_BUFFER)
        self._write = self._file.write

    def _truncate_torn_tail(self, path: Path) -> None:
        size = path.stat().st_size
        if size == 0:
            return
        with open(path, "r+b") as f:
            f.seek(size - 1)
            if f.read(1) == b"\n":
                return
            # Find the end of the last complete line.
            pos, keep = size, 0
            while pos > 0:
                step = min(65536, pos)
                pos -= step
                f.seek(pos)
                chunk = f.read(step)
                idx = chunk.rfind(b"\n")
                if idx >= 0:
                    keep = pos + idx + 1
                    break
            f.truncate(keep)
            f.flush()
            os.fsync(f.fileno())
        self.recovered_bytes += size - keep
        log.warning(
            "%s: truncated a torn last line (%d bytes) left by an interrupted write",
            path, size - keep,
        )

    def _start_segment(self, first_seq: int) -> None:
        if self._file is not None:
            self.commit()
            self._file.close()
        self._segment_first = first_seq
        self._segment_count = 0
        self._file = open(self.directory / _segment_name(first_seq), "ab", buffering=FILE_BUFFER)
        self._write = self._file.write

    # -- writing ---------------------------------------------------------------------------
    def append(self, event: dict[str, Any]) -> dict[str, Any]:
        """Append one event (`type, v, at, key, cause, data`, as `new_event` makes it).

        The log takes ownership of the dict: it gains `seq`, `prev` and `hash` and is returned
        as the stored envelope. The event is visible to readers at the next `commit()`.
        """
        self._write_all((event,))
        if self._fsync_always:
            self.commit()
        return event

    def extend(self, events: Iterable[dict[str, Any]]) -> int:
        """Append a batch and commit it; returns how many were appended."""
        if self._fsync_always:  # durable one event at a time
            return sum(1 for event in events if self.append(event))
        n = self._write_all(events)
        self.commit()
        return n

    def _write_all(self, events: Iterable[dict[str, Any]]) -> int:
        """The hot path of every runtime: seq, canonical body, chained hash, buffered write."""
        n = 0
        parts: list[bytes] = []
        dumps, sorted_keys, hash_new = _dumps, _SORTED, sha256
        seq, prev, prev_bytes = self.next_seq, self.last_hash, self._prev_bytes
        # The segment's event count in a local (this loop runs once per ledger entry), stored
        # back whenever the writer's state is.
        in_segment, segment_events = self._segment_count, self.segment_events
        for event in events:
            if len(event) != 6:
                raise ValueError(f"an event has exactly type, v, at, key, cause, data; got {sorted(event)}")
            if in_segment >= segment_events or len(parts) >= 2048:
                self._write(b"".join(parts))
                parts.clear()
                self.next_seq, self.last_hash, self._prev_bytes = seq, prev, prev_bytes
                self._segment_count = in_segment
                if in_segment >= segment_events:
                    self._start_segment(seq)
                    in_segment = 0
            event["seq"] = seq
            body = dumps(event, option=sorted_keys)
            hasher = hash_new(prev_bytes)
            hasher.update(body)  # hash = sha256(prev || canonical body), as chain_hash computes
            digest = hasher.hexdigest()
            digest_bytes = digest.encode("ascii")
            parts.append(body[:-1])
            parts.append(b',"prev":"%s","hash":"%s"}\n' % (prev_bytes, digest_bytes))
            event["prev"], event["hash"] = prev, digest
            seq, prev, prev_bytes = seq + 1, digest, digest_bytes
            in_segment += 1
            n += 1
        self._write(b"".join(parts))
        self.next_seq, self.last_hash, self._prev_bytes = seq, prev, prev_bytes
        self._segment_count = in_segment
        return n

    def write_encoded(self, bodies: Iterable[bytes], *, sequenced: bool = False) -> int:
        """Append events a producer has already encoded, each as `encoding.open_body(event)` of an
        event as `new_event` makes it (no seq): its canonical bytes without the closing brace.
        The writer splices in the seq, so the bytes equal what `append(event)` writes; a producer
        that holds many events (the simulator's lag window) keeps them as compact bytes.
        `sequenced`: each event was given its seq before it was encoded (the next ones in turn,
        from `next_seq`: a writer's own producer), so no splice (`encoding.sequenced_lines`).
        Visible at the next `commit()`; returns how many were appended."""
        if not self._fsync_always:
            return self._write_encoded(bodies, sequenced)
        n = 0
        for body in bodies:  # durable one event at a time
            n += self._write_encoded((body,), sequenced)
            self.commit()
        return n

    def _write_encoded(self, bodies: Iterable[bytes], sequenced: bool) -> int:
        """`encoding.chained_lines` a part at a time: at most 1,024 events, none past the
        segment's end (the next part starts the next segment)."""
        todo = bodies if type(bodies) is list else list(bodies)
        chain = sequenced_lines if sequenced else chained_lines
        done = 0
        while done < len(todo):
            if self._segment_count >= self.segment_events:
                self._start_segment(self.next_seq)
            part = todo[done:done + min(1024, self.segment_events - self._segment_count)]
            lines, prev_bytes = chain(part, self.next_seq, self._prev_bytes)
            self._write(lines)
            self.next_seq += len(part)
            self._segment_count += len(part)
            self.last_hash, self._prev_bytes = prev_bytes.decode(), prev_bytes
            done += len(part)
        return done

    def commit(self) -> None:
        """End a batch: make it visible to readers, and durable unless fsync is `never`."""
        self._file.flush()
        if self.fsync is not Fsync.NEVER:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        """Commit, close the file, give up the lock: the last two even if the commit fails."""
        try:
            if self._file is not None:
                try:
                    self.commit()
                finally:
                    file, self._file = self._file, None
                    try:
                        file.close()
                    except OSError:
                        pass  # its buffer's flush failing again: the commit's error is raised
        finally:
            if not self._lock.closed:
                fcntl.flock(self._lock, fcntl.LOCK_UN)
                self._lock.close()

    def __enter__(self) -> LogWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# -- reading ------------------------------------------------------------------------------
def segment_files(directory: Path, from_seq: int = 0) -> Iterator[BinaryIO]:
    """Each segment file holding seqs from `from_seq` on, in order, open and positioned at its
    first line at or after `from_seq`; a file is closed when the next one is asked for or its
    reader stops. The one place that finds a seq across segments: `raw_lines`, the fold's own
    reader (`projections.fold.stream`) and the input look-ahead read lines from these files,
    each its own way."""
    segs = segments(directory)
    for i, (first_seq, path) in enumerate(segs):
        if i + 1 < len(segs) and segs[i + 1][0] <= from_seq:
            continue  # every seq of this segment is before `from_seq`
        with open(path, "rb", buffering=FILE_BUFFER) as f:
            skip = from_seq - first_seq
            if skip > 0:  # the lines before `from_seq`, consumed at C speed
                next(itertools.islice(f, skip, skip), None)
            yield f


def raw_lines(directory: Path | str, from_seq: int = 0) -> Iterator[bytes]:
    """The one log reader: complete lines (bytes) from `from_seq` on; a torn last line (a writer
    died mid-write) is not part of the log. Readers that look at bytes before decoding (the
    ledger follower's claim fast path) check the version they expect."""
    for f in segment_files(require_dir(directory), from_seq):
        for line in f:
            if line[-1:] != b"\n":
                return
            yield line


def envelope_of(line: bytes) -> dict[str, Any]:
    """One raw log line decoded as `read` decodes it: upcast to the current version or refused."""
    return as_current(orjson.loads(line))


def as_current(env: dict[str, Any]) -> dict[str, Any]:
    """A decoded envelope at the current version of its type: upcast, or refused
    (`UnknownEventVersion`); `read` inlines it, once per line."""
    if env["v"] != current_versions().get(env["type"], env["v"]):
        env = upcast_envelope(env)
    return env


def read(directory: Path | str, from_seq: int = 0) -> Iterator[dict[str, Any]]:
    """Stream raw envelopes (dicts) from `from_seq` on: every hot path's reader. An event of a
    known type stored at another version than the current one is upcast or refused
    (`envelope_of`, inlined here: one dict lookup per event); unknown types pass through
    (`verify` names them)."""
    loads, current = orjson.loads, current_versions()
    for line in raw_lines(directory, from_seq):
        env = loads(line)
        if env["v"] != current.get(env["type"], env["v"]):
            env = upcast_envelope(env)
        yield env


def read_decoded(directory: Path | str, from_seq: int = 0) -> Iterator[Envelope]:
    """Stream typed envelopes: each event's data validated and upcast to its current version."""
    for env in read(directory, from_seq):
        yield Envelope(**{**env, "data": decode(env)})


def last_envelope(directory: Path | str) -> dict[str, Any] | None:
    """The newest complete entry, reading only the tail of the newest non-empty segment; a last
    line that is not an entry (damage `log verify` names) is a one-line `LogError`."""
    directory = require_dir(directory)
    for _, path in reversed(segments(directory)):
        line = _last_complete_line(path)
        if line is not None:
            return tail_entry(path, line, LogError)
    return None
