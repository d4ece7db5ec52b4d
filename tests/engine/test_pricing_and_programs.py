"""DOMAIN.md §3 steps 5-6 and §4 worked examples: pricing (CO-45), hybrid capitation under both
cost-share bases, PCF's flat visit fee, MCP Track 3 shadow lines, attribution and practice status,
CPC+ CCM denial, sequestration. Plans with no deductible keep the arithmetic to one step."""

from __future__ import annotations



from ..fixtures.adjudication import (
    PART_B, Harness, adjustment_codes, contract, line, only_line, parts, plan, reference,
)
from claimsim.adjudication.engine.context import Settings
from claimsim.events.programs import CostShareBasis, ProgramKind

NO_DEDUCTIBLE = dict(deductible_individual=0, deductible_family=0)


def _harness(kind: ProgramKind, attributed_to: str | None = "PCP1", **program) -> Harness:
    h = Harness(reference([plan(**NO_DEDUCTIBLE)], [contract(kind, **program)]))
    h.enroll("M1")
    h.attribute("M1", attributed_to)
    return h


def test_price_is_the_lesser_of_billed_and_schedule_times_units():
    """36415 at $3.00 x 3 units billed $12.00: allowed 900, CO-45 300; billed below the
    schedule ($2.00 for 1 unit) is allowed as billed."""
    h = Harness(reference([plan(**NO_DEDUCTIBLE, coinsurance_bp=0)]))
    h.enroll("M1")
    ln = only_line(h.claim("C1", "M1", [line("36415", 1_200, units=3)]))
    assert (ln["allowed"], adjustment_codes(ln)) == (900, [("CO", "45", 300)])
    low = only_line(h.claim("C2", "M1", [line("36415", 200, day="2025-03-02")]))
    assert (low["allowed"], low["adjustments"]) == (200, [])


def test_cpc_plus_track_2_at_40_percent_with_cost_share_basis_full():
    """99213 billed $99.99, 20 %: C = 20 % x 9999 = 1999.8 -> 2000;
    O = 40 % x (9999 - 2000) = 3199.6 -> 3200 (CO-24); P = 9999 - 2000 - 3200 = 4799."""
    h = _harness(ProgramKind.CPCP_T2)
    ln = only_line(h.claim("C1", "M1", [line("99213", 9_999)]))
    assert parts(ln) == (9_999, 4_799, 2_000, 3_200, 0)
    assert (ln["program"], ln["attributed"], ln["capitated"], ln["status"]) == (
        "cpcplus_t2", True, True, "paid")
    assert ("CO", "24", 3_200) in adjustment_codes(ln)


def test_cpc_plus_track_2_at_40_percent_with_cost_share_basis_reduced():
    """Basis reduced: allowed' = 9999 - 40 % x 9999 (3999.6 -> 4000) = 5999;
    C = 20 % x 5999 = 1199.8 -> 1200; O = 9999 - 5999 = 4000; P = 5999 - 1200 = 4799.
    The member owes 800 less than under basis full."""
    h = _harness(ProgramKind.CPCP_T2, cost_share_basis=CostShareBasis.REDUCED)
    ln = only_line(h.claim("C1", "M1", [line("99213", 9_999)]))
    assert parts(ln) == (9_999, 4_799, 1_200, 4_000, 0)


def test_hybrid_offset_applies_only_to_capitated_services():
    """A lab line (36415 $3.00) at the CPC+ practice is not a capitated service: O = 0,
    C = 20 % x 300 = 60, P = 240."""
    h = _harness(ProgramKind.CPCP_T2)
    ln = only_line(h.claim("C1", "M1", [line("36415", 300)]))
    assert parts(ln) == (300, 240, 60, 0, 0)
    assert ln["capitated"] is False


def test_pcf_flat_visit_fee_with_coinsurance():
    """PCF flat visit fee $40.82. 99214 billed $150 (schedule $150): allowed = min(15000, 4082)
    = 4082, shadow_allowed 15000, CO-45 10918; C = 20 % x 4082 = 816.4 -> 816; O = 0;
    P = 3266."""
    h = _harness(ProgramKind.PCF)
    ln = only_line(h.claim("C1", "M1", [line("99214", 15_000)]))
    assert parts(ln) == (4_082, 3_266, 816, 0, 0)
    assert ln["shadow_allowed"] == 15_000
    assert adjustment_codes(ln) == [("CO", "45", 10_918), ("PR", "2", 816)]


