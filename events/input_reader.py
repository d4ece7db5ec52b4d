"""Reading an input log for adjudication, each line checked against the hash chain as it is read
(DESIGN.md "Errors": every bad input becomes a typed rejection; nothing valid is lost because a
neighbour was bad).

Damage, and the answer to each:
- a line whose bytes do not hash to its stored hash, or whose `prev` is not the chain's: the log
  was altered after it was written; `ChainBroken` names the seq and nothing past it is read;
- a line that is not a JSON envelope (in the middle, or a torn last line whose writer is gone):
  yielded as an `UNREADABLE` pseudo-envelope at its seq, which the core answers with a typed
  rejection; the chain resumes from the next line's own `prev`, which cannot be checked;
- a torn last line whose writer still holds the log's lock: not yet written, so not yielded.

Choices where DOMAIN.md is silent: an unreadable line takes the `at` of the line before it (so
it is answered in the same epoch), and the key `UNREADABLE_KEY` (its family is unknown).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

import orjson

from claimsim.events.typed_input import (
    CLAIM_SUBMITTED, MEMBER_ENROLLED, PREV_TAIL, DecodeError, EnvelopeFields, TypedClaim,
    TypedEnrollment, astuple, decode_claim_envelope, decode_enrollment_envelope,
    marker as typed_marker,
)
from claimsim.events.encoding import GENESIS_HASH, cut_chain_hash, line_chain_hash
from claimsim.events.log import (FILE_BUFFER, LOCK_FILE, LogError, as_current, require_dir,
                                 segments)
from claimsim.events.registry import current_versions, readable_header, upcast_envelope

UNREADABLE = "input.unreadable"  # the pseudo type of a line that is not an envelope
UNREADABLE_KEY = "(unreadable)"
_PREV_TAIL: Final = PREV_TAIL
# `typed_input`'s names the typed reading calls per line, bound once (the compiled module would
# look each up in its globals at every call).
_astuple: Final = astuple
_decode_claim: Final = decode_claim_envelope
_decode_enrollment: Final = decode_enrollment_envelope
_TypedClaim: Final = TypedClaim
_TypedEnrollment: Final = TypedEnrollment
_ENVELOPE_KEYS = frozenset(("at", "cause", "data", "key", "seq", "type", "v", "prev", "hash"))


class ChainBroken(LogError):
    def __init__(self, directory: Path, seq: int, why: str):
        # Every reader of an input log raises it (adjudication, replay, explain, as-of, export):
        # the message says what is true for each, that nothing from that seq on is read.
        super().__init__(f"{directory}: chain broken at seq {seq}: {why}; the log was altered after"
                         " it was written (`claimsim log verify` shows it), so nothing from that"
                         " line on is read or adjudicated")
        self.seq = seq


@dataclass
class ChainPosition:
    """Where a reader is: the next seq, and the hash of the entry before it (None after an
    unreadable line: the next line's own `prev` is taken as given)."""

    next_seq: int = 0
    prev: str | None = GENESIS_HASH
    last_at: str = "0001-01-01"

    def accept(self, env: dict[str, Any]) -> None:
        """Move past an entry the caller has consumed."""
        self.next_seq, self.prev = env["seq"] + 1, env["hash"]
        if isinstance(env.get("at"), str):
            self.last_at = env["at"]

    def accept_all(self, envs: list[dict[str, Any]]) -> None:
        """`accept` each of consecutive entries, in order (what the last one and the last
        string `at` among them leave)."""
        if not envs:
            return
        last = envs[-1]
        self.next_seq, self.prev = last["seq"] + 1, last["hash"]
        for i in range(len(envs) - 1, -1, -1):  # not `reversed(envs)`: mypyc fails on it
            at = envs[i].get("at")
            if isinstance(at, str):
                self.last_at = at
                return

    def copy(self) -> ChainPosition:
        return ChainPosition(self.next_seq, self.prev, self.last_at)


def writer_alive(directory: Path) -> bool:
    """Whether some process holds the log's writer lock (then a torn tail is still being written)."""
    path = Path(directory) / LOCK_FILE
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases a lock we took
    return False


def unreadable(seq: int, at: str, problem: str, raw: bytes) -> dict[str, Any]:
    return {"seq": seq, "type": UNREADABLE, "v": 1, "at": at, "key": UNREADABLE_KEY, "cause": None,
            "data": {"problem": problem, "raw": raw[:200].decode("utf-8", "replace")},
            "prev": None, "hash": None}


def read_checked(directory: Path | str, position: ChainPosition | None = None, *,
                 typed: bool = False) -> Iterator[dict[str, Any]]:
    """Envelopes from `position` on (default: seq 0 with the genesis hash), each checked against
    the chain. `position` is not changed: a caller `accept`s each entry it consumes, and can go
    on later from there without re-reading (and re-hashing) the prefix.

    `typed`: a plainly written `claim.submitted` or `member.enrolled` line comes with its data
    typed (`typed_input`: the adjudication runtime's choice, whose engine reads either); every
    other line, and any such line it refuses, as the dict it always was."""
    directory = require_dir(directory)
    pos = position.copy() if position is not None else ChainPosition()
    check = LineCheck(directory, typed)
    segs = segments(directory)
    for i, (first_seq, path) in enumerate(segs):
        next_first = segs[i + 1][0] if i + 1 < len(segs) else None
        if next_first is not None and next_first <= pos.next_seq:
            continue
        with open(path, "rb", buffering=FILE_BUFFER) as f:
            lines = f if pos.next_seq <= first_seq else itertools.islice(f, pos.next_seq - first_seq, None)
            for seq, line in enumerate(lines, max(first_seq, pos.next_seq)):
                if line[-1:] != b"\n":
                    if writer_alive(directory):
                        return  # still being written
                    yield unreadable(seq, pos.last_at, "incomplete last line (an interrupted write)", line)
                    return
                env = check.envelope(line, seq, pos)
                # `pos.accept(env)`, inlined: it runs once per input line.
                pos.next_seq, pos.prev = seq + 1, env["hash"]
                at = env["at"]
                if type(at) is str:
                    pos.last_at = at
                yield env


class LineCheck:
    """One complete input line at `seq`, after the entry `pos.prev` names, as `read_checked`
    yields it: checked against the chain (`ChainBroken`), typed where it can be, else
    `_checked`'s dict (an `UNREADABLE` one for a line that is not an envelope). `pos` is read,
    not moved. Shared by `read_checked` and the runtime's family passes
    (`adjudication.runtimes.passes`), which read a run's lines out of order."""

    __slots__ = ("directory", "versions", "version", "e_version", "marker", "tail", "e_marker",
                 "e_tail", "day")

    def __init__(self, directory: Path, typed: bool):
        self.directory = directory
        self.versions = versions = current_versions()
        self.version = version = versions.get(CLAIM_SUBMITTED)
        self.e_version = e_version = versions.get(MEMBER_ENROLLED)
        typed = typed and version is not None and e_version is not None
        self.marker, self.tail = typed_marker(CLAIM_SUBMITTED, version) if typed else (b"\n", 0)  # type: ignore[arg-type]
        self.e_marker, self.e_tail = typed_marker(MEMBER_ENROLLED, e_version) if typed else (b"\n", 0)  # type: ignore[arg-type]
        # The last `at` found a day (`_is_day`): a log's lines mostly repeat the one before's.
        self.day: str | None = None

    def envelope(self, line: bytes, seq: int, pos: ChainPosition) -> dict[str, Any]:
        env = None
        # A claim line's marker sits `tail` bytes from its end (never matches untyped). Compared
        # as a slice: compiled, a bytes slice and `==` are primitives where `startswith` at an
        # offset is a generic method call. A line shorter than `tail` is no typed line.
        marker, e_marker, size = self.marker, self.e_marker, len(line)
        cut, e_cut = size - self.tail, size - self.e_tail
        if self.tail and cut >= 0 and line[cut:cut + len(marker)] == marker:
            env = typed_envelope(line, seq, pos.prev, self.version)  # type: ignore[arg-type]
        elif self.e_tail and e_cut >= 0 and line[e_cut:e_cut + len(e_marker)] == e_marker:
            env = typed_enrollment_envelope(line, seq, pos.prev, self.e_version)  # type: ignore[arg-type]
        if env is None:
            env = _checked(self.directory, line, seq, pos, self.versions)
        at = env["at"]
        if type(at) is not str or at == self.day:
            return env
        if _is_day(at):
            self.day = at
        else:  # a `type` text `at` past `_checked`'s check
            env = {**unreadable(seq, pos.last_at, f"its at {at[:40]!r} is not a YYYY-MM-DD date",
                                line), "prev": env["prev"], "hash": env["hash"]}
        return env


def _typed(line: bytes, seq: int, prev: str | None, version: int, decode: Any, kind: str
           ) -> dict[str, Any] | None:
    """The envelope of a line of `kind` decoded by `decode` (`typed_input`'s envelope decoders),
    its data typed, if the line is plainly written, at `seq`, on the chain after `prev` (None
    after an unreadable line: its own `prev` is taken) and at `version`; else None. Compiled
    with the reader (`typed_input`'s module docstring says what each refusal keeps from the dict
    reading)."""
    if not line.isascii() or line.find(b"\\") >= 0:  # `in` would try the bytes as an int first
        return None
    try:
        e = decode(line)
    except DecodeError:
        return None
    at, _, data, key, e_seq, _, v, e_prev, digest = cast(EnvelopeFields, _astuple(e))
    if e_seq != seq or (prev is not None and e_prev != prev) or v != version or len(e_prev) != 64:
        return None
    # The dict reading hashes the line up to its last `,"prev":"`; the marker put one
    # `PREV_TAIL` bytes from the end. A later one would be a later `prev` member (no other
    # object has the key), the last, of 64 characters: the 150 bytes would then leave no room
    # for the last `hash` member (64 characters if it matches), so it would lie inside the bytes
    # it is the SHA-256 of, out of reach. Both readings cut the line here.
    if cut_chain_hash(e_prev, line, len(line) - _PREV_TAIL) != digest:
        return None
    typed = (_TypedClaim(data.claim, line) if kind == CLAIM_SUBMITTED
             else _TypedEnrollment(data, line))
    return {"at": at, "cause": None, "data": typed, "key": key, "seq": seq, "type": kind,
            "v": version, "prev": e_prev, "hash": digest}


def typed_enrollment_envelope(line: bytes, seq: int, prev: str | None, version: int
                              ) -> dict[str, Any] | None:
    """`typed_envelope` for a `member.enrolled` line (`typed_input.marker` at its place)."""
    return _typed(line, seq, prev, version, _decode_enrollment, MEMBER_ENROLLED)


def typed_envelope(line: bytes, seq: int, prev: str | None, version: int) -> dict[str, Any] | None:
    """The envelope `_checked` would give for this line (at `seq`, after an entry hashed `prev`,
    None after an unreadable line: the line's own `prev` is taken; `claim.submitted` being at
    `version`), with typed data (`typed_input`); None for anything else (the caller reads it the
    dict way, which also raises or words what is wrong). The caller has checked the line holds
    `typed_input.marker` at its place."""
    return _typed(line, seq, prev, version, _decode_claim, CLAIM_SUBMITTED)


def _is_day(at: str) -> bool:
    """An input's `at` is the day it was received, YYYY-MM-DD: the run clock and `as of` cut the
    input log by it, so "yesterday" or a megabyte of text is not taken into the ledger's dates."""
    if len(at) != 10 or at[4] != "-" or at[7] != "-":
        return False
    try:
        dt.date.fromisoformat(at)
    except ValueError:
        return False
    return True


def _checked(directory: Path, line: bytes, seq: int, pos: ChainPosition,
             versions: dict[str, int]) -> dict[str, Any]:
    try:
        env = orjson.loads(line)
    except orjson.JSONDecodeError as e:
        return unreadable(seq, pos.last_at, f"not JSON ({e})", line)
    if type(env) is not dict or env.keys() != _ENVELOPE_KEYS or env["seq"] != seq:
        return unreadable(seq, pos.last_at, "not a log envelope (or not at its seq)", line)
    prev, digest = env["prev"], env["hash"]
    if type(digest) is not str or type(prev) is not str:
        return unreadable(seq, pos.last_at, "not a log envelope (or not at its seq)", line)
    # After an unreadable line the chain cannot be checked across it: the next `prev` is taken.
    if prev != pos.prev and pos.prev is not None:
        raise ChainBroken(directory, seq, "prev does not match the preceding entry's hash")
    if line_chain_hash(prev, line) != digest:
        raise ChainBroken(directory, seq, "content does not match its hash")
    # As `events.log.read`: a known type at an older version is upcast, and one at a version this
    # code cannot read is refused (`UnknownEventVersion`: written by newer code, so rejecting it
    # would record a decision this code is not fit to make). An unknown type passes through and
    # the core rejects it.
    if not readable_header(env):  # the line is unreadable, its chain still checked across it
        return {**unreadable(seq, pos.last_at, "not a log envelope (its type and at must be"
                             " strings and its v a version number from 1)", line),
                "prev": prev, "hash": digest}
    v = env["v"]
    if v != versions.get(env["type"], v):
        env = upcast_envelope(env)
    return env


def readable_envelope(line: bytes) -> dict[str, Any] | None:
    """An input line decoded as `envelope_of` decodes it (a known type at a version newer than
    this code is refused, as everywhere), or None for a line the core answers with a rejection
    (not JSON, not an envelope, no type or version this code can name: `registry.readable_header`):
    for the readers of an input log that fold what the core applied."""
    try:
        env = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if type(env) is not dict or not readable_header(env):
        return None
    return as_current(env)
