"""`projections.entries.fold_envelopes`' loop over a ledger's lines, compiled with the fold
(setup.py): it runs once per ledger entry, and interpreted its bookkeeping around each decode
cost a replay of a million entries some tenths of a second (1,200-2,000 instructions an entry).
`entries` keeps what is set up once per ledger (the decoder and the markers); this is the rest,
unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import msgspec
import orjson

from claimsim.events.log import require_dir, segment_files
from claimsim.events.registry import current_versions, upcast_envelope

from claimsim.adjudication.projections.fold.claims import FIELDS, RENEW_EVERY
from claimsim.adjudication.projections.fold.follow import AT_END

CLAIM_TYPES: Final = ("claim.adjudicated", "claim.reversed")


def input_lines(directory: Path | str, from_seq: int = 0) -> Iterator[bytes]:
    """`events.log.raw_lines` (the reference; tests/projections/test_fold_follow.py keeps the two
    equal), compiled with the fold for the input log the follower pulls along: a line per input
    event, most of them claims passed over unread, where an interpreted generator's resumption
    cost about as much as reading the line."""
    for f in segment_files(require_dir(directory), from_seq):
        for line in f:
            if line[-1:] != b"\n":
                return  # a torn last line is not part of the log
            yield line


def envelopes(directory: Path | str, from_seq: int, decoder: Any,
              markers: tuple[bytes, ...]) -> Iterator[dict[str, Any]]:
    """The complete lines of the log in `directory` from `from_seq` on, decoded:
    a line ending in one of `markers` (a claim entry at the current version) by `decoder` (an
    `entries.ClaimDecoder`, refreshed as often as the fold renews its keys), unless it refuses
    it; every other line as `events.log.read` decodes it (orjson, then upcast)."""
    decode: Any = decoder.decode
    refused = msgspec.DecodeError
    loads = orjson.loads
    current = current_versions()
    type_key = FIELDS.type
    since_refresh = 0
    # The segments' files as `events.log.raw_lines` reads them, but their lines read here: one
    # generator from the file to the fold, not a second (interpreted) one resumed per line.
    for f in segment_files(require_dir(directory), from_seq):
        for line in f:
            if line[-1:] != b"\n":
                return  # a torn last line is not part of the log
            since_refresh += 1
            if since_refresh >= RENEW_EVERY:  # the fold renews its keys as often
                since_refresh = 0
                decoder.refresh()
                decode, type_key = decoder.decode, FIELDS.type
            end = len(line) - AT_END
            if end > 0 and _ends_with(line, end, markers):
                env: Any
                try:
                    env = decode(line)
                except refused:
                    env = None
                # Narrowed to a dict, `get` is a native lookup; on `Any` it is a method call.
                if isinstance(env, dict) and env.get(type_key) in CLAIM_TYPES:
                    yield env
                    continue
            env = loads(line)
            if env["v"] != current.get(env["type"], env["v"]):
                env = upcast_envelope(env)
            yield env


def _ends_with(line: bytes, end: int, markers: tuple[bytes, ...]) -> bool:
    """`line.endswith(markers, 0, end)`, each marker compared with the slice it would match: a
    slice and a comparison cost far less than the method call, which parses its arguments into
    a tuple on every line (`fold.follow.is_current_claim_line` reads a line so too)."""
    for marker in markers:
        start = end - len(marker)
        if start >= 0 and line[start:end] == marker:
            return True
    return False
