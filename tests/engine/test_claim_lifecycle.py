"""DOMAIN.md §3 steps 2-4: voids and replacements (reversals as negated lines), eligibility
(CARC 27/31), timely filing (29), duplicates (OA-18), and idempotent redelivery."""

from __future__ import annotations



from ..fixtures.adjudication import (
    Harness, adjustment_codes, line, only_line, parts, reference,
)
from claimsim.adjudication.engine.core import adjudicate
from claimsim.adjudication.engine.family import FamilyState
from claimsim.events.encoding import canonical


def test_void_restores_accumulators_and_negates_every_amount():
    """C1: 99214 $150 -> d 15000, P 0. Void (8) of C1: claim.reversed with the line negated
    (allowed -15000, deductible -15000), accumulators back to 0. A later 99213 ($100) takes
    the deductible again from zero: d = 10000."""
    h = Harness()
    h.enroll("M1")
    orig = only_line(h.claim("C1", "M1", [line("99214", 18_000)]))
    void = h.claim("V1", "M1", [], frequency="8", original="C1", received="2025-03-20")
    assert void["type"] == "claim.reversed"
    (rev,) = void["data"]["reversed_lines"]
    for amount in ("billed", "allowed", "plan_paid", "cost_share", "deductible"):
        assert rev[amount] == -orig[amount]
    assert adjustment_codes(rev) == [("CO", "45", -3_000), ("PR", "1", -15_000)]
    assert void["data"]["reversed_claim_id"] == "C1"
    assert void["at"] == "2025-04-03"  # received 03-20 + 14 processing days
    assert h.accumulators("M1")["members"]["M1"] == {"deductible": 0, "oop": 0}
    again = only_line(h.claim("C2", "M1", [line("99213", 10_000)]))
    assert again["deductible"] == 10_000


def test_replacement_reverses_the_original_and_is_not_a_duplicate():
    """C1: 99213 billed $100 -> d 10000. Replacement (7) of C1 with the same line billed $90:
    reversed_lines negate C1 (d -10000); the new line is adjudicated afresh (allowed 9000,
    d 9000) instead of OA-18; the deductible met is 9000."""
    h = Harness()
    h.enroll("M1")
    h.claim("C1", "M1", [line("99213", 10_000)])
    ev = h.claim("C1R", "M1", [line("99213", 9_000)], frequency="7", original="C1",
                 received="2025-03-25")
    assert ev["type"] == "claim.adjudicated"
    (rev,) = ev["data"]["reversed_lines"]
    (new,) = ev["data"]["lines"]
    assert (rev["allowed"], rev["deductible"]) == (-10_000, -10_000)
    assert (new["status"], new["allowed"], new["deductible"]) == ("paid", 9_000, 9_000)
    assert ev["data"]["reversed_claim_id"] == "C1"
    assert h.accumulators("M1")["members"]["M1"]["deductible"] == 9_000
    # A void naming the original reverses the replacement, the version in force.
    void = h.claim("V1", "M1", [], frequency="8", original="C1", received="2025-04-01")
    assert void["data"]["reversed_claim_id"] == "C1R"
    assert void["data"]["reversed_lines"][0]["allowed"] == -9_000
    assert h.accumulators("M1")["members"]["M1"]["deductible"] == 0


def test_duplicate_line_is_denied_oa_18_and_changes_no_accumulator():
    """C2 repeats C1's line (same member, NPI, day, code, modifiers, units): OA-18 for the
    billed $100, allowed 0; deductible stays at C1's 10000."""
    h = Harness()
    h.enroll("M1")
    h.claim("C1", "M1", [line("99213", 10_000)])
    dup = only_line(h.claim("C2", "M1", [line("99213", 10_000)]))
    assert (dup["status"], dup["allowed"], adjustment_codes(dup)) == ("denied", 0, [("OA", "18", 10_000)])
    assert h.accumulators("M1")["members"]["M1"]["deductible"] == 10_000
    # A different modifier is a different line, not a duplicate.
    mod = only_line(h.claim("C3", "M1", [line("99213", 10_000, modifiers=("25",))]))
    assert mod["status"] == "paid"


def test_zero_dollar_encounter_lines_count_as_duplicates():
    """A $0 encounter line is a line in force: its repeat is OA-18 too."""
    h = Harness()
    h.enroll("M1")
    first = only_line(h.claim("C1", "M1", [line("99213", 0)]))
    assert parts(first) == (0, 0, 0, 0, 0)
    assert only_line(h.claim("C2", "M1", [line("99213", 0)]))["adjustments"] == [
        {"group": "OA", "carc": "18", "amount": 0}]


