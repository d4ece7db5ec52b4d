"""The aligned-payer measures (DOMAIN.md §9) on hand-built runs, with every figure computed by hand:
OHCA's three criteria (two of three does not count), both spend bases and the allocation share,
benchmark flags at their thresholds, LAN categories under both conventions, participation, each
practice's prospective share, and the claims-based quality rates."""

from __future__ import annotations

from typing import Any

from claimsim.events.programs import ProgramKind, ProgramSettings

from claimsim.adjudication.projections.aligned_facts import M_COST_SHARE
from claimsim.adjudication.projections.fold.aligned import AlignedFold
from claimsim.adjudication.projections.apm import (BY_CONTRACT, BY_PAYMENT, apm_rows,
                                                   participation_rows, practice_share_rows)
from claimsim.adjudication.projections.claims_quality import quality_rows
from claimsim.adjudication.projections.primary_care_spend import (PC_PLACES, PC_SERVICES,
                                                                  SpendSettings, flags,
                                                                  primary_care_share_rows)
from claimsim.adjudication.projections.state import PayerState

from ..fixtures.projections import PAYER, Feed, reference

CPC2 = ProgramSettings(kind=ProgramKind.CPCP_T2)


def _ref(**programs: ProgramSettings):
    return reference(programs or {"P1": CPC2}, start="2025-01-01")


class Run:
    """Plain envelopes folded into AlignedFacts: claims with one line each, payments, members."""

    def __init__(self, ref, settings: SpendSettings | None = None):
        s = settings or SpendSettings()
        self.fold = AlignedFold(ref, s.services, s.places)
        self.n = 0

    def claim(self, practice: str, npi: str, pos: str, code: str, paid: int, cost_share: int = 0,
              member: str = "M1", day: str = "2025-03-01", dx: tuple[str, ...] = ()) -> str:
        self.n += 1
        cid = f"C{self.n}"
        self.fold.apply({"type": "claim.submitted", "data": {"claim": {
            "claim_id": cid, "member_id": member, "rendering_npi": npi, "place_of_service": pos,
            "lines": [{"service_date": day, "procedure": code, "diagnoses": list(dx)}]}}})
        self.fold.apply({"type": "claim.adjudicated", "data": {
            "claim_id": cid, "payer_id": PAYER, "practice_id": practice, "rendering_npi": npi,
            "reversed_lines": [], "lines": [_line(member, day, code, paid, cost_share)]}})
        return cid

    def void(self, cid: str, practice: str, member: str, day: str, code: str, paid: int, cs: int = 0):
        self.fold.apply({"type": "claim.reversed", "data": {
            "claim_id": "V" + cid, "reversed_claim_id": cid, "payer_id": PAYER,
            "practice_id": practice, "reversed_lines": [_line(member, day, code, -paid, -cs)]}})

    def pay(self, practice: str, kind: str, amount: int, month: str = "2025-03", **detail: Any):
        self.fold.apply({"type": "payment.prospective", "data": {
            "payer_id": PAYER, "practice_id": practice, "month": month, "kind": kind,
            "amount": amount, "detail": detail}})

    def enroll(self, member: str, start: str = "2025-01-01"):
        self.fold.apply({"type": "member.enrolled", "data": {
            "member_id": member, "payer_id": PAYER, "start": start, "end": None}})

    @property
    def facts(self):
        return self.fold.facts


def _line(member: str, day: str, code: str, paid: int, cost_share: int,
          qmb: int = 0) -> dict[str, Any]:
    return {"member_id": member, "service_date": day, "procedure": code, "plan_paid": paid,
            "cost_share": cost_share, "medicaid_cost_share": qmb, "status": "paid"}


