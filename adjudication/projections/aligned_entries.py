"""A run's logs as the aligned-payer fold reads them (`fold.aligned.AlignedFold`): what
`events.log.read` gives, except that a claim entry of either log (a submitted claim; an
adjudicated or reversed one) holds only the fields the fold reads, and an entry of a type the
fold ignores is not decoded at all.

The fold reads every claim of both logs once, and decoding them was most of its time: a ledger
claim entry's lines hold adjustments, remarks, billed amounts and more that it never reads. As
`entries` does for the payer-state fold, msgspec decodes into `TypedDict`s and skips the fields
they do not name at C speed (checking the JSON's syntax all the same); the decoded entry is a
plain dict with exactly the fields named here that the line holds, each value what orjson gives.

A line is taken this way only when its tail is a known type at its current version (canonical
key order puts the envelope's type and v last before `prev`: `events.log`); the rest, a claim
entry this decoder refuses (a field of another JSON type than the logs a run writes hold) and
every line of another layout, are decoded as `read` decodes them (`events.log.envelope_of`; an
input log's by `events.input_reader.readable_envelope`, which leaves out a line the core answered
with a rejection), so what the fold makes of them is what it always made. An entry the fold ignores (no effect,
attribution, snapshots ...) is skipped only at its current version, where `read` would have
handed it over as it is. tests/projections/test_aligned_entries.py folds runs both ways.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypedDict

import msgspec

from claimsim.events.log import envelope_of, raw_lines
from claimsim.events.registry import current_versions

from claimsim.adjudication.projections.entries import tail_marker
from claimsim.adjudication.projections.fold.follow import AT_END

# What the fold reads of each claim entry, with the JSON type the logs a run writes hold.


class SubmittedLine(TypedDict, total=False):
    service_date: str
    diagnoses: list[str] | None


class SubmittedClaim(TypedDict, total=False):
    claim_id: str
    member_id: str | None
    rendering_npi: str | None
    place_of_service: str | None
    original_claim_id: str | None
    lines: list[SubmittedLine]


class SubmittedData(TypedDict, total=False):
    claim: SubmittedClaim


class Submitted(TypedDict, total=False):
    type: str
    v: int
    seq: int
    data: SubmittedData


class LedgerLine(TypedDict, total=False):
    member_id: str
    service_date: str
    procedure: str
    plan_paid: int
    cost_share: int
    medicaid_cost_share: int
    status: str


class LedgerData(TypedDict, total=False):
    claim_id: str
    original_claim_id: str | None
    reversed_claim_id: str | None
    payer_id: str
    practice_id: str
    lines: list[LedgerLine]
    reversed_lines: list[LedgerLine]


class LedgerClaim(TypedDict, total=False):
    type: str
    v: int
    cause: int | None
    data: LedgerData


SHAPES: dict[str, Any] = {"claim.submitted": Submitted, "claim.adjudicated": LedgerClaim,
                          "claim.reversed": LedgerClaim}
# The other types the fold folds (decoded in full; small and few).
FOLDED = ("member.enrolled", "member.terminated", "payment.prospective")


def aligned_envelopes(directory: Path | str,
                      decode_rest: Callable[[bytes], dict[str, Any] | None] = envelope_of
                      ) -> Iterator[dict[str, Any]]:
    """A log's complete lines (`events.log.raw_lines`) as the aligned fold reads them, in order:
    claim entries at their current version partly decoded, entries of a type the fold ignores at
    their current version left out, every other line by `decode_rest` (as `read` decodes it; for
    an input log `events.input_reader.readable_envelope`, whose None leaves out a line the core
    answered with a rejection)."""
    current = current_versions()
    decoders = [(tail_marker(kind, current[kind]), kind, current[kind], msgspec.json.Decoder(shape).decode)
                for kind, shape in SHAPES.items()]
    ignored = tuple(tail_marker(kind, v) for kind, v in current.items()
                    if kind not in SHAPES and kind not in FOLDED)
    refused = msgspec.DecodeError  # a ValidationError is one
    for line in raw_lines(directory):
        end = len(line) - AT_END
        if end > 0 and line.endswith(ignored, 0, end):
            continue
        env = None
        for marker, kind, version, decode in decoders:
            if end > 0 and line.endswith(marker, 0, end):
                try:
                    env = decode(line)
                except refused:
                    env = None
                if env is not None and (env.get("type") != kind or env.get("v") != version):
                    env = None  # another layout than the tail says: decoded in full
                break
        if env is None:  # decoded in full
            env = decode_rest(line)
            if env is None:
                continue
        yield env
