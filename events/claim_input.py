"""A `claim.submitted` input line decoded straight into typed values, for the adjudication hot
path: msgspec Structs (no dict built, checked, freed per claim and per line) instead of orjson's
dicts, where the line is plainly written.

The dict stays the reference. `typed_envelope` gives None (the caller then reads the line as
`input_reader._checked` always has) for anything it is not sure the dict reading would take the
same way: a line not ASCII, or holding a backslash (an escape: orjson and msgspec word lone
surrogates differently), any field missing, unknown or of another JSON type than the engine
reads (msgspec refuses them), an integer past 64 bits (orjson reads it as a float, msgspec as an
int: the engine's typed checks bound every integer), a line not at its seq or not on the chain.
What it gives is the envelope dict `_checked` gives, except that `data` is a `TypedClaim`: the
claim's values and the line itself, so the engine (`validation.validate_typed`) can fall back
to the dict (`TypedClaim.as_dict`, the line decoded by orjson as `_checked` decodes it) for
anything its typed checks refuse, and the dict reading words the rejection.

Duplicate keys are read the same way by both decoders (the last one wins); unknown fields are
refused here (the dict reading ignores them), which only sends the line to the dict reading.
tests/events/test_claim_input.py holds the two readings together on hostile lines and on every
input line of a synthetic run.
"""

from __future__ import annotations

from hashlib import sha256
from typing import Any, Literal

import msgspec
import msgspec.structs
import orjson

CLAIM_SUBMITTED = "claim.submitted"
# No cycles (nothing for the collector); fields named, so declared in the JSON's key order.
_FIELDS = dict(forbid_unknown_fields=True, gc=False, kw_only=True)


class LineIn(msgspec.Struct, **_FIELDS):  # type: ignore[call-arg]
    """A service line as submitted: the fields `validation` reads, of the JSON types it takes,
    in the order a canonical line holds them (msgspec looks for the next key where the last one
    was found)."""

    billed: int
    diagnoses: tuple[str, ...] | None = None  # as `validation.shared_diagnoses` keeps them
    line_no: int
    modifiers: list[str] = []
    procedure: str
    service_date: str
    units: int


class ClaimIn(msgspec.Struct, **_FIELDS):  # type: ignore[call-arg]
    """A claim as submitted (the `claim` of a `claim.submitted`'s data). A void without `lines`
    is not read here (the dict reading takes it)."""

    billing_tin: str
    claim_id: str
    frequency: str = "1"
    lines: list[LineIn]
    member_id: str
    original_claim_id: str | None = None
    payer_id: str
    place_of_service: str
    received: str
    rendering_npi: str
    subscriber_id: str


# A Struct's values in its fields' order (`astuple`), as the engine unpacks them.
astuple = msgspec.structs.astuple
LineFields = tuple[int, tuple[str, ...] | None, int, list[str], str, str, int]
ClaimFields = tuple[str, str, str, list[LineIn], str, str | None, str, str, str, str, str]


class _DataIn(msgspec.Struct, **_FIELDS):  # type: ignore[call-arg]
    claim: ClaimIn


class _EnvelopeIn(msgspec.Struct, **_FIELDS):  # type: ignore[call-arg]
    """Exactly the envelope keys `_checked` requires, each of the type the fast path takes."""

    at: str
    cause: None
    data: _DataIn
    key: str
    seq: int
    type: Literal["claim.submitted"]
    v: int
    prev: str
    hash: str


class TypedClaim(msgspec.Struct, gc=False):
    """The `data` of a typed `claim.submitted` envelope: its claim, and the line it came from."""

    claim: ClaimIn
    line: bytes

    def as_dict(self) -> dict[str, Any]:
        """The data as the dict reading gives it (the line is at the current version: no upcast)."""
        data: dict[str, Any] = orjson.loads(self.line)["data"]
        return data


_decode = msgspec.json.Decoder(_EnvelopeIn).decode
_PREV = b',"prev":"'
_HASH_TAIL = len(b'","hash":"') + 64 + len(b'"}\n')


def claim_marker(version: int) -> tuple[bytes, int]:
    """(what a canonical `claim.submitted` line at `version` holds from its type key on, how far
    from the line's end that starts): a line without it is not tried here."""
    marker = b',"type":"%s","v":%d,"prev":"' % (CLAIM_SUBMITTED.encode(), version)
    return marker, len(marker) + 64 + _HASH_TAIL


def typed_envelope(line: bytes, seq: int, prev: str | None, version: int) -> dict[str, Any] | None:
    """The envelope `_checked` would give for this line (at `seq`, after an entry hashed `prev`,
    None after an unreadable line: the line's own `prev` is taken; `claim.submitted` being at
    `version`), with typed data; None for anything else (the caller reads it the dict way, which
    also raises or words what is wrong). The caller has checked the line holds `claim_marker` at
    its place."""
    if not line.isascii() or line.find(b"\\") >= 0:  # `in` would try the bytes as an int first
        return None
    try:
        e = _decode(line)
    except msgspec.MsgspecError:
        return None
    if prev is None:
        prev = e.prev
    if e.seq != seq or e.prev != prev or e.v != version:
        return None
    hasher = sha256(prev.encode("ascii"))
    hasher.update(memoryview(line)[:line.rfind(_PREV)])
    hasher.update(b"}")
    digest = e.hash
    if hasher.hexdigest() != digest:
        return None
    return {"at": e.at, "cause": None, "data": TypedClaim(e.data.claim, line), "key": e.key,
            "seq": seq, "type": CLAIM_SUBMITTED, "v": version, "prev": prev, "hash": digest}
