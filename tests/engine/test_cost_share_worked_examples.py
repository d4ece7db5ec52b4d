"""DOMAIN.md §5 worked examples: deductible, copays, coinsurance, family and embedded limits,
OOP maximum, preventive and Part B $0 services, QMB. Plans and fees are in adjudication_fixtures
(default plan: $500/$1,000 deductible, 20 % coinsurance, OOP $2,000/$4,000, embedded)."""

from __future__ import annotations

from ..fixtures.adjudication import (
    PART_B, PCP_COPAY, Harness, adjustment_codes, line, only_line, parts, plan, reference,
)


def test_ffs_line_across_the_deductible_boundary():
    """$450 of the $500 deductible met; a 99214 allowed $150.00:
    d = min(15000, 50000 - 45000) = 5000; coinsurance = 20 % x (15000 - 5000) = 2000;
    plan paid = 15000 - 7000 = 8000."""
    h = Harness()
    h.enroll("M1")
    first = only_line(h.claim("C1", "M1", [line("71046", 45_000, units=9)]))
    assert (first["allowed"], first["deductible"], first["plan_paid"]) == (45_000, 45_000, 0)
    ln = only_line(h.claim("C2", "M1", [line("99214", 15_000)]))
    assert (ln["deductible"], ln["coinsurance"], ln["copay"]) == (5_000, 2_000, 0)
    assert parts(ln) == (15_000, 8_000, 7_000, 0, 0)
    assert adjustment_codes(ln) == [("PR", "1", 5_000), ("PR", "2", 2_000)]
    acc = h.accumulators("M1")
    assert acc["members"]["M1"] == {"deductible": 50_000, "oop": 52_000}


def test_opening_balances_loaded_before_go_live_count_like_claims_adjudicated_here():
    """The same $450 of the $500 deductible as above, but met before go-live and loaded with
    `FamilyState.set_opening_balances`: the 99214 allowed $150.00 then owes d = 5000 and
    coinsurance 20 % x 10000 = 2000, exactly as when a claim here had met the $450."""
    h = Harness()
    h.enroll("M1")
    h.families["M1"].set_opening_balances("COM", 2025, family_deductible=45_000, family_oop=45_000,
                                          members={"M1": (45_000, 45_000)})
    ln = only_line(h.claim("C2", "M1", [line("99214", 15_000)]))
    assert (ln["deductible"], ln["coinsurance"], ln["plan_paid"]) == (5_000, 2_000, 8_000)
    assert h.accumulators("M1")["members"]["M1"] == {"deductible": 50_000, "oop": 52_000}


def test_one_copay_per_visit_on_a_three_line_visit():
    """PCP copay $25. Visit: 99213 billed $100, 36415 billed $3, 80053 billed $10, same day.
    The E&M line carries the copay (2500, plan pays 7500); the other two follow the deductible
    (300 and 1000, plan pays 0). A second E&M claim for the same visit pays no second copay: it
    follows the deductible (99214 $150: d = 15000)."""
    h = Harness(reference([plan(copays=PCP_COPAY)]))
    h.enroll("M1")
    ev = h.claim("C1", "M1", [line("99213", 10_000), line("36415", 300, line_no=2),
                              line("80053", 1_000, line_no=3)])
    l1, l2, l3 = ev["data"]["lines"]
    assert (l1["copay"], l1["deductible"], l1["plan_paid"]) == (2_500, 0, 7_500)
    assert adjustment_codes(l1) == [("PR", "3", 2_500)]
    assert (l2["copay"], l2["deductible"], l2["plan_paid"]) == (0, 300, 0)
    assert (l3["copay"], l3["deductible"], l3["plan_paid"]) == (0, 1_000, 0)
    again = only_line(h.claim("C2", "M1", [line("99214", 15_000)]))
    assert (again["copay"], again["deductible"]) == (0, 15_000)
    # Copays count to the OOP maximum but not to the deductible.
    assert h.accumulators("M1")["members"]["M1"] == {"deductible": 16_300, "oop": 18_800}


def test_copay_is_capped_at_the_lines_allowed():
    """PCP copay $25 on a 99213 billed $20.00: allowed = min(2000, 10000) = 2000, so the
    copay is min(2500, 2000) = 2000 and the plan pays 0."""
    h = Harness(reference([plan(copays=PCP_COPAY)]))
    h.enroll("M1")
    ln = only_line(h.claim("C1", "M1", [line("99213", 2_000)]))
    assert (ln["allowed"], ln["copay"], ln["plan_paid"]) == (2_000, 2_000, 0)


