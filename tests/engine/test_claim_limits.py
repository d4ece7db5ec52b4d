"""Hostile claims: values no claim form allows are typed rejections naming the field, and the
claims around them are adjudicated as if they were not there.

The limits (documented in docs/user-guide.md, "Limits on a claim"): at most 50 lines (an 837P's
service lines), units 1..9,999 per line, billed 0..$10,000,000.00 per line, identifiers at most
64 characters, at most 4 modifiers of at most 2 characters, at most 12 diagnoses per line of at
most 8 characters (an ICD-10-CM code with its dot), and a received date whose paid date
(received + processing days) is a real date.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ..fixtures.adjudication import Harness, line, only_line
from claimsim.adjudication.engine.validation import LIMITS, Invalid, _diagnoses_ok, validate_claim
from claimsim.events.ledger import ClaimRejected

GOOD = [line("99213", 10_000)]


def _claim(**patch):
    claim = {"claim_id": "BAD", "frequency": "1", "original_claim_id": None, "member_id": "M1",
             "subscriber_id": "M1", "payer_id": "COM", "billing_tin": "PCP1", "rendering_npi": "N1",
             "place_of_service": "11", "received": "2025-03-10", "lines": GOOD}
    claim.update(patch)
    return claim


def _many_lines(n):
    return [line("36415", 300, line_no=i + 1) for i in range(n)]


@pytest.mark.parametrize("patch, reason, field", [
    # received + 14 processing days is past year 9999: no paid date exists.
    (dict(received="9999-12-31"), "bad_date", "received"),
    (dict(lines=[line("99213", 10_000, units=10**12)]), "over_limit", "lines.0.units"),
    (dict(lines=[line("99213", 10_000, units=10_000)]), "over_limit", "lines.0.units"),
    (dict(lines=[line("99213", 10**15)]), "over_limit", "lines.0.billed"),
    (dict(lines=[line("99213", 1_000_000_001)]), "over_limit", "lines.0.billed"),
    (dict(lines=_many_lines(10_000)), "too_many_lines", "lines"),
    (dict(lines=_many_lines(51)), "too_many_lines", "lines"),
    (dict(lines=[{**line("99213", 10_000), "diagnoses": ["E11" + "9" * 100_000]}]),
     "field_too_long", "lines.0.diagnoses.0"),
    (dict(lines=[{**line("99213", 10_000), "diagnoses": ["I10"] * 13}]), "over_limit", "lines.0.diagnoses"),
    (dict(lines=[{**line("99213", 10_000), "diagnoses": "I10"}]), "malformed", "lines.0.diagnoses"),
    (dict(lines=[line("99213", 10_000, modifiers=("25", "59", "GT", "95", "76"))]),
     "over_limit", "lines.0.modifiers"),
    (dict(lines=[line("99213", 10_000, modifiers=("X" * 40,))]), "field_too_long", "lines.0.modifiers.0"),
    (dict(claim_id="C" * 65), "field_too_long", "claim_id"),
])
def test_claim_past_a_documented_limit_is_rejected_and_neighbours_are_paid(patch, reason, field):
    h = Harness()
    h.enroll("M1")
    before = only_line(h.claim("C0", "M1", GOOD))
    event = h.feed("claim.submitted", {"claim": _claim(**patch)}, key="M1", at="2025-03-10")
    assert event["type"] == "claim.rejected", event["data"]
    rej = ClaimRejected.model_validate(event["data"])
    assert (rej.reason.value, rej.field, rej.carc) == (reason, field, "16")
    assert len(rej.raw) <= h.ctx.settings.raw_limit  # the ledger line stays small
    after = only_line(h.claim("C2", "M1", [line("99214", 15_000)]))
    # $500 deductible: C0 took $100 of it, C2 the whole $150 (the rejected claim took nothing).
    assert (before["deductible"], after["deductible"]) == (10_000, 15_000)


def test_values_at_the_limits_are_adjudicated():
    """Exactly at each limit is accepted: 50 lines, 9,999 units, $10,000,000.00 billed,
    64-character ids, 4 two-character modifiers, 12 eight-character diagnoses."""
    h = Harness()
    h.enroll("M1")
    lines = _many_lines(LIMITS.lines - 1) + [
        {**line("99213", LIMITS.billed, units=LIMITS.units, line_no=LIMITS.lines,
                modifiers=("25",) * LIMITS.modifiers), "diagnoses": ["E11.6521"] * LIMITS.diagnoses}]
    event = h.claim("C" * LIMITS.id_chars, "M1", lines)
    assert event["type"] == "claim.adjudicated", event["data"]
    assert len(event["data"]["lines"]) == 50
    assert (LIMITS.lines, LIMITS.units, LIMITS.billed, LIMITS.id_chars) == (50, 9_999, 1_000_000_000, 64)


def test_year_9999_claim_is_rejected_and_the_family_keeps_being_paid():
    """The claim that crashed every run: received 9999-12-31 gives no paid date. It is a
    rejection naming `received`; the same member's next claim is adjudicated normally."""
    h = Harness()
    h.enroll("M1")
    rej = h.claim("Y9999", "M1", GOOD, received="9999-12-31")
    assert rej["type"] == "claim.rejected"
    assert (rej["data"]["reason"], rej["data"]["field"]) == ("bad_date", "received")
    assert "9999-12-31" in rej["data"]["message"]
    assert only_line(h.claim("C1", "M1", GOOD))["deductible"] == 10_000


@given(dx=st.one_of(st.none(), st.text(max_size=3),
                    st.lists(st.one_of(st.text(max_size=10), st.integers()), max_size=14)))
@settings(max_examples=200, deadline=None)
def test_the_inline_diagnoses_check_agrees_with_its_rule(dx):
    """validate_claim's hot loop inlines `_diagnoses_ok`: a claim is accepted exactly when the
    rule accepts its diagnoses (the slow path names the field otherwise)."""
    h = Harness()
    ln = {**line("99213", 10_000), "diagnoses": dx}
    try:
        validate_claim(_claim(lines=[ln]), "M1", h.ctx)
        accepted = True
    except Invalid as bad:
        accepted = False
        assert bad.field.startswith("lines.0.diagnoses")
    assert accepted == (dx is None or _diagnoses_ok(dx))
