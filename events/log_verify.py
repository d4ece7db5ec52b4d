"""Verifying an event log's hash chain: walk every segment, stop at the first problem (an edit, a
gap, a reorder, a torn last line, a line that is not an envelope, a type this code cannot read)
and say which seq and where.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import orjson

from claimsim.events.encoding import GENESIS_HASH, canonical, chain_hash, line_chain_hash
from claimsim.events.log import FILE_BUFFER, require_dir, segments
from claimsim.events.registry import EventError, check_known, readable_header


class Problem(StrEnum):
    EDITED = "edited"  # an entry's bytes do not hash to its stored hash, or prev is not the chain's
    MISSING = "missing"  # a gap in seq
    REORDERED = "reordered"  # entries out of order
    BAD_JSON = "bad_json"  # a line that is not JSON (or not an envelope)
    UNKNOWN_TYPE = "unknown_type"  # a type or version this code cannot read
    TORN = "torn"  # the last line is incomplete (a writer died mid-write)


@dataclass
class VerifyResult:
    count: int = 0
    problem: Problem | None = None
    seq: int | None = None
    message: str = ""
    location: str = ""
    first_at: str | None = None
    last_at: str | None = None
    by_type: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.problem is None


_ENVELOPE_KEYS = frozenset(("at", "cause", "data", "key", "seq", "type", "v", "prev", "hash"))


def verify(directory: Path | str, *, check_types: bool = True) -> VerifyResult:
    """Walk the whole chain; stop at the first problem and say which seq and why."""
    # Long: one walk with the checks in the order a problem is reported, each returning the
    # first it finds; apart, every step would hand back the position and a verdict to test.
    directory = require_dir(directory)
    result = VerifyResult()
    expected, prev = 0, GENESIS_HASH

    def fail(problem: Problem, seq: int, message: str, where: str) -> VerifyResult:
        result.problem, result.seq, result.message, result.location = problem, seq, message, where
        return result

    for first_seq, path in segments(directory):
        if first_seq != expected:
            return fail(Problem.MISSING, expected,
                        f"segment {path.name} starts at seq {first_seq}, expected {expected}", str(path))
        with open(path, "rb", buffering=FILE_BUFFER) as f:
            lines = iter(f)
            pending: list[bytes] = []
            line_no = 0
            while True:
                line = pending.pop() if pending else next(lines, None)
                if line is None:
                    break
                line_no += 1
                where = f"{path}:{line_no}"
                if not line.endswith(b"\n"):
                    return fail(Problem.TORN, expected, "incomplete last line (interrupted write)", where)
                try:
                    env = orjson.loads(line)
                except orjson.JSONDecodeError as e:
                    return fail(Problem.BAD_JSON, expected, f"not JSON: {e}", where)
                if not isinstance(env, dict) or set(env) != _ENVELOPE_KEYS:
                    return fail(Problem.BAD_JSON, expected, "not an envelope", where)
                seq = env["seq"]
                if seq != expected:
                    if isinstance(seq, int) and seq > expected:
                        follower = next(lines, None)
                        if follower is not None:
                            pending.append(follower)
                            try:
                                if orjson.loads(follower).get("seq") == expected:
                                    return fail(Problem.REORDERED, expected,
                                                f"found seq {seq} where {expected} belongs", where)
                            except (orjson.JSONDecodeError, AttributeError):
                                pass
                        return fail(Problem.MISSING, expected, f"next entry is seq {seq}", where)
                    if type(seq) is not int:
                        return fail(Problem.BAD_JSON, expected, f"seq {seq!r} is not an integer",
                                    where)
                    return fail(Problem.REORDERED, expected,
                                f"found seq {seq} where {expected} belongs", where)
                if env["prev"] != prev:
                    return fail(Problem.EDITED, seq, "prev does not match the preceding entry's hash", where)
                body = canonical({k: env[k] for k in ("at", "cause", "data", "key", "seq", "type", "v")})
                if chain_hash(prev, body) != env["hash"]:
                    if line_chain_hash(prev, line.rstrip(b"\n")) == env["hash"]:
                        # The runtimes hash the line as stored (a writer's lines are canonical):
                        # this one's hash holds over its bytes, not over the canonical form.
                        return fail(Problem.EDITED, seq, "not in canonical form (its hash holds"
                                    " over its bytes as written, not over their canonical"
                                    " encoding; not written by a claimsim log writer)", where)
                    return fail(Problem.EDITED, seq, "content does not match its hash", where)
                if not readable_header(env):  # what `input_reader` reads as unreadable
                    return fail(Problem.BAD_JSON, seq, "not an envelope: its type and at must be"
                                " strings and its v a version number from 1", where)
                if check_types:
                    try:
                        check_known(env["type"], env["v"], seq=seq)
                    except EventError as e:
                        return fail(Problem.UNKNOWN_TYPE, seq, str(e), where)
                prev, expected = env["hash"], expected + 1
                result.count += 1
                result.by_type[env["type"]] = result.by_type.get(env["type"], 0) + 1
                if result.first_at is None:
                    result.first_at = env["at"]
                result.last_at = env["at"]
    return result
