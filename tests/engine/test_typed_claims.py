"""A claim read typed (`events.typed_input`) is checked by `typed_claims.validate_typed`, which
must accept only what `validate_claim`'s reading of the same line as a dict accepts, with the same
`Claim`, and leave everything else to it (None); the core's answer to the line is then the same
whichever reading the runtime used. tests/runtimes/test_typed_input.py holds the two readings
together on hostile lines and a synthetic run end to end."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings

from ..fixtures.adjudication import Harness, line, plan, reference
from .test_plain_enrollment import CHANGES, _with
from .test_validation_paths import CTX, KEY, _base, raw_claims
from claimsim.adjudication.engine.core import plain_enrollment, typed_enrollment
from claimsim.adjudication.engine.typed_claims import validate_typed
from claimsim.adjudication.engine.validation import Invalid, validate_claim
from claimsim.events.input import MemberEnrolled
from claimsim.events.typed_input import EnrollmentIn, TypedClaim
from claimsim.events.input_reader import typed_enrollment_envelope, typed_envelope
from claimsim.events.encoding import GENESIS_HASH, canonical, chain_hash


def _line(claim: Any, key: str = KEY, seq: int = 0, patch: tuple[bytes, bytes] = (b"", b"")) -> bytes:
    body = canonical({"at": "2025-03-10", "cause": None, "data": {"claim": claim}, "key": key,
                      "seq": seq, "type": "claim.submitted", "v": 1}).replace(*patch)
    digest = chain_hash(GENESIS_HASH, body)
    return body[:-1] + b',"prev":"%s","hash":"%s"}\n' % (GENESIS_HASH.encode(), digest.encode())


def _readings(claim: Any, patch: tuple[bytes, bytes] = (b"", b"")
              ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(the typed envelope or None, the dict envelope) of one claim line."""
    raw = _line(claim, patch=patch)
    return typed_envelope(raw, 0, GENESIS_HASH, 1), orjson.loads(raw)


def _answer(env: dict[str, Any]) -> tuple[bytes, bytes]:
    h = Harness()
    h.enroll("M1")
    h.enroll("M2", subscriber="M1")
    env = dict(env, seq=h.seq)
    event = h.apply(env)
    return canonical(event), h.families[KEY].hot_bytes()


@given(raw_claims())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_the_typed_reading_takes_only_what_the_dict_reading_takes_alike(raw):
    typed, plain = _readings(raw)
    if typed is None:
        return  # the dict reading decides
    assert type(typed["data"]) is TypedClaim and typed["data"].as_dict() == plain["data"]
    assert {**typed, "data": None} == {**plain, "data": None}
    claim = validate_typed(typed["data"].claim, KEY, CTX)
    if claim is not None:
        assert validate_claim(copy.deepcopy(plain["data"]["claim"]), KEY, CTX) == claim
    assert _answer(typed) == _answer(plain)


def test_a_plain_claim_is_read_typed_and_taken():
    typed, plain = _readings(_base())
    assert typed is not None
    claim = validate_typed(typed["data"].claim, KEY, CTX)
    assert claim is not None and claim == validate_claim(plain["data"]["claim"], KEY, CTX)
    assert [ln.line_no for ln in claim.lines] == [1, 2] and claim.lines[0].diagnoses == ("I10",)


def test_what_the_typed_checks_refuse_is_worded_by_the_dict_reading():
    """A value the typed checks refuse (a line number past 2**62, where orjson reads a float) is
    left to the dict reading, whose rejection names the field."""
    typed, plain = _readings(_base(), (b'"line_no":1', b'"line_no":18446744073709551616'))
    assert typed is not None and validate_typed(typed["data"].claim, KEY, CTX) is None
    try:
        validate_claim(plain["data"]["claim"], KEY, CTX)
        raise AssertionError("accepted a float line number")
    except Invalid as bad:
        assert (bad.reason.value, bad.field) == ("malformed", "lines.0.line_no")
    assert _answer(typed) == _answer(plain)
    assert b'"field":"lines.0.line_no"' in _answer(typed)[0]


