"""Claim validation has a fast path (one pass that accepts well-formed claims and hands anything
else on) and a slow path (walks the fields in order and names the first problem). They must agree:
for any claim, both accept it with the same parsed claim, or both reject it with the same reason
and field."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, find, given, settings, strategies as st

from ..fixtures.adjudication import Harness, line
from claimsim.adjudication.engine.validation import Invalid, _validate_slowly, validate_claim

CTX = Harness().ctx
KEY = "M1"

# Values a field may take in untrusted JSON: the right ones, near misses and wrong types.
JUNK = [None, True, False, 0, -1, 1, 3, 2.5, "", "x", [], {}, ["a"], {"a": 1}]
CLAIM_VALUES = {
    "claim_id": ["C1", "C2"],
    "frequency": ["1", "7", "8", "5", 7, 1],
    "original_claim_id": ["C0"],
    "member_id": ["M1", "M2"],
    "subscriber_id": ["M1", "M2"],
    "payer_id": ["COM", "MCR", "NOPE"],
    "billing_tin": ["PCP1", "PCP2", "XX"],
    "rendering_npi": ["N1", "N2", "N404"],
    "place_of_service": ["11", "20", "23", "99"],
    "received": ["2025-03-10", "2025-02-28", "2025/03/10", "20250310", "2025-02-30", "2025-W10-1"],
    "lines": [[]],
}
LINE_VALUES = {
    "line_no": [1, 2, 0, -3, "1", 1.0],
    "service_date": ["2025-03-01", "2025-03-10", "2025-03-11", "2025-02-30", "2025-3-1", "2024-12-31"],
    "procedure": ["99213", "36415", "99999", "", 99213],
    "modifiers": [[], ["25"], ["25", "59"], [25], "25"],
    "units": [1, 2, 0, -1, "1", 1.5],
    "billed": [0, 100, 10_000, -1, 10.5, "100"],
}


def _base() -> dict[str, Any]:
    return {"claim_id": "C1", "frequency": "1", "original_claim_id": None, "member_id": "M1",
            "subscriber_id": KEY, "payer_id": "COM", "billing_tin": "PCP1", "rendering_npi": "N1",
            "place_of_service": "11", "received": "2025-03-10",
            "lines": [line("99213", 10_000), line("36415", 300, line_no=2)]}


def _value(values: list[Any]) -> st.SearchStrategy[Any]:
    return st.sampled_from(values + JUNK)


@st.composite
def raw_claims(draw) -> Any:
    """A well-formed claim with a few fields changed, removed or given the wrong type."""
    if draw(st.integers(0, 30)) == 0:
        return draw(st.sampled_from(JUNK))  # not an object at all
    claim = _base()
    n_lines = draw(st.integers(0, 3))
    claim["lines"] = [line(draw(st.sampled_from(("99213", "99214", "36415"))), 1_000 * (i + 1),
                           line_no=i + 1) for i in range(n_lines)]
    for _ in range(draw(st.integers(0, 3))):
        lines = [ln for ln in claim.get("lines") or () if type(ln) is dict] if type(
            claim.get("lines")) is list else []
        if lines and draw(st.booleans()):
            target = lines[draw(st.integers(0, len(lines) - 1))]
            name = draw(st.sampled_from(sorted(LINE_VALUES)))
            values = LINE_VALUES[name]
        else:
            target = claim
            name = draw(st.sampled_from(sorted(CLAIM_VALUES)))
            values = CLAIM_VALUES[name]
        if draw(st.integers(0, 4)) == 0:
            target.pop(name, None)
        else:
            target[name] = draw(_value(values))
    return claim


def _outcome(validate, raw: Any) -> tuple[str, Any]:
    try:
        return "accepted", validate(copy.deepcopy(raw), KEY, CTX)
    except Invalid as bad:
        return "rejected", (bad.reason, bad.field)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_claims())
def test_fast_and_slow_claim_validators_accept_and_reject_the_same_claims(raw):
    assert _outcome(validate_claim, raw) == _outcome(_validate_slowly, raw)


def test_the_claim_generator_makes_claims_each_way():
    """The property above compares both verdicts: the generator reaches both."""
    ok = find(raw_claims(), lambda raw: _outcome(_validate_slowly, raw)[0] == "accepted")
    assert _outcome(validate_claim, ok)[1].lines == _outcome(_validate_slowly, ok)[1].lines
    # (An accepted claim's outcome holds a `Claim`, which is no tuple: look at rejections alone.)
    bad = find(raw_claims(), lambda raw: _outcome(_validate_slowly, raw)[0] == "rejected"
               and _outcome(_validate_slowly, raw)[1][1] == "lines.0.units")
    assert _outcome(validate_claim, bad)[1][1] == "lines.0.units"
