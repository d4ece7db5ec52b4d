"""PCF's performance adjustment on flat visit fees (DOMAIN.md §4: "performance adjustment
−10 %..+50 % quarterly on the total primary care payment (PBP and flat fees)"), worked by hand.

The practice: P1 in PCF with four members M1-M4 attributed (four 99213 visits each at P1 in
2024), its 2024 quality score 55 % -> +10 % (the default map: >= 50 %), so the PBP paid at the
2025-01-01 boundary for January-March carries `performance_bp` 1000. A flat-fee line is a PCF
practice's 99213 for its attributed member: allowed = the flat fee $40.82, 20 % coinsurance
$8.16, plan paid $32.66 (3266 cents).
"""

from __future__ import annotations

from claimsim.events.programs import ProgramKind, ProgramSettings

from claimsim.adjudication.projections.attribution import attribute, correction
from claimsim.adjudication.projections.epochs import ClockSettings, Plan
from claimsim.adjudication.projections.flat_fee_performance import flat_fee_adjustments
from claimsim.adjudication.projections.prospective import epoch_payments, true_up
from claimsim.adjudication.projections.reconciliation import year_figures
from claimsim.adjudication.projections.settings import ProjectionSettings
from claimsim.adjudication.projections.snapshots import figures
from claimsim.adjudication.projections.status import practice_statuses

from ..fixtures.projections import PAYER, Feed, reference

Q1 = ["2025-01", "2025-02", "2025-03"]
FLAT_PAID = 3266  # $40.82 flat fee less 20 % coinsurance ($8.16)


def _pcf_practice(quality_bp: int = 5500, settings: ProjectionSettings | None = None) -> Feed:
    feed = Feed(reference({"P1": ProgramSettings(kind=ProgramKind.PCF, minimum_attributed=1,
                                                 leakage_adjustment=False)}), settings)
    for m in ("M1", "M2", "M3", "M4"):
        feed.enroll(m)
        for month in (2, 4, 6, 8):
            feed.visit(m, "P1", f"2024-{month:02d}-10")
    feed.quality("P1", 2024, quality_bp, "2024-12-15")
    return feed


def _first_boundary(feed: Feed) -> list[dict]:
    """The 2025-01-01 boundary as the run clock records it: attribution, status, Q1's PBP."""
    feed.boundary("2025-01-01", 1)
    run = attribute(feed.state, PAYER, "2025-01-01")
    feed.record(run.changes)
    feed.record(practice_statuses(feed.state, run))
    return feed.record(epoch_payments(feed.state, PAYER, "2025-01-01", Q1))


def _flat(feed: Feed, member: str, day: str, paid: str | None = None) -> str:
    """A flat-fee line (PCF, attributed member, 99213 at the flat fee)."""
    return feed.visit(member, "P1", day, allowed=4082, cost_share=816, program="pcf",
                      attributed=True, capitated=True, paid=paid)