def test_mcp_track_3_capitated_visit_is_a_shadow_line():
    """MCP Track 3 (h = 100 %), basis full: 99213 $100: C = 2000, O = 10000 - 2000 = 8000,
    P = 0, status shadow, shadow_allowed 10000. Under basis reduced: allowed' = 0, C = 0,
    O = 10000 = allowed. The lab line on the same claim is paid FFS (C 60, P 240)."""
    h = _harness(ProgramKind.MCP_T3)
    em, lab = h.claim("C1", "M1", [line("99213", 10_000), line("36415", 300, line_no=2)])["data"]["lines"]
    assert parts(em) == (10_000, 0, 2_000, 8_000, 0)
    assert (em["status"], em["shadow_allowed"]) == ("shadow", 10_000)
    assert parts(lab) == (300, 240, 60, 0, 0)
    r = _harness(ProgramKind.MCP_T3, cost_share_basis=CostShareBasis.REDUCED)
    em = only_line(r.claim("C1", "M1", [line("99213", 10_000)]))
    assert parts(em) == (10_000, 0, 0, 10_000, 0)
    assert em["status"] == "shadow"


def test_member_not_attributed_to_the_practice_is_plain_ffs():
    """Same CPC+ Track 2 contract, but the member is attributed to PCP2: 99213 $100 pays
    FFS: C = 2000, O = 0, P = 8000."""
    h = _harness(ProgramKind.CPCP_T2, attributed_to="PCP2")
    ln = only_line(h.claim("C1", "M1", [line("99213", 10_000)]))
    assert parts(ln) == (10_000, 8_000, 2_000, 0, 0)
    assert (ln["attributed"], ln["capitated"], ln["program"]) == (False, False, "cpcplus_t2")


def test_attribution_applies_from_its_effective_date():
    """Attributed to PCP1 from 2025-04-01: a March visit is FFS (O = 0); an April visit carries
    the 40 % offset (C 2000, O 3200, P 4800)."""
    h = _harness(ProgramKind.CPCP_T2, attributed_to=None)
    h.attribute("M1", "PCP1", effective="2025-04-01")
    march = only_line(h.claim("C1", "M1", [line("99213", 10_000, day="2025-03-31")],
                              received="2025-04-10"))
    april = only_line(h.claim("C2", "M1", [line("99213", 10_000, day="2025-04-01")],
                              received="2025-04-10"))
    assert march["cap_offset"] == 0
    assert parts(april) == (10_000, 4_800, 2_000, 3_200, 0)


def test_inactive_practice_is_treated_as_ffs_from_its_status_date():
    """practice.status inactive from 2025-02-01 (minimum volume): the attributed member's
    March 99213 is plain FFS (O = 0, program ffs)."""
    h = _harness(ProgramKind.CPCP_T2)
    h.practice_status("PCP1", active=False, effective="2025-02-01")
    ln = only_line(h.claim("C1", "M1", [line("99213", 10_000)]))
    assert parts(ln) == (10_000, 8_000, 2_000, 0, 0)
    assert ln["program"] == "ffs"
    assert h.ctx.program_active("COM", "PCP1", "2025-01-31") is True


def test_cpc_plus_ccm_line_is_denied_for_an_attributed_member():
    """99490 (CCM) billed $60 by the CPC+ practice for its attributed member: CO-96 with
    remark N20, allowed 0. For a member attributed elsewhere it is paid (C 1200, P 4800)."""
    h = _harness(ProgramKind.CPCP_T2)
    ln = only_line(h.claim("C1", "M1", [line("99490", 6_000)]))
    assert (ln["status"], ln["allowed"], ln["remarks"]) == ("denied", 0, ["N20"])
    assert adjustment_codes(ln) == [("CO", "96", 6_000)]
    h.enroll("M2")
    h.attribute("M2", "PCP2")
    other = only_line(h.claim("C2", "M2", [line("99490", 6_000)]))
    assert parts(other) == (6_000, 4_800, 1_200, 0, 0)