def test_coinsurance_after_deductible_rounds_half_up():
    """Deductible met ($500 of 71046 x 10). Coinsurance 25 % on a 99214 billed $123.42:
    allowed 12342; 25 % = 3085.5 -> 3086 (half up); plan paid 12342 - 3086 = 9256."""
    h = Harness(reference([plan(coinsurance_bp=2500)]))
    h.enroll("M1")
    h.claim("C1", "M1", [line("71046", 50_000, units=10)])
    ln = only_line(h.claim("C2", "M1", [line("99214", 12_342)]))
    assert (ln["deductible"], ln["coinsurance"], ln["plan_paid"]) == (0, 3_086, 9_256)


def test_family_deductible_met_by_two_members_stops_deductible_for_third():
    """Family deductible $1,000 (individual $500). A and B each meet $500 with 71046 x 10;
    the family's $1,000 is then met, so C's 99214 ($150) has d = 0, coinsurance 3000,
    plan paid 12000."""
    h = Harness()
    for m in ("A", "B", "C"):
        h.enroll(m, subscriber="FAM")
    for cid, m in (("C1", "A"), ("C2", "B")):
        ln = only_line(h.claim(cid, m, [line("71046", 50_000, units=10)], subscriber="FAM"))
        assert ln["deductible"] == 50_000
    ln = only_line(h.claim("C3", "C", [line("99214", 15_000)], subscriber="FAM"))
    assert (ln["deductible"], ln["coinsurance"], ln["plan_paid"]) == (0, 3_000, 12_000)
    acc = h.accumulators("FAM")
    assert acc["family_deductible"] == 100_000
    assert acc["members"]["C"] == {"deductible": 0, "oop": 3_000}


def test_embedded_individual_oop_inside_a_family_plan():
    """Coinsurance 50 %, OOP $2,000 individual / $4,000 family, embedded.
    A: 71046 x 100 = $5,000 allowed: d = 50000; coinsurance 50 % x 450000 = 225000, capped at
    the OOP left 200000 - 50000 = 150000; A's OOP is met (200000), family OOP 200000 < 400000.
    A's next 99214 ($150): cost share 0, plan pays 15000. B's 99214 still owes its deductible:
    d = min(15000, 50000, 100000 - 50000) = 15000, plan pays 0."""
    h = Harness(reference([plan(coinsurance_bp=5000)]))
    h.enroll("A", subscriber="FAM")
    h.enroll("B", subscriber="FAM")
    big = only_line(h.claim("C1", "A", [line("71046", 500_000, units=100)], subscriber="FAM"))
    assert (big["deductible"], big["coinsurance"], big["plan_paid"]) == (50_000, 150_000, 300_000)
    a2 = only_line(h.claim("C2", "A", [line("99214", 15_000)], subscriber="FAM"))
    assert (a2["cost_share"], a2["plan_paid"]) == (0, 15_000)
    b1 = only_line(h.claim("C3", "B", [line("99214", 15_000)], subscriber="FAM"))
    assert (b1["deductible"], b1["coinsurance"], b1["plan_paid"]) == (15_000, 0, 0)
    acc = h.accumulators("FAM")
    assert acc["members"]["A"]["oop"] == 200_000
    assert acc["family_oop"] == 215_000


def test_oop_maximum_reached_mid_line_caps_the_cost_share():
    """OOP $2,000. 71046 x 100 ($5,000): d 50000 + 20 % x 450000 = 90000 -> OOP 140000.
    71046 x 40 ($2,000): coinsurance 40000 -> OOP 180000.
    71046 x 30 ($1,500): coinsurance would be 30000 but only 20000 is left: C = 20000,
    plan paid 130000. After that cost share is 0."""
    h = Harness()
    h.enroll("M1")
    h.claim("C1", "M1", [line("71046", 500_000, units=100)])
    h.claim("C2", "M1", [line("71046", 200_000, units=40)])
    ln = only_line(h.claim("C3", "M1", [line("71046", 150_000, units=30)]))
    assert (ln["coinsurance"], ln["cost_share"], ln["plan_paid"]) == (20_000, 20_000, 130_000)
    after = only_line(h.claim("C4", "M1", [line("99214", 15_000)]))
    assert (after["cost_share"], after["plan_paid"]) == (0, 15_000)
    assert h.accumulators("M1")["members"]["M1"]["oop"] == 200_000


def test_preventive_visit_costs_the_member_nothing():
    """99396 billed $250: allowed 20000 (CO-45 5000), cost share 0, plan pays 20000; nothing
    counts to the deductible."""
    h = Harness()
    h.enroll("M1")
    ln = only_line(h.claim("C1", "M1", [line("99396", 25_000)]))
    assert parts(ln) == (20_000, 20_000, 0, 0, 0)
    assert adjustment_codes(ln) == [("CO", "45", 5_000)]
    assert h.accumulators("M1")["members"] == {}


