"""Bad input: a malformed or inconsistent claim becomes a typed rejection with its
reason, CARC, the dotted field and the raw claim (truncated), and the claims around it are
adjudicated as if it were not there."""

from __future__ import annotations


import pytest


from ..fixtures.adjudication import Harness, line, only_line, reference
from claimsim.adjudication.engine.context import Settings
from claimsim.events.ledger import ClaimRejected

GOOD = [line("99213", 10_000)]


def _rejected(ev):
    assert ev["type"] == "claim.rejected", ev
    return ClaimRejected.model_validate(ev["data"])


@pytest.mark.parametrize("patch, reason, field, carc", [
    (dict(lines=[line("99999", 100)]), "unknown_code", "lines.0.procedure", "181"),
    (dict(lines=[line("99213", 100), line("36415", -1, line_no=2)]), "negative_amount", "lines.1.billed", "16"),
    (dict(lines=[line("99213", 100, units=0)]), "bad_units", "lines.0.units", "16"),
    (dict(lines=[line("99213", 100, day="2025-03-11")]), "date_after_received", "lines.0.service_date", "16"),
    (dict(lines=[line("99213", 100, day="2025-02-30")]), "bad_date", "lines.0.service_date", "16"),
    (dict(member_id=None), "missing_field", "member_id", "16"),
    (dict(member_id="STRANGER"), "unknown_member", "member_id", "31"),
    (dict(frequency="8", original_claim_id="NOPE"), "unknown_original", "original_claim_id", "16"),
    (dict(frequency="7", original_claim_id=None), "missing_field", "original_claim_id", "16"),
    (dict(frequency="5"), "bad_frequency", "frequency", "16"),
    (dict(frequency=["1"]), "bad_frequency", "frequency", "16"),  # found by the fuzz suite
    (dict(subscriber_id="SOMEONE-ELSE"), "subscriber_mismatch", "subscriber_id", "16"),
    (dict(billing_tin="XX"), "unknown_provider", "billing_tin", "16"),
    (dict(rendering_npi="N404"), "unknown_provider", "rendering_npi", "16"),
    (dict(lines=[]), "missing_field", "lines", "16"),
    (dict(lines=[line("99213", 10.5)]), "malformed", "lines.0.billed", "16"),
    (dict(received="2025/03/10"), "bad_date", "received", "16"),
    (dict(lines=[line("99213", 100, day="2027-03-01")], received="2027-03-05"),
     "unsupported_year", "lines.0.service_date", "16"),
])
def test_bad_claim_is_a_typed_rejection_and_neighbours_are_adjudicated(patch, reason, field, carc):
    h = Harness()
    h.enroll("M1")
    before = only_line(h.claim("C0", "M1", GOOD))
    claim = {"claim_id": "BAD", "frequency": "1", "original_claim_id": None, "member_id": "M1",
             "subscriber_id": "M1", "payer_id": "COM", "billing_tin": "PCP1", "rendering_npi": "N1",
             "place_of_service": "11", "received": "2025-03-10", "lines": GOOD}
    claim.update(patch)
    rej = _rejected(h.feed("claim.submitted", {"claim": claim}, key="M1"))
    assert (rej.reason.value, rej.field, rej.carc) == (reason, field, carc)
    assert rej.claim_id == "BAD" and rej.raw.startswith('{"billing_tin":')
    state = h.families["M1"].to_bytes()
    after = only_line(h.claim("C2", "M1", [line("99214", 15_000)]))
    assert before["deductible"] == 10_000 and after["deductible"] == 15_000
    assert b"BAD" in state  # the rejection is stored for redelivery ...
    assert h.families["M1"].root_of("BAD") is None  # ... but the claim itself changed nothing


def test_claim_that_is_not_an_object_is_rejected_malformed_with_its_raw_payload():
    h = Harness()
    rej = _rejected(h.feed("claim.submitted", {"claim": ["not", "a", "claim"]}, key="M1"))
    assert (rej.reason.value, rej.field, rej.raw) == ("malformed", "claim", '["not","a","claim"]')
    rej = _rejected(h.feed("claim.submitted", {"something": 1}, key="M1"))
    assert rej.reason.value == "malformed"