def test_terminated_coverage_denies_carc_27_and_never_covered_denies_31():
    """Coverage ends 2025-02-28: a 2025-03-01 line is CO-27; a 2024-12-15 line (before the
    start) is CO-31; a February line on the same claim is paid."""
    h = Harness(reference(fee_years=(2024, 2025, 2026)))
    h.enroll("M1")
    h.terminate("M1", "2025-02-28")
    ev = h.claim("C1", "M1", [line("99213", 10_000, day="2025-03-01"),
                              line("99214", 15_000, day="2024-12-15", line_no=2),
                              line("36415", 300, day="2025-02-10", line_no=3)])
    after, before, during = ev["data"]["lines"]
    assert adjustment_codes(after) == [("CO", "27", 10_000)]
    assert adjustment_codes(before) == [("CO", "31", 15_000)]
    assert during["status"] == "paid" and during["deductible"] == 300


def test_claim_filed_after_the_payers_limit_is_denied_carc_29():
    """Filing limit 365 days: service 2025-03-01, received 2026-03-02 (366 days) -> CO-29;
    received 2026-03-01 (365 days) is in time."""
    h = Harness()
    h.enroll("M1")
    late = only_line(h.claim("C1", "M1", [line("99213", 10_000)], received="2026-03-02"))
    assert adjustment_codes(late) == [("CO", "29", 10_000)]
    ok = only_line(h.claim("C2", "M1", [line("99213", 10_000)], received="2026-03-01"))
    assert ok["status"] == "paid"


def test_redelivered_input_re_emits_its_result_byte_identically_and_changes_nothing():
    """Apply a family's inputs, then feed each again: the same ledger bytes, the same state."""
    h = Harness()
    h.enroll("M1")
    h.claim("C1", "M1", [line("99213", 10_000)])
    h.claim("C1R", "M1", [line("99213", 9_000)], frequency="7", original="C1")
    h.claim("BAD", "M1", [line("99213", -5)])
    h.claim("V1", "M1", [], frequency="8", original="C1")
    state = h.families["M1"]
    before = state.to_bytes()
    for env, first in zip(h.inputs, h.ledger):
        again, same = adjudicate(env, state, h.ctx)
        assert same is state
        assert canonical(again) == canonical(first)
    assert state.to_bytes() == before


def test_family_state_round_trips_through_plain_json():
    h = Harness()
    h.enroll("A", subscriber="FAM")
    h.enroll("B", subscriber="FAM")
    h.claim("C1", "A", [line("99213", 10_000)], subscriber="FAM")
    state = h.families["FAM"]
    import orjson

    copy = FamilyState.from_dict(orjson.loads(state.to_bytes()))
    assert copy.to_bytes() == state.to_bytes()
    assert copy == state
    # The copy adjudicates the next input exactly as the original does.
    env = {"seq": 99, "type": "claim.submitted", "v": 1, "at": "2025-03-10", "key": "FAM", "cause": None,
           "data": {"claim": {**h.inputs[-1]["data"]["claim"], "claim_id": "C2",
                              "lines": [line("99214", 15_000)]}}}
    a, _ = adjudicate(env, state, h.ctx)
    b, _ = adjudicate(env, copy, h.ctx)
    assert canonical(a) == canonical(b)


def test_a_claim_s_header_carries_its_frequency_and_original_as_submitted():
    """A version's header starts as an original's (frequency "1", no original claim id) and takes
    the claim's own: a replacement's, and an original that names an original claim id anyway
    (the dict reading accepts one), carry theirs into the ledger entry and the stored result."""
    h = Harness()
    h.enroll("M1")
    first = h.claim("C1", "M1", [line("99213", 12_000)], original="X9")
    assert (first["data"]["frequency"], first["data"]["original_claim_id"]) == ("1", "X9")
    second = h.claim("C2", "M1", [line("99214", 18_000)])
    assert (second["data"]["frequency"], second["data"]["original_claim_id"]) == ("1", None)
    replaced = h.claim("R1", "M1", [line("99213", 12_000)], frequency="7", original="C1",
                       received="2025-03-20")
    assert (replaced["data"]["frequency"], replaced["data"]["original_claim_id"]) == ("7", "C1")
    family = h.families["M1"]
    for event in (first, second, replaced):
        kept = adjudicate(h.inputs[event["cause"]], family, h.ctx)[0]
        assert canonical(kept) == canonical(event)  # re-emitted from the stored record


def test_each_ledger_entry_is_a_dict_of_its_own():
    """Entries are copies of their type's envelope (`core._event`): a runtime that adds to one
    (the writer's `seq`) changes no other, and each carries its own at, cause, data and key."""
    h = Harness()
    h.enroll("M1")
    h.enroll("M2")
    first = h.claim("C1", "M1", [line("99213", 12_000)])
    first["seq"] = 99
    second = h.claim("C2", "M2", [line("99213", 12_000)], received="2025-03-11")
    assert "seq" not in second and first is not second
    assert (second["type"], second["v"], second["key"], second["cause"]) == (
        "claim.adjudicated", first["v"], "M2", first["cause"] + 1)
    assert second["data"]["claim_id"] == "C2" and second["at"] != first["at"]