def test_a_qmb_members_cost_share_is_counted_once_and_not_as_the_members():
    """A QMB line: allowed 5,000 = plan paid 4,000 + cost share 1,000, all of which Medicaid pays
    (`medicaid_cost_share`, part of the line's cost share): allowed is counted once (it was
    6,000), and the member owes none of it (the equity table's cost share was 1,000)."""
    run = Run(_ref())
    run.fold.apply({"type": "claim.submitted", "data": {"claim": {
        "claim_id": "Q1", "member_id": "M1", "rendering_npi": "N1", "place_of_service": "11",
        "lines": [{"service_date": "2025-03-01", "procedure": "99213", "diagnoses": []}]}}})
    run.fold.apply({"type": "claim.adjudicated", "data": {
        "claim_id": "Q1", "payer_id": PAYER, "practice_id": "P1", "rendering_npi": "N1",
        "reversed_lines": [], "lines": [_line("M1", "2025-03-01", "99213", 4_000, 1_000, 1_000)]}})
    row = _row(primary_care_share_rows(run.facts, _ref()))
    assert (row["primary_care_claims"], row["total_medical_expense"]) == (5_000, 5_000)
    assert run.facts.member_totals["M1"][M_COST_SHARE] == 0


def _four_lines(run: Run) -> None:
    """One primary-care line and three that fail one criterion each, plus CPC+ T2 payments."""
    run.claim("P1", "N1", "11", "99213", paid=8_000, cost_share=2_000)  # all three: counts
    run.claim("P1", "S1", "11", "99213", paid=5_000)  # specialist NPI: provider fails
    run.claim("P2", "N2", "22", "99213", paid=3_000, cost_share=1_000)  # hospital OP: place fails
    run.claim("P3", "N3", "11", "71046", paid=2_000)  # imaging: service fails
    run.pay("P1", "cmf", 1_500)
    run.pay("P1", "cpcp", 2_500)


def _row(rows, payer=PAYER, year=2025):
    return next(r for r in rows if r["payer_id"] == payer and r["year"] == year)


def test_a_line_primary_care_on_two_of_three_criteria_does_not_count():
    run = Run(_ref())
    _four_lines(run)
    row = _row(primary_care_share_rows(run.facts, _ref()))
    # allowed basis = plan paid + cost share: claims 10,000 + 5,000 + 4,000 + 2,000 = 21,000,
    # of which primary care 10,000; CMF + CPCP 4,000 at 100 %; share 14,000 / 25,000 = 56 %.
    assert (row["primary_care_claims"], row["primary_care_non_claims"]) == (10_000, 4_000)
    assert row["total_medical_expense"] == 25_000
    assert row["primary_care_share_bp"] == 5_600
    assert row["lob"] == "medicare_ffs"


def test_paid_basis_and_allocation_share_change_the_share_as_computed_by_hand():
    run = Run(_ref())
    _four_lines(run)
    paid = _row(primary_care_share_rows(run.facts, _ref(), SpendSettings(basis="paid")))
    # paid: claims 18,000 (primary care 8,000) + 4,000 => 12,000 / 22,000 = 54.545 % -> 5,455 bp
    assert (paid["primary_care_total"], paid["total_medical_expense"]) == (12_000, 22_000)
    assert paid["primary_care_share_bp"] == 5_455
    half_cpcp = SpendSettings(allocation_bp={"cmf": 10_000, "cpcp": 5_000})
    row = _row(primary_care_share_rows(run.facts, _ref(), half_cpcp))
    # 10,000 + 1,500 + 1,250 = 12,750 of 25,000 (the denominator keeps every dollar) = 51 %
    assert (row["primary_care_total"], row["primary_care_share_bp"]) == (12_750, 5_100)


def test_a_voided_primary_care_line_leaves_the_measure():
    run = Run(_ref())
    _four_lines(run)
    run.void("C1", "P1", "M1", "2025-03-01", "99213", 8_000, 2_000)
    row = _row(primary_care_share_rows(run.facts, _ref()))
    # 4,000 of 15,000 (5,000 + 4,000 + 2,000 claims + 4,000 payments) = 26.67 % -> 2,667 bp
    assert (row["primary_care_total"], row["total_medical_expense"]) == (4_000, 15_000)
    assert row["primary_care_share_bp"] == 2_667


def test_benchmark_flags_flip_at_their_thresholds():
    assert flags(1_549, 1_499)["meets_ohca_annual"] is True  # +0.50 point
    assert flags(1_548, 1_499)["meets_ohca_annual"] is False  # +0.49
    assert flags(1_598, 1_499)["meets_colorado_annual"] is False  # +0.99
    assert flags(1_600, 1_500)["meets_colorado_annual"] is True  # +1.00
    assert flags(1_500, None)["meets_ohca_15pct"] is True
    assert flags(1_499, None)["meets_ohca_15pct"] is False
    assert flags(1_499, None)["meets_ohca_annual"] is None  # no prior year, no annual flag