def test_part_b_awv_is_free_and_routine_physical_is_not_covered():
    """Part B 2025: deductible $257, 20 %. G0439 billed $200: allowed 17000, member $0, plan
    pays 17000. A 99213 ($100) then goes to the deductible: d = 10000, plan pays 0. A routine
    physical 99396 is not covered: CO-96 with remark N130, allowed 0."""
    h = Harness(reference([PART_B]))
    h.enroll("M1", payer="MCR", plan_id="MCR-B")
    awv = only_line(h.claim("C1", "M1", [line("G0439", 20_000)], payer="MCR"))
    assert parts(awv) == (17_000, 17_000, 0, 0, 0)
    em = only_line(h.claim("C2", "M1", [line("99213", 10_000)], payer="MCR"))
    assert (em["deductible"], em["plan_paid"]) == (10_000, 0)
    phys = only_line(h.claim("C3", "M1", [line("99396", 25_000)], payer="MCR"))
    assert (phys["status"], phys["allowed"], phys["remarks"]) == ("denied", 0, ["N130"])
    assert adjustment_codes(phys) == [("CO", "96", 25_000)]


def test_part_b_deductible_differs_by_plan_year():
    """Part B deductible $257 in 2025 and $283 in 2026: a 71046 x 10 ($500) in 2026 has
    d = 28300, coinsurance 20 % x 21700 = 4340, plan paid 17360."""
    h = Harness(reference([PART_B]))
    h.enroll("M1", payer="MCR", plan_id="MCR-B")
    ln = only_line(h.claim("C1", "M1", [line("71046", 50_000, units=10, day="2026-02-01")],
                           payer="MCR", received="2026-02-10"))
    assert (ln["deductible"], ln["coinsurance"], ln["plan_paid"]) == (28_300, 4_340, 17_360)


def test_qmb_member_owes_nothing_and_the_cost_share_moves_to_medicaid():
    """A QMB dual under Part B: 99213 $100 -> deductible 10000 counted. The line keeps its PR
    amounts, as a Medicare remittance does (PR-1 10000, so billed − ΣCAS = 10000 − 10000 = 0 =
    plan paid), with remark N781 (no deductible may be collected: QMB), and medicaid_cost_share
    says Medicaid pays all 10000: the member owes cost share − Medicaid cost share = 0."""
    h = Harness(reference([PART_B]))
    h.enroll("M1", payer="MCR", plan_id="MCR-B", qmb=True)
    ln = only_line(h.claim("C1", "M1", [line("99213", 10_000)], payer="MCR"))
    assert (ln["deductible"], ln["medicaid_cost_share"], ln["plan_paid"]) == (10_000, 10_000, 0)
    assert adjustment_codes(ln) == [("PR", "1", 10_000)]
    assert ln["remarks"] == ["N781"]
    assert ln["billed"] - sum(a["amount"] for a in ln["adjustments"]) == ln["plan_paid"]


def test_qmb_coinsurance_and_copay_carry_their_own_remarks_and_the_remittance_balances():
    """QMB under a plan with a $25 PCP copay and 20 % coinsurance, deductible met: one visit,
    99213 billed $120 (allowed 10000, CO-45 2000) with copay 2500, and 80053 $10 with coinsurance
    20 % x 1000 = 200. PR-3 2500 (N783) and PR-2 200 (N782); billed − ΣCAS = plan paid on each
    line; Medicaid pays the 2700 the member would have owed."""
    design_ = plan("MCR-Q", "MCR", deductible_individual=0, deductible_family=0,
                   copays=PCP_COPAY)
    h = Harness(reference([design_]))
    h.enroll("M1", payer="MCR", plan_id="MCR-Q", qmb=True)
    event = h.claim("C1", "M1", [line("99213", 12_000), line("80053", 1_000, line_no=2)],
                    payer="MCR")
    em, lab = event["data"]["lines"]
    assert adjustment_codes(em) == [("CO", "45", 2_000), ("PR", "3", 2_500)]
    assert adjustment_codes(lab) == [("PR", "2", 200)]
    assert (em["remarks"], lab["remarks"]) == (["N783"], ["N782"])
    assert (em["medicaid_cost_share"], lab["medicaid_cost_share"]) == (2_500, 200)
    for ln in (em, lab):
        assert ln["billed"] - sum(a["amount"] for a in ln["adjustments"]) == ln["plan_paid"]


def test_non_embedded_family_plan_uses_only_the_family_deductible():
    """Non-embedded, $500/$1,000: with two members enrolled, A's 71046 x 15 ($750) takes
    d = min(75000, 100000) = 75000 — past the $500 individual amount."""
    h = Harness(reference([plan(embedded=False)]))
    h.enroll("A", subscriber="FAM")
    h.enroll("B", subscriber="FAM")
    ln = only_line(h.claim("C1", "A", [line("71046", 75_000, units=15)], subscriber="FAM"))
    assert ln["deductible"] == 75_000