def test_flat_fees_paid_between_boundaries_are_adjusted_per_member_with_one_rounding():
    """Between B1 (2025-01-01) and B2 (2025-04-01): M1 Jan 10 and Feb 10, M2 Feb 12 and Mar 12,
    each plan paid 3266; M1's February claim voided on 2025-03-01 (-3266); M3's visit at P1 paid
    as FFS (not a flat-fee line) and M4's at the specialist practice do not count.
    M1: 3266 + 3266 - 3266 = 3266 at +10 % = 326.6 -> 327.
    M2: 3266 + 3266 = 6532 at +10 % = 653.2 -> 653 (one rounding, not 327 + 327 = 654).
    Paid at B2 for its month, 2025-04: 327 + 653 = 980, no member months."""
    feed = _pcf_practice()
    pbp = _first_boundary(feed)
    assert {p["data"]["detail"]["basis"]["performance_bp"] for p in pbp} == {1000}
    _flat(feed, "M1", "2025-01-10")
    first_seq = feed.ledger_seq  # M1's January line; the void is the fourth entry after it
    voided = _flat(feed, "M1", "2025-02-10")
    _flat(feed, "M2", "2025-02-12")
    _flat(feed, "M2", "2025-03-12")
    feed.void(voided, "2025-03-01")
    feed.visit("M3", "P1", "2025-03-05", cost_share=1814)  # program ffs: no flat fee
    feed.visit("M4", "SP", "2025-03-06", "99214", npi="S9")
    feed.boundary("2025-04-01", 2)
    events = feed.record(flat_fee_adjustments(feed.state, PAYER, "2025-04-01"))
    assert len(events) == 1
    d = events[0]["data"]
    assert (d["kind"], d["practice_id"], d["month"], d["adjusts_month"], d["member_months"],
            d["amount"]) == ("pba_flat_fee", "P1", "2025-04", None, 0, 980)
    assert d["detail"]["members"] == {"M1": 327, "M2": 653}
    basis = d["detail"]["basis"]
    assert (basis["after_boundary"], basis["boundary"]) == ("2025-01-01", "2025-04-01")
    assert (basis["first_seq"], basis["last_seq"]) == (first_seq, first_seq + 4)
    assert basis["months"] == {
        "2025-01": {"plan_paid": 3266, "lines": 1, "reversal_lines": 0, "performance_bp": 1000},
        "2025-02": {"plan_paid": 3266, "lines": 2, "reversal_lines": 1, "performance_bp": 1000},
        "2025-03": {"plan_paid": 3266, "lines": 1, "reversal_lines": 0, "performance_bp": 1000}}
    assert basis["rates"] == [{"year": "2025", "performance_bp": 1000, "plan_paid": 9798,
                               "amount": 980}]
    # The snapshot of the month it is paid in counts it by kind and in the net.
    f = figures(feed.state, PAYER, "P1", "2025-04")
    assert (f["pba_flat_fee"], f["prospective_total"], f["net"]) == (980, 980, 980)
    assert "pba_flat_fee" not in figures(feed.state, PAYER, "P1", "2025-03")
    # The next boundary has nothing left to adjust.
    feed.boundary("2025-07-01", 3)
    assert flat_fee_adjustments(feed.state, PAYER, "2025-07-01") == []


def test_a_line_for_a_month_without_pbp_is_adjusted_at_zero():
    """A flat-fee line serviced 2024-12-20 (a baseline month: no PBP paid for it) and paid
    2025-01-20, after B1: rate 0, so M1 gets nothing; M2's January line 3266 at +10 % -> 327.
    The basis keeps December's plan paid at 0 %."""
    feed = _pcf_practice()
    _first_boundary(feed)
    _flat(feed, "M1", "2024-12-20", paid="2025-01-20")
    _flat(feed, "M2", "2025-01-22")
    feed.boundary("2025-04-01", 2)
    d = flat_fee_adjustments(feed.state, PAYER, "2025-04-01")[0]["data"]
    assert (d["amount"], d["detail"]["members"]) == (327, {"M2": 327})
    assert d["detail"]["basis"]["rates"] == [
        {"year": "2024", "performance_bp": 0, "plan_paid": 3266, "amount": 0},
        {"year": "2025", "performance_bp": 1000, "plan_paid": 3266, "amount": 327}]


def test_only_baseline_lines_make_no_payment():
    """Every line at rate 0: every amount is 0, so no event (as a zero PBP makes none)."""
    feed = _pcf_practice()
    _first_boundary(feed)
    _flat(feed, "M1", "2024-12-20", paid="2025-01-20")
    feed.boundary("2025-04-01", 2)
    assert flat_fee_adjustments(feed.state, PAYER, "2025-04-01") == []


def test_performance_minus_ten_percent_recoups_from_the_flat_fees():
    """A map giving -10 % below 50 % and +10 % from it; quality 40 % -> -10 %.
    M1's one line 3266 at -10 % = -326.6 -> -327 (halves and beyond away from zero)."""
    feed = _pcf_practice(4000, ProjectionSettings(pcf_performance_map=((0, -1000), (5000, 1000))))
    _first_boundary(feed)
    _flat(feed, "M1", "2025-02-10")
    feed.boundary("2025-04-01", 2)
    d = flat_fee_adjustments(feed.state, PAYER, "2025-04-01")[0]["data"]
    assert (d["amount"], d["detail"]["members"]) == (-327, {"M1": -327})
    assert d["detail"]["basis"]["rates"][0]["performance_bp"] == -1000