def test_a_payers_share_year_over_year_sets_the_annual_flags():
    run = Run(_ref())
    run.claim("P1", "N1", "11", "99213", paid=1_000, day="2025-03-01")  # 2025: 1,000 of 10,000
    run.claim("SP", "S9", "11", "99243", paid=9_000, day="2025-03-01")
    run.claim("P1", "N1", "11", "99213", paid=1_050, day="2026-03-01")  # 2026: 1,050 of 10,000
    run.claim("SP", "S9", "11", "99243", paid=8_950, day="2026-03-01")
    rows = primary_care_share_rows(run.facts, _ref())
    assert _row(rows, year=2025)["change_bp"] is None
    later = _row(rows, year=2026)
    assert (later["primary_care_share_bp"], later["change_bp"]) == (1_050, 50)
    assert (later["meets_ohca_annual"], later["meets_colorado_annual"]) == (True, False)
    assert _row(rows, payer="all", year=2026)["primary_care_share_bp"] == 1_050


def test_a_contracts_dollars_under_both_lan_conventions():
    ref = _ref()
    run = Run(ref)
    _four_lines(run)
    run.pay("P1", "pbip", 400)
    state = PayerState(ref)
    by_payment = _row(apm_rows(run.facts, state.reference, BY_PAYMENT))
    # each payment by its kind: claims 18,000 FFS (cat 1), CMF 2A, PBIP 2C, CPCP 4A
    assert (by_payment["cat_1"], by_payment["cat_2A"], by_payment["cat_2C"],
            by_payment["cat_4A"], by_payment["total"]) == (18_000, 1_500, 400, 2_500, 22_400)
    assert by_payment["cat_4A_bp"] == 1_116  # 2,500 / 22,400 = 11.16 %
    by_contract = _row(apm_rows(run.facts, state.reference, BY_CONTRACT))
    # P1's CPC+ Track 2 contract is 4A: its claims 13,000 and all 4,400 of payments; P2/P3 FFS
    assert (by_contract["cat_1"], by_contract["cat_4A"], by_contract["cat_2A"]) == (5_000, 17_400, 0)
    assert by_contract["cat_4A_bp"] == 7_768  # 17,400 / 22,400 = 77.68 %


def test_pcf_performance_adjustment_is_2c_and_full_capitation_is_4b():
    ref = _ref(P1=ProgramSettings(kind=ProgramKind.PCF), P2=ProgramSettings(kind=ProgramKind.FULL_CAP))
    run = Run(ref)
    # PBP x 1.20: 10,000 + 2,000 moved (the adjustment sits in the payment's basis, as
    # `prospective.payment_basis` records it).
    run.pay("P1", "pbp", 12_000, basis={"performance_bp": 2_000, "pbpm": 12_000})
    run.pay("P2", "ppcp", 7_000)
    row = _row(apm_rows(run.facts, ref, BY_PAYMENT))
    assert (row["cat_4A"], row["cat_2C"], row["cat_4B"]) == (10_000, 2_000, 7_000)


def test_pcf_performance_adjustment_on_flat_fees_is_2c_in_the_year_of_the_visits():
    """A `pba_flat_fee` payment made at the 2026-01-01 boundary for 980 cents: 600 on December
    2025's flat fees, 380 on January 2026's (its basis, by year). By payment it is 2C (pay for
    performance, DOMAIN.md §9), 600 in 2025 and 380 in 2026, though paid in 2026; by contract
    it is PCF's 4A. It is a non-claims payment to primary care in the OHCA measure."""
    ref = _ref(P1=ProgramSettings(kind=ProgramKind.PCF))
    run = Run(ref)
    run.pay("P1", "pba_flat_fee", 980, month="2026-01", members={"M1": 980}, basis={
        "rates": [{"year": "2025", "performance_bp": 1_000, "plan_paid": 6_000, "amount": 600},
                  {"year": "2026", "performance_bp": 2_000, "plan_paid": 1_900, "amount": 380}]})
    rows = apm_rows(run.facts, ref, BY_PAYMENT)
    assert [(r["cat_2C"], r["total"]) for r in (_row(rows, year=2025), _row(rows, year=2026))] == [
        (600, 600), (380, 380)]
    assert _row(apm_rows(run.facts, ref, BY_CONTRACT), year=2025)["cat_4A"] == 600
    spend = primary_care_share_rows(run.facts, ref)
    assert _row(spend, year=2025)["primary_care_non_claims"] == 600


