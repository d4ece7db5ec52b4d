"""An input line (`claim.submitted`, `member.enrolled`) decoded straight into typed values, for the adjudication hot
path: msgspec Structs (no dict built, checked, freed per claim and per line) instead of orjson's
dicts, where the line is plainly written.

The dict stays the reference. `input_reader.typed_envelope` (compiled with the reader: the
Structs here must stay Python classes, which mypyc would make native) decodes a line with the
decoders here, and gives None (the caller then reads the line as `input_reader._checked` always
has) for anything it is not sure the dict reading would take the
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
tests/runtimes/test_typed_input.py holds the two readings together on hostile lines and on every
input line of a synthetic run.

A `member.enrolled` line is read the same way (`EnrollmentIn`, `TypedEnrollment`; the engine's
`core.typed_enrollment` checks it as `core.plain_enrollment` checks the dict).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
import msgspec.structs
import orjson

CLAIM_SUBMITTED = "claim.submitted"
MEMBER_ENROLLED = "member.enrolled"
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


# An envelope's values (`astuple` of `_EnvelopeIn`, `_EnrollmentEnvelopeIn`): at, cause, data,
# key, seq, type, v, prev, hash.
EnvelopeFields = tuple[str, None, Any, str, int, str, int, str, str]


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


def _line_data(line: bytes) -> dict[str, Any]:
    """A typed line's data as the dict reading gives it (the line is at the current version: no
    upcast): what the typed data's `as_dict` gives."""
    data: dict[str, Any] = orjson.loads(line)["data"]
    return data


class TypedClaim(msgspec.Struct, gc=False):
    """The `data` of a typed `claim.submitted` envelope: its claim, and the line it came from."""

    claim: ClaimIn
    line: bytes

    def as_dict(self) -> dict[str, Any]:
        return _line_data(self.line)


class EnrollmentIn(msgspec.Struct, **_FIELDS):  # type: ignore[call-arg]
    """An enrollment as submitted: `MemberEnrolled`'s fields (no other), of the JSON types
    `core.plain_enrollment` takes, in the order a canonical line holds them."""

    birth_date: str
    end: str | None = None
    ethnicity: str | None = None
    hospice: bool = False
    language: str | None = None
    member_id: str
    payer_id: str
    plan_id: str
    qmb: bool = False
    race: str | None = None
    relationship: str = "self"
    sex: str
    start: str
    subscriber_id: str


EnrollmentFields = tuple[str, str | None, str | None, bool, str | None, str, str, str, bool,
                         str | None, str, str, str, str]


class _EnrollmentEnvelopeIn(msgspec.Struct, **_FIELDS):  # type: ignore[call-arg]
    at: str
    cause: None
    data: EnrollmentIn
    key: str
    seq: int
    type: Literal["member.enrolled"]
    v: int
    prev: str
    hash: str


class TypedEnrollment(msgspec.Struct, gc=False):
    """The `data` of a typed `member.enrolled` envelope: the enrollment, and its line."""

    enrollment: EnrollmentIn
    line: bytes

    def as_dict(self) -> dict[str, Any]:
        return _line_data(self.line)


# The envelope decoders `input_reader` reads a typed line with (`input_reader.typed_envelope`).
decode_claim_envelope = msgspec.json.Decoder(_EnvelopeIn).decode
decode_enrollment_envelope = msgspec.json.Decoder(_EnrollmentEnvelopeIn).decode
DecodeError = msgspec.MsgspecError  # what they raise for a line they do not take
_HASH_TAIL = len(b'","hash":"') + 64 + len(b'"}\n')
PREV_TAIL = len(b',"prev":"') + 64 + _HASH_TAIL  # how far from a line's end `,"prev":"` starts


def marker(kind: str, version: int) -> tuple[bytes, int]:
    """(what a canonical line of `kind` at `version` holds from its type key on, how far from the
    line's end that starts): a line without it is not tried here."""
    mark = b',"type":"%s","v":%d,"prev":"' % (kind.encode(), version)
    return mark, len(mark) + 64 + _HASH_TAIL