def test_raw_payload_is_truncated_to_the_setting():
    h = Harness(settings=Settings(raw_limit=40))
    h.enroll("M1")
    rej = _rejected(h.claim("C1", "M1", [line("99213", 100, units=0)] * 1))
    assert len(rej.raw) == 40


def test_original_reusing_an_adjudicated_claim_id_is_rejected():
    h = Harness()
    h.enroll("M1")
    h.claim("C1", "M1", GOOD)
    rej = _rejected(h.claim("C1", "M1", [line("99214", 15_000)]))
    assert (rej.reason.value, rej.carc) == ("duplicate_claim_id", "18")


def test_void_or_replacement_of_a_voided_claim_is_rejected():
    h = Harness()
    h.enroll("M1")
    h.claim("C1", "M1", GOOD)
    h.claim("V1", "M1", [], frequency="8", original="C1")
    rej = _rejected(h.claim("R1", "M1", GOOD, frequency="7", original="C1"))
    assert rej.reason.value == "unknown_original" and "voided" in rej.message


def test_replacement_under_another_subscriber_finds_no_original():
    """The original is in M1's family; a 7 sent under M2 cannot see it."""
    h = Harness()
    h.enroll("M1")
    h.enroll("M2")
    h.claim("C1", "M1", GOOD)
    rej = _rejected(h.claim("R1", "M2", GOOD, frequency="7", original="C1"))
    assert (rej.reason.value, rej.field) == ("unknown_original", "original_claim_id")


def test_malformed_enrollment_is_recorded_as_no_effect_and_enrolls_nobody():
    h = Harness()
    ev = h.feed("member.enrolled", {"member_id": "M1", "subscriber_id": "M1"}, key="M1")
    assert ev["type"] == "no_effect" and ev["data"]["note"].startswith("ignored: malformed enrollment")
    unknown_plan = h.enroll("M2", plan_id="NOPE")
    assert "ignored" in unknown_plan["data"]["note"]
    assert _rejected(h.claim("C1", "M2", GOOD)).reason.value == "unknown_member"


def test_other_inputs_are_answered_with_no_effect():
    h = Harness(reference())
    ev = h.feed("alignment.declared", {"member_id": "M1", "subscriber_id": "M1", "payer_id": "COM",
                                       "practice_id": "PCP1", "effective": "2025-01-01"}, key="M1")
    assert (ev["type"], ev["cause"], ev["data"]["input_type"]) == ("no_effect", 0, "alignment.declared")


def test_program_without_figures_for_the_year_rejects_the_claim_and_changes_nothing():
    """A PCF contract whose figures stop at 2025: an attributed member's 2026 E&M line cannot be
    priced at a flat fee, so the claim is rejected (unsupported_year) before anything applies,
    even though its first line (2025) was fine."""
    from claimsim.events.programs import PCF_FIGURES, ProgramKind

    from ..fixtures.adjudication import contract, plan

    ref = reference([plan()], [contract(ProgramKind.PCF, figures={2025: PCF_FIGURES})])
    h = Harness(ref)
    h.enroll("M1")
    h.attribute("M1", "PCP1")
    before = h.families["M1"].to_bytes()
    rej = _rejected(h.claim("C1", "M1", [line("99213", 10_000, day="2025-12-30"),
                                         line("99214", 15_000, day="2026-01-02", line_no=2)],
                            received="2026-01-10"))
    assert (rej.reason.value, rej.field) == ("unsupported_year", "lines.1.service_date")
    assert "flat visit fee" in rej.message
    state = h.families["M1"]
    assert state.acc == {} and state.paid == {} and state.to_dict()["claims"] == {}
    assert state.to_bytes() != before  # only the stored rejection and last seq moved