def test_cpc_plus_does_not_capitate_chronic_care_management():
    """CCM is not in CPC+'s capitated services (DOMAIN.md §3 step 5): 99491 (CCM, not among the
    three codes CPC+ denies) billed $82.20 for the attributed member is paid FFS in full:
    C = 20 % x 8220 = 1644, O = 0, P = 6576. TCM 99495 ($200) stays capitated:
    C = 4000, O = 40 % x 16000 = 6400, P = 9600. Under MCP Track 2, 99491 is capitated as before."""
    h = _harness(ProgramKind.CPCP_T2)
    ccm, tcm = (only_line(h.claim(f"C{code}", "M1", [line(code, amount)]))
                for code, amount in (("99491", 8_220), ("99495", 20_000)))
    assert (ccm["status"], ccm["capitated"]) == ("paid", False)
    assert parts(ccm) == (8_220, 6_576, 1_644, 0, 0)
    assert parts(tcm) == (20_000, 9_600, 4_000, 6_400, 0)
    mcp = _harness(ProgramKind.MCP_T2)
    assert only_line(mcp.claim("C1", "M1", [line("99491", 8_220)]))["capitated"] is True


def test_code_not_on_the_fee_schedule_is_not_covered():
    """99490 is a known code; a payer whose schedule lacks it denies the line CO-96, N130."""
    ref = reference([plan()])
    fs = ref.fee_schedules[0]
    amounts = {y: {c: a for c, a in t.items() if c != "99490"} for y, t in fs.amounts.items()}
    ref = ref.model_copy(update={"fee_schedules": (fs.model_copy(update={"amounts": amounts}),)})
    h = Harness(ref)
    h.enroll("M1")
    ln = only_line(h.claim("C1", "M1", [line("99490", 6_000)]))
    assert (ln["status"], ln["remarks"], adjustment_codes(ln)) == ("denied", ["N130"], [("CO", "96", 6_000)])


def test_sequestration_takes_2_percent_of_medicare_ffs_plan_paid():
    """Sequestration on: Part B AWV G0439 allowed 17000, cost share 0; S = 2 % x 17000 = 340
    (CO-253), P = 16660. Off (default): P = 17000."""
    h = Harness(reference([PART_B]), Settings(sequestration=True))
    h.enroll("M1", payer="MCR", plan_id="MCR-B")
    ln = only_line(h.claim("C1", "M1", [line("G0439", 17_000)], payer="MCR"))
    assert parts(ln) == (17_000, 16_660, 0, 0, 340)
    assert adjustment_codes(ln) == [("CO", "253", 340)]
    off = Harness(reference([PART_B]))
    off.enroll("M1", payer="MCR", plan_id="MCR-B")
    assert only_line(off.claim("C1", "M1", [line("G0439", 17_000)], payer="MCR"))["plan_paid"] == 17_000


def _medicare_with_sequestration(bp: int):
    ref = reference([PART_B])
    payers = tuple(p.model_copy(update={"sequestration_bp": bp}) if p.payer_id == "MCR" else p
                   for p in ref.payers)
    return ref.model_copy(update={"payers": payers})


def test_a_medicare_payers_own_sequestration_bp_turns_it_on_with_no_setting():
    """The payer's reference data is the one source of truth: MCR with sequestration_bp 200 and
    default settings takes 2 % of the G0439 plan paid (13007 -> S = 260, P = 12747)."""
    h = Harness(_medicare_with_sequestration(200))
    h.enroll("M1", payer="MCR", plan_id="MCR-B")
    ln = only_line(h.claim("C1", "M1", [line("G0439", 13_007)], payer="MCR"))
    assert parts(ln) == (13_007, 12_747, 0, 0, 260)
    assert adjustment_codes(ln) == [("CO", "253", 260)]


def test_an_explicit_setting_overrides_the_payers_sequestration_off():
    """`Settings(sequestration=False)` (the CLI's explicit override) turns off what the payer's
    data turns on."""
    h = Harness(_medicare_with_sequestration(200), Settings(sequestration=False))
    h.enroll("M1", payer="MCR", plan_id="MCR-B")
    ln = only_line(h.claim("C1", "M1", [line("G0439", 13_007)], payer="MCR"))
    assert parts(ln) == (13_007, 13_007, 0, 0, 0)


def test_sequestration_does_not_apply_to_commercial_payers():
    h = Harness(reference([plan(**NO_DEDUCTIBLE, coinsurance_bp=0)]), Settings(sequestration=True))
    h.enroll("M1")
    assert only_line(h.claim("C1", "M1", [line("99213", 10_000)]))["sequestration"] == 0
