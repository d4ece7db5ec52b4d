"""Inputs that are well formed but say something impossible: each is answered with a note that
says why it is ignored (so the projections pass it by too: `events.ignored`) and changes no
family; a rejection names over-long ids only as far as the limits reach; a missing field is
`missing_field`, not the reason a wrong value would get."""

from __future__ import annotations

import pytest

from ..fixtures.adjudication import Harness, line, only_line
from claimsim.events.ignored import is_ignored


def _alignment(h: Harness, practice: str):
    return h.feed("alignment.declared", {"member_id": "M1", "subscriber_id": "M1",
                                         "payer_id": "COM", "practice_id": practice,
                                         "effective": "2025-02-01"}, key="M1", at="2025-02-01")


def test_coverage_that_ends_before_it_starts_is_ignored_and_denies_nothing():
    h = Harness()
    h.enroll("M1")
    answer = h.enroll("M1", start="2025-06-01", end="2025-05-31")
    assert answer["data"]["note"] == (
        "ignored: coverage ends 2025-05-31, before it starts 2025-06-01")
    assert is_ignored(answer["data"])
    assert len(h.families["M1"].members["M1"]) == 1  # only the first span
    assert only_line(h.claim("C1", "M1", [line("99213", 10_000)]))["allowed"] == 10_000


def test_a_termination_before_any_coverage_with_the_payer_is_ignored():
    h = Harness()
    h.enroll("M1", start="2025-03-01")
    answer = h.terminate("M1", "2025-01-31")
    assert answer["data"]["note"] == ("ignored: member M1 has no coverage with COM by 2025-01-31")
    assert h.families["M1"].members["M1"][0][3] is None  # the span is still open
    assert h.terminate("M1", "2025-04-30")["data"]["note"] == ""  # a real one still cuts


def test_an_alignment_to_a_practice_not_in_the_reference_data_is_ignored():
    h = Harness()
    h.enroll("M1")
    assert _alignment(h, "NOPE")["data"]["note"] == (
        "ignored: practice NOPE is not in the reference data")
    assert _alignment(h, "PCP2")["data"]["note"] == ""


def test_a_rejection_names_an_over_long_id_only_up_to_the_limit():
    h = Harness()
    h.enroll("M1")
    answer = h.claim("X" * 1_000_000, "M1", [line("99213", 10_000)])
    assert answer["type"] == "claim.rejected"
    assert answer["data"]["reason"] == "field_too_long"
    assert answer["data"]["claim_id"] == "X" * 64
    assert len(answer["data"]["raw"]) <= h.ctx.settings.raw_limit


@pytest.mark.parametrize("drop, field", [("procedure", "lines.0.procedure"),
                                         ("service_date", "lines.0.service_date")])
def test_a_missing_line_field_is_missing_field(drop: str, field: str):
    h = Harness()
    h.enroll("M1")
    bad = line("99213", 10_000)
    del bad[drop]
    answer = h.claim("C1", "M1", [bad])
    assert (answer["data"]["reason"], answer["data"]["field"], answer["data"]["message"]) == (
        "missing_field", field, f"{field} is missing")


def test_a_missing_received_date_is_missing_field():
    h = Harness()
    h.enroll("M1")
    claim = {"claim_id": "C1", "frequency": "1", "original_claim_id": None, "member_id": "M1",
             "subscriber_id": "M1", "payer_id": "COM", "billing_tin": "PCP1",
             "rendering_npi": "N1", "place_of_service": "11", "lines": [line("99213", 10_000)]}
    answer = h.feed("claim.submitted", {"claim": claim}, key="M1", at="2025-03-10")
    assert (answer["data"]["reason"], answer["data"]["field"], answer["data"]["message"]) == (
        "missing_field", "received", "received is missing")