def test_a_reversal_after_the_rate_changed_is_adjusted_at_its_original_rate():
    """M1's February line (+10 %: 327 paid at B2) is voided after B2, when a new map would give
    +50 %: the void is adjusted at February's PBP rate, +10 %: -327 at B3, undoing it exactly."""
    feed = _pcf_practice()
    _first_boundary(feed)
    claim = _flat(feed, "M1", "2025-02-10")
    feed.boundary("2025-04-01", 2)
    assert feed.record(flat_fee_adjustments(feed.state, PAYER, "2025-04-01"))[0]["data"][
        "amount"] == 327
    feed.state.settings = ProjectionSettings(pcf_performance_map=((0, 5000),))
    feed.void(claim, "2025-05-02")
    feed.boundary("2025-07-01", 3)
    d = flat_fee_adjustments(feed.state, PAYER, "2025-07-01")[0]["data"]
    month = d["detail"]["basis"]["months"]["2025-02"]
    assert (d["amount"], month["performance_bp"]) == (-327, 1000)


def test_the_attribution_true_up_leaves_the_flat_fee_adjustment_alone():
    """M1 moves to P2 from 2025-02-01 by a correction after the adjustment on M1's February
    flat fee was paid: the true-up recoups M1's PBP for February and March, and nothing of the
    flat-fee adjustment (it is on visits paid, not on a member month)."""
    feed = _pcf_practice()
    _first_boundary(feed)
    _flat(feed, "M1", "2025-02-10")
    feed.boundary("2025-04-01", 2)
    feed.record(flat_fee_adjustments(feed.state, PAYER, "2025-04-01"))
    feed.record([correction(feed.state, "M1", "P2", "2025-02-01", "practice dispute",
                            at="2025-04-15")])
    feed.boundary("2025-07-01", 3)
    kinds = {(e["data"]["kind"], e["data"]["adjusts_month"])
             for e in true_up(feed.state, PAYER, "2025-07-01")}
    assert kinds == {("pbp", "2025-02"), ("pbp", "2025-03")}


def test_the_closing_boundary_adjusts_flat_fees_paid_in_the_run_out():
    """The run clock's steps: service window 2025-01..06, boundaries 2025-01-01, 2025-04-01 and
    the closing one at the horizon 2026-01-01 (no boundary between). M2's May visit paid
    2025-05-20 and M1's June visit paid in the run-out (2025-08-15) are both adjusted at the
    closing boundary, at +10 % (Q2's PBP paid at 2025-04-01): 327 + 327 = 654, for the month
    2026-01. The reconciliation counts it in 2025, the year of the visits, not in 2026."""
    feed = _pcf_practice()
    plan = Plan("2024-01-01", "2025-07-01", "2026-01-01",
                ("2025-01-01", "2025-04-01", "2026-01-01"), ClockSettings())

    feed.clock_boundary(plan, "2025-01-01", 1)
    feed.clock_boundary(plan, "2025-04-01", 2)
    _flat(feed, "M2", "2025-05-12", paid="2025-05-20")
    _flat(feed, "M1", "2025-06-10", paid="2025-08-15")
    events = feed.clock_boundary(plan, "2026-01-01", 3)
    pba = [e["data"] for e in events if e["data"].get("kind") == "pba_flat_fee"]
    assert [(d["month"], d["amount"], d["detail"]["members"]) for d in pba] == [
        ("2026-01", 654, {"M1": 327, "M2": 327})]
    assert year_figures(feed.state, PAYER, "P1", 2025)["prospective"].get("pba_flat_fee") == 654
    assert "pba_flat_fee" not in year_figures(feed.state, PAYER, "P1", 2026)["prospective"]