def test_participation_counts_active_value_based_practices_and_their_members():
    ref = _ref()
    feed = Feed(ref)
    for m in ("M1", "M2", "M3"):
        feed.enroll(m, start="2025-01-01")
    feed.assign("M1", "P1", "2025-01-01")
    feed.assign("M2", "P2", "2025-01-01")
    feed.record([_status("P1", True)])
    rows = {r["payer_id"]: r for r in participation_rows(feed.state, "2025-06-01")}
    # P1 (CPC+ T2, active) of three primary-care practices; M1 of three eligible members
    r = rows[PAYER]
    assert (r["practices_in_vbp"], r["primary_care_practices"], r["practices_in_vbp_bp"]) == (1, 3, 3_333)
    assert (r["members_in_vbp"], r["eligible_members"], r["members_in_vbp_bp"]) == (1, 3, 3_333)
    feed.record([_status("P1", False, day="2025-04-01")])  # below minimum volume: FFS again
    assert participation_rows(feed.state, "2025-06-01")[0]["practices_in_vbp"] == 0


def _status(practice: str, active: bool, day: str = "2025-01-01") -> dict[str, Any]:
    from claimsim.events.envelope import new_event
    from claimsim.events.ledger import PracticeStatus
    return new_event(PracticeStatus(payer_id=PAYER, practice_id=practice, program=ProgramKind.CPCP_T2,
                                    effective=day, active=active), at=day, key=practice, cause=0)


def test_practice_prospective_share_beside_mcps_aim():
    ref = _ref()
    run = Run(ref)
    _four_lines(run)
    rows = {r["practice_id"]: r for r in practice_share_rows(run.facts, ref)}
    # P1: 4,000 prospective of 13,000 + 4,000 = 23.53 %, below MCP's 50-100 %
    assert (rows["P1"]["prospective_share_bp"], rows["P1"]["meets_mcp_50_100"]) == (2_353, False)
    run.pay("P1", "cpcp", 9_000)
    rows = {r["practice_id"]: r for r in practice_share_rows(run.facts, ref)}
    assert (rows["P1"]["prospective_share_bp"], rows["P1"]["meets_mcp_50_100"]) == (5_000, True)


def test_claims_based_awv_and_hba1c_rates():
    ref = _ref()
    run = Run(ref)
    for m in ("M1", "M2", "M3"):
        run.enroll(m)
    run.claim("P1", "N1", "11", "G0439", paid=13_000, member="M1")  # M1: AWV
    run.claim("P1", "N1", "11", "99213", paid=9_000, member="M1", dx=("E11.9",))  # M1 diabetic
    run.claim("P1", "N1", "81", "83036", paid=900, member="M1")  # ... and tested
    run.claim("P1", "N1", "11", "99213", paid=9_000, member="M2", dx=("E11.65",))  # M2: neither
    rows = quality_rows(run.facts, {PAYER: "medicare_ffs"}, [2025], {"M1": "P1", "M2": "P1", "M3": None})
    payer = next(r for r in rows if r["practice_id"] == "")
    # AWV: 1 of 3 Medicare members; HbA1c: 1 of 2 members with diabetes
    assert (payer["awv_members"], payer["medicare_members"], payer["awv_rate_bp"]) == (1, 3, 3_333)
    assert (payer["hba1c_tested"], payer["diabetic_members"], payer["hba1c_rate_bp"]) == (1, 2, 5_000)
    practice = next(r for r in rows if r["practice_id"] == "P1")
    assert (practice["medicare_members"], practice["awv_rate_bp"]) == (2, 5_000)
    commercial = quality_rows(run.facts, {PAYER: "commercial"}, [2025])[0]
    assert commercial["medicare_members"] == 0


def test_default_code_and_place_sets():
    assert {"pc_em", "awv", "preventive", "care_mgmt"} == PC_SERVICES
    assert {"11", "10", "12", "50", "72"} <= PC_PLACES and "22" not in PC_PLACES