def test_a_claim_the_family_rejects_is_worded_from_the_claim_as_submitted():
    """Valid as a claim, rejected by the family's own checks (an unknown member): the rejection's
    raw claim is the dict reading's."""
    claim = dict(_base(), member_id="M9", lines=[line("99213", 10_000)])
    typed, plain = _readings(claim)
    assert validate_typed(typed["data"].claim, KEY, CTX) is not None
    answer, _ = _answer(typed)
    assert answer == _answer(plain)[0] and b'"reason":"unknown_member"' in answer


def _enrollment_line(data: dict[str, Any], patch: tuple[bytes, bytes] = (b"", b"")) -> bytes:
    body = canonical({"at": "2025-01-01", "cause": None, "data": data, "key": "F000001",
                      "seq": 0, "type": "member.enrolled", "v": 1}).replace(*patch)
    digest = chain_hash(GENESIS_HASH, body)
    return body[:-1] + b',"prev":"%s","hash":"%s"}\n' % (GENESIS_HASH.encode(), digest.encode())


ENROLLMENT_PATCHES = [(b"", b""), (b'"sex":"F"', b'"sex":"\\u0046"'), (b'"sex":"F"', b'"sex":"F","sex":1'),
                      (b'"sex":"F"', b'"sex":1,"sex":"F"'), (b'"qmb":true', b'"qmb":1'),
                      (b'"start":"2025-01-01"', b'"start" : "2025-01-01" ')]


def test_the_typed_enrollment_has_the_model_s_fields():
    assert set(EnrollmentIn.__struct_fields__) == set(MemberEnrolled.model_fields)


def _writable(change: dict[str, Any]) -> bool:
    """Whether the form can be written as a JSON line at all (a bytes value cannot)."""
    try:
        _enrollment_line(_with(change))
    except TypeError:
        return False
    return True


LINE_CHANGES = [c for c in CHANGES if _writable(c)]


@pytest.mark.parametrize("change", LINE_CHANGES, ids=[repr(c) for c in LINE_CHANGES])
@pytest.mark.parametrize("patch", ENROLLMENT_PATCHES, ids=[repr(p[1]) for p in ENROLLMENT_PATCHES])
def test_a_typed_enrollment_is_read_as_the_plain_one(change, patch):
    """Each of `plain_enrollment`'s hostile forms, written as a line (some with an escape, a
    duplicate key, spaces): read typed or not, the same fields or the same refusal, and the
    core's note and the family's state the same."""
    raw = _enrollment_line(_with(change), patch)
    typed, plain = typed_enrollment_envelope(raw, 0, GENESIS_HASH, 1), orjson.loads(raw)
    if typed is None:
        return
    assert typed["data"].as_dict() == plain["data"] and {**typed, "data": 0} == {**plain, "data": 0}
    fields = typed_enrollment(typed["data"].enrollment)
    if fields is not None:
        assert fields == plain_enrollment(plain["data"])
    answers = []
    for env in (typed, plain):
        h = Harness(reference([plan("MCR-B", "MCR")]))
        event = h.apply(dict(env))
        answers.append((canonical(event), h.families["F000001"].hot_bytes()))
    assert answers[0] == answers[1]


@pytest.mark.parametrize("first", ["", "2025-02-30", "2025-03-11"])
def test_a_first_line_without_a_valid_service_date_is_left_to_the_dict_reading(first):
    """The typed checks reuse the last line's checked day for a line on the same date; the first
    line has no last line, so an empty, impossible or after-receipt date there is refused
    (None), and the dict reading's rejection names the line's field."""
    claim = _base()
    claim["lines"][0]["service_date"] = first
    typed, plain = _readings(claim)
    assert typed is not None and validate_typed(typed["data"].claim, KEY, CTX) is None
    try:
        validate_claim(copy.deepcopy(plain["data"]["claim"]), KEY, CTX)
        raise AssertionError(f"accepted a service date of {first!r}")
    except Invalid as bad:
        assert bad.field == "lines.0.service_date"
    answer, _ = _answer(typed)
    assert answer == _answer(plain)[0] and b'"field":"lines.0.service_date"' in answer
