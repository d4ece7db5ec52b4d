"""A ledger as the fold reads it: `fold_envelopes` streams the raw envelopes `events.log.read`
gives, except that a claim entry (most of a ledger) holds only the fields the fold reads.

A claim entry's lines are large (adjustments, billed, remarks, units ... and the chain's hashes)
and the fold reads about half of their fields. orjson has no partial decode; msgspec decodes the
envelope into a `TypedDict` and its data into `claim_entry.ClaimData` and `ClaimLine` structs,
skipping every field they do not name at C speed and checking the JSON's syntax all the same.
The decoded envelope is a plain dict with exactly the envelope fields named here that the line
holds (the runner reads its `seq` and `hash`); the fold reads its data's attributes.

What is named here is what the fold reads of a claim entry (`fold.claims`, `fold.quality`,
`fold.follow`, `diagnoses.line_conditions`); tests/projections/test_fold_entries.py replays runs
both ways and compares every checkpoint byte for byte. Anything else takes `read`'s way (orjson,
then upcast or refused): other entry types, a claim entry at another version than the current
one (a v1 ledger), and a claim entry this decoder refuses (a field of another JSON type than a
ledger written by the engine holds, or one such a ledger always holds missing); the fold's
handlers convert such an entry's dict data at their door (`claim_entry.claim_data`), so what the
fold makes of it is what it always made.

The keys are the fold's own key objects (`fold.claims.FIELDS`, renewed as orjson's key cache
changes), so the fold's lookups find them by identity as they find orjson's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, TypedDict

import msgspec

from claimsim.events.registry import current_version

from claimsim.adjudication.projections.claim_entry import ClaimData
from claimsim.adjudication.projections.fold.claims import FIELDS
from claimsim.adjudication.projections.fold.stream import CLAIM_TYPES, envelopes

# The envelope's fields the fold reads, with the JSON type a ledger written by the engine holds
# (a value of another type is refused, and the line decoded in full instead); its data is a
# `claim_entry.ClaimData`, its lines `ClaimLine`s. The type is one of the claim types, as a
# Literal: msgspec then hands out the one str object of each (its hash kept) where a `str` is a
# new object per entry, hashed again by the fold's lookups; a line of any other type is decoded
# in full, as it was when the loop found its type outside `CLAIM_TYPES`.
ENVELOPE = {"at": str, "cause": int | None, "seq": int, "type": Literal[CLAIM_TYPES]}
NAMES = (*ENVELOPE, "data")
# Read beside the fold: `events.projection.ProjectionRunner` records the position it folded to
# (`LedgerFollower.envelopes`; a reader that folds only, `follower.ledger_envelopes`, goes without).
CHAIN = {"hash": str}


class ClaimDecoder:
    """Decodes a claim entry's line into the fields the fold reads (`decode`): the envelope a dict
    keyed by the fold's key objects as they are now (`refresh` builds it anew once `FIELDS` holds
    other ones), its data a `ClaimData`; with its `hash` (`CHAIN`) when `chain` is set."""

    def __init__(self, chain: bool = True) -> None:
        self._chain = CHAIN if chain else {}
        self._keys: tuple[str, ...] = ()
        self.decode: Any = None
        self.refresh()

    def refresh(self) -> None:
        keys = tuple(getattr(FIELDS, name) for name in NAMES)
        if len(keys) == len(self._keys) and all(a is b for a, b in zip(keys, self._keys)):
            return
        key = dict(zip(NAMES, keys))
        envelope = TypedDict("Envelope", {**{key[k]: t for k, t in ENVELOPE.items()},  # type: ignore[misc]
                                          key["data"]: ClaimData, **self._chain}, total=False)
        self.decode = msgspec.json.Decoder(envelope).decode
        self._keys = keys


def tail_marker(kind: str, version: int | None = None) -> bytes:
    """What ends a line of type `kind` at `version` (None: the current one), up to its chain
    fields: canonical key order puts the envelope's type and v last before `prev` (`events.log`).
    The one place that spells it; `fold.follow.AT_END` is how far from a line's end it stands."""
    v = current_version(kind) if version is None else version
    return b',"type":"%s","v":%d,"prev":' % (kind.encode(), v)


def claim_markers() -> tuple[bytes, ...]:
    """What ends a claim entry's line at the current version (`tail_marker`)."""
    return tuple(tail_marker(t) for t in CLAIM_TYPES)


def fold_envelopes(directory: Path | str, from_seq: int = 0,
                   chain: bool = True) -> Iterator[dict[str, Any]]:
    """A log's complete lines from `from_seq` on (as `events.log.raw_lines` reads them: a torn
    last line is not part of the log) decoded as `events.log.read` decodes them, claim entries at
    the current version into only the fields the fold reads, and their `hash` unless `chain` is
    off (a claim entry's one field the fold never reads: a 64-character string decoded and freed
    per entry). The per-line loop is `fold.stream.envelopes`, compiled with the fold: this runs
    once per ledger entry."""
    return envelopes(directory, from_seq, ClaimDecoder(chain), claim_markers())
