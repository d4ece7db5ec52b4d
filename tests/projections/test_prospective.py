"""Prospective payment worked examples (DOMAIN.md §4, §6, §7): a CPC+ Track 2 practice month, a
PCF month with leakage and performance adjustments, minimum-volume fallback to FFS, and a
correction moving a member back two months with the recoup / pay lines in the next snapshot."""

from __future__ import annotations


from claimsim.events.programs import ProgramKind, ProgramSettings

from claimsim.adjudication.projections.attribution import attribute, correction
from claimsim.adjudication.projections.prospective import epoch_payments, true_up
from claimsim.adjudication.projections.snapshots import figures
from claimsim.adjudication.projections.settings import ProjectionSettings
from claimsim.adjudication.projections.status import practice_statuses


from ..fixtures.projections import PAYER, Feed, reference

Q1 = ["2025-01", "2025-02", "2025-03"]


def _epoch(feed: Feed, boundary: str, months: list[str], epoch: int = 1):
    """What the run clock does at a boundary: boundary, attribution, status, payments."""
    feed.boundary(boundary, epoch)
    run = attribute(feed.state, PAYER, boundary)
    feed.record(run.changes)
    statuses = feed.record(practice_statuses(feed.state, run))
    payments = feed.record(epoch_payments(feed.state, PAYER, boundary, months))
    return run, statuses, payments


def _paid(payments, practice: str, month: str) -> dict[str, int]:
    return {p["data"]["kind"]: p["data"]["amount"] for p in payments
            if p["data"]["practice_id"] == practice and p["data"]["month"] == month}


def _cpc_t2_practice(minimum: int = 1, cost_share: int = 0) -> Feed:
    """P1 in CPC+ Track 2 (h 40 %), four members M1-M4 of equal risk, six 99213 visits each
    ($90.70, of which `cost_share` the member's) at P1 in 2024."""
    feed = Feed(reference({"P1": ProgramSettings(kind=ProgramKind.CPCP_T2,
                                                 minimum_attributed=minimum)}))
    for m in ("M1", "M2", "M3", "M4"):
        feed.enroll(m)
        for month in range(1, 12, 2):
            feed.visit(m, "P1", f"2024-{month:02d}-10", cost_share=cost_share)
    return feed


def _two_cpc_t2_practices() -> Feed:
    """P1 and P2 in CPC+ Track 2: M1, M2 with six 99213 each at P1 in 2024, M3, M4 with three
    99214 each at P2."""
    programs = {p: ProgramSettings(kind=ProgramKind.CPCP_T2, minimum_attributed=1)
                for p in ("P1", "P2")}
    feed = Feed(reference(programs))
    for m in ("M1", "M2", "M3", "M4"):
        feed.enroll(m)
    for m in ("M1", "M2"):
        for month in range(1, 12, 2):
            feed.visit(m, "P1", f"2024-{month:02d}-10")
    for m in ("M3", "M4"):
        for month in (2, 6, 10):
            feed.visit(m, "P2", f"2024-{month:02d}-10", "99214")
    return feed


def test_cpc_plus_track2_practice_month_cmf_tiers_cpcp_and_offsets():
    """Equal risk, so tiers follow rank by member id: M1 tier 1 ($9), M2 tier 2 ($11), M3 tier 3
    ($19), M4 tier 4 and the top 10 % (⌈0.4⌉ = 1 member) -> complex ($100): CMF = 900 + 1100 +
    1900 + 10000 = 13900.
    Expected E&M FFS = 24 visits x 9070 = 217680 over 4 x 12 = 48 member months = 4535 PBPM;
    CPCP PBPM = 4535 x 40 % x 110 % = 1995.4 -> 1995; x 4 = 7980. PBIP = 4 x $4.00 = 1600.
    January claim (M1, 99213): allowed 9070, cost share 1814, offset apply_rate(7256, 40 %) =
    2902, plan paid 4354; shadow FFS = 4354 + 2902 = 7256.
    Net = 13900 + 7980 + 1600 + 4354 = 27834."""
    feed = _cpc_t2_practice()
    _, statuses, payments = _epoch(feed, "2025-01-01", Q1)
    assert statuses[0]["data"]["active"] and statuses[0]["data"]["attributed"] == 4
    assert _paid(payments, "P1", "2025-01") == {"cmf": 13900, "cpcp": 7980, "pbip": 1600}
    cpcp = next(p for p in payments if p["data"]["kind"] == "cpcp")["data"]
    assert cpcp["detail"]["basis"]["expected_ffs"] == 217680
    assert cpcp["detail"]["basis"]["member_months"] == 48
    assert cpcp["member_months"] == 4
    feed.visit("M1", "P1", "2025-01-15", cost_share=1814, cap_offset=2902, capitated=True,
               attributed=True, program="cpcplus_t2")
    f = figures(feed.state, PAYER, "P1", "2025-01")
    assert (f["member_months"], f["cmf"], f["cpcp"], f["pbip"], f["prospective_total"]) == (
        4, 13900, 7980, 1600, 23480)
    assert (f["ffs_paid_by_service_date"], f["capitation_offsets"], f["member_cost_share"],
            f["shadow_ffs"], f["net"]) == (4354, 2902, 1814, 7256, 27834)


def test_cpcp_is_based_on_what_the_payer_paid_so_it_replaces_the_withheld_share_plus_10_percent():
    """The same practice, but the 2024 visits carried 20 % coinsurance (1814 of 9070), as a
    Part B member's do. Expected E&M FFS is what the payer owed: 24 x (9070 - 1814) = 174144 over
    48 member months = 3628 PBPM; CPCP PBPM = 3628 x 40 % x 110 % = 1596.32 -> 1596; x 4 = 6384.
    At one visit every other month the withheld offset per member month is 2902 / 2 = 1451, and
    1451 x 110 % = 1596.1: CPCP replaces the withheld FFS plus the enhancement, not the members'
    cost share as well (basing it on allowed would pay 1995 PBPM, 1.375 x)."""
    feed = _cpc_t2_practice(cost_share=1814)
    _, _, payments = _epoch(feed, "2025-01-01", Q1)
    cpcp = next(p for p in payments if p["data"]["kind"] == "cpcp")["data"]
    assert cpcp["detail"]["basis"]["expected_ffs"] == 174144
    assert cpcp["amount"] == 6384


def test_minimum_volume_falls_back_to_ffs():
    """Same practice with a minimum of 5 attributed members: 4 < 5, so P1 is inactive from the
    boundary, nothing is paid prospectively, and the snapshot says why."""
    feed = _cpc_t2_practice(minimum=5)
    _, statuses, payments = _epoch(feed, "2025-01-01", Q1)
    status = statuses[0]["data"]
    assert (status["active"], status["attributed"]) == (False, 4)
    assert status["reason"] == "minimum volume: 4 attributed, 5 required"
    assert payments == []
    f = figures(feed.state, PAYER, "P1", "2025-02")
    assert (f["program_active"], f["minimum_volume_fallback"], f["prospective_total"]) == (0, 1, 0)


def _pcf_practice(leakage_adjustment: bool = True) -> Feed:
    """P1 in PCF. M1-M4: four 99213 visits each at P1 in 2024; M1 and M2 also two each at P2.
    P1's 2024 quality score 55 %."""
    feed = Feed(reference({"P1": ProgramSettings(kind=ProgramKind.PCF, minimum_attributed=1,
                                                 leakage_adjustment=leakage_adjustment)}))
    for m in ("M1", "M2", "M3", "M4"):
        feed.enroll(m)
        for month in (2, 4, 6, 8):
            feed.visit(m, "P1", f"2024-{month:02d}-10")
    for m in ("M1", "M2"):
        feed.visit(m, "P2", "2024-03-03")
        feed.visit(m, "P2", "2024-05-03")
    feed.quality("P1", 2024, 5500, "2024-12-15")
    return feed


def test_pcf_month_with_leakage_and_performance_adjustments():
    """Average risk 1.000 -> risk group 2 (bounds 1.0/1.2/1.5): PBP $45. Leakage over 2024: 4 of
    20 qualifying visits at other practices = 20 %. Quality 55 % -> +10 % (map: >= 50 %).
    PBP PBPM = 4500 x (1 - 20 %) x (1 + 10 %) = 3960; 4 members -> 15840 a month.
    January: M1 sees P1 (Jan 10) and P2 (Jan 20, plan paid 9070): 1 of 2 visits leaked
    (5000 bp), leakage cost 9070."""
    feed = _pcf_practice()
    _, statuses, payments = _epoch(feed, "2025-01-01", Q1)
    assert statuses[0]["data"]["risk_group"] == 2
    pbp = next(p for p in payments if p["data"]["month"] == "2025-01")["data"]
    assert (pbp["kind"], pbp["amount"]) == ("pbp", 15840)
    basis = pbp["detail"]["basis"]
    assert (basis["pbp"], basis["leakage_bp"], basis["performance_bp"], basis["pbpm"]) == (
        4500, 2000, 1000, 3960)
    feed.visit("M1", "P1", "2025-01-10")
    feed.visit("M1", "P2", "2025-01-20")
    f = figures(feed.state, PAYER, "P1", "2025-01")
    assert (f["pbp"], f["qualifying_visits"], f["leakage_visits"], f["leakage_rate_bp"],
            f["leakage_cost"]) == (15840, 2, 1, 5000, 9070)


def test_pcf_without_leakage_adjustment_pays_full_pbp_with_performance():
    """Leakage adjustment off: 4500 x 110 % = 4950 PBPM, 19800 for four members."""
    feed = _pcf_practice(leakage_adjustment=False)
    _, _, payments = _epoch(feed, "2025-01-01", Q1)
    assert _paid(payments, "P1", "2025-01") == {"pbp": 19800}


def test_pcf_performance_map_is_a_setting():
    """A map giving +50 % at 55 %: 4500 x 80 % x 150 % = 5400 PBPM, 21600 a month."""
    feed = _pcf_practice()
    feed.state.settings = ProjectionSettings(pcf_performance_map=((0, 0), (5000, 5000)))
    _, _, payments = _epoch(feed, "2025-01-01", Q1)
    assert _paid(payments, "P1", "2025-01") == {"pbp": 21600}


def test_correction_moving_a_member_back_two_months_recoups_and_pays_in_next_snapshot():
    """P1 and P2 in CPC+ Track 2. M1, M2 at P1 (six 99213 each in 2024: CPCP PBPM 1995); M3, M4
    at P2 (three 99214 each, $128.16: 76896 / 24 = 3204 PBPM x 44 % = 1409.76 -> 1410).
    Tiers by rank: M2 is tier 2 ($11). On 2025-03-15 a correction moves M2 to P2 from
    2025-02-01: two months already paid to P1. At the 2025-04-01 boundary, for February and for
    March: P1 is recouped 1100 + 1995 + 400 = 3495, and P2 paid 1100 + 1410 + 400 = 2910.
    April's snapshot: P1 adjustments -6990, P2 +5820; January is untouched."""
    feed = _two_cpc_t2_practices()
    _, _, payments = _epoch(feed, "2025-01-01", Q1)
    assert _paid(payments, "P1", "2025-02") == {"cmf": 2000, "cpcp": 3990, "pbip": 800}
    assert _paid(payments, "P2", "2025-02")["cpcp"] == 2820
    jan_p1 = figures(feed.state, PAYER, "P1", "2025-01")

    feed.record([correction(feed.state, "M2", "P2", "2025-02-01", "practice dispute",
                            at="2025-03-15")])
    feed.boundary("2025-04-01", 2)
    adjustments = feed.record(true_up(feed.state, PAYER, "2025-04-01"))
    got = sorted((a["data"]["practice_id"], a["data"]["adjusts_month"], a["data"]["kind"],
                  a["data"]["amount"], a["data"]["month"]) for a in adjustments)
    expected = []
    for month in ("2025-02", "2025-03"):
        expected += [("P1", month, "cmf", -1100, "2025-04"), ("P1", month, "cpcp", -1995, "2025-04"),
                     ("P1", month, "pbip", -400, "2025-04"), ("P2", month, "cmf", 1100, "2025-04"),
                     ("P2", month, "cpcp", 1410, "2025-04"), ("P2", month, "pbip", 400, "2025-04")]
    assert got == sorted(expected)
    assert all(a["data"]["detail"]["members"].keys() == {"M2"} for a in adjustments)
    assert figures(feed.state, PAYER, "P1", "2025-04")["prospective_adjustments"] == -6990
    assert figures(feed.state, PAYER, "P2", "2025-04")["prospective_adjustments"] == 5820
    assert figures(feed.state, PAYER, "P1", "2025-01") == jan_p1
    # A second true-up at the next boundary finds nothing left to adjust.
    feed.boundary("2025-07-01", 3)
    assert true_up(feed.state, PAYER, "2025-07-01") == []


def test_member_months_count_members_enrolled_and_attributed_on_the_first_day():
    """M4 terminates 2025-01-31 (received before the boundary): January pays four members,
    February three. CMF February = 900 + 1100 + 1900 = 3900 (M4's complex tier gone)."""
    feed = _cpc_t2_practice()
    from claimsim.events.input import MemberTerminated

    feed._input(MemberTerminated(member_id="M4", subscriber_id="M4", payer_id=PAYER,
                                 end="2025-01-31"), "2024-12-20", "M4")
    _, _, payments = _epoch(feed, "2025-01-01", Q1)
    assert _paid(payments, "P1", "2025-01")["cmf"] == 13900
    assert _paid(payments, "P1", "2025-02")["cmf"] == 3900
    assert next(p for p in payments if p["data"]["month"] == "2025-02")["data"]["member_months"] == 3


def test_retroactive_alignment_becomes_a_correction_settled_at_the_next_boundary():
    """P1 and P2 in CPC+ Track 2 as in the correction example (CPCP PBPM 1995 at P1, 1410 at P2;
    M1 tier 1, $9 CMF). After the 2025-01-01 boundary M1 declares P2, effective 2025-02-15. At
    the 2025-04-01 boundary the clock records a correction from 2025-02-15, so M1 belongs to P2
    from March (member months count the first day): P1 is recouped 900 + 1995 + 400 = 3295 for
    March and P2 paid 900 + 1410 + 400 = 2710; February stays with P1."""
    from claimsim.adjudication.projections.epochs import ClockSettings, Plan

    feed = _two_cpc_t2_practices()
    plan = Plan("2024-01-01", "2025-07-01", "2025-10-01", ("2025-01-01", "2025-04-01", "2025-10-01"),
                ClockSettings())

    feed.clock_boundary(plan, "2025-01-01", 1)
    feed.align("M1", "P2", "2025-02-15", at="2025-03-01")
    events = feed.clock_boundary(plan, "2025-04-01", 2)
    (corrected,) = [e["data"] for e in events if e["type"] == "attribution.corrected"]
    assert (corrected["member_id"], corrected["from_practice"], corrected["to_practice"],
            corrected["effective"]) == ("M1", "P1", "P2", "2025-02-15")
    adjustments = sorted((e["data"]["practice_id"], e["data"]["adjusts_month"], e["data"]["kind"],
                          e["data"]["amount"]) for e in events
                         if e["type"] == "payment.prospective" and e["data"]["adjusts_month"])
    assert adjustments == [("P1", "2025-03", "cmf", -900), ("P1", "2025-03", "cpcp", -1995),
                           ("P1", "2025-03", "pbip", -400), ("P2", "2025-03", "cmf", 900),
                           ("P2", "2025-03", "cpcp", 1410), ("P2", "2025-03", "pbip", 400)]
    assert not any(e["type"] == "attribution.assigned" and e["data"]["member_id"] == "M1"
                   for e in events)  # already at P2 on 2025-04-01 through the correction


def test_mcp_track2_month_risk_adjusted_esp_and_ppcp():
    """P1 in MCP Track 2 (h 50 %). M1 and M2, women of 69 on 2025-01-01 (base 0.420); M1 has
    CHF on a 2024 claim (+0.360): raw 780 and 420, normalised over the two to
    780 x 2000 / 1200 = 1300 and 420 x 2000 / 1200 = 700. ESP $10 risk-adjusted: 1300 + 700.
    Expected primary-care FFS: 3 x 9070 + 3 x 12816 = 65658 over 24 member months = 2735.75
    PBPM; PPCP = x 50 % = 1367.875 -> 1368 per member, 2736 for the two."""
    feed = Feed(reference({"P1": ProgramSettings(kind=ProgramKind.MCP_T2, minimum_attributed=1)}))
    feed.enroll("M1", birth="1955-03-01")
    feed.enroll("M2", birth="1955-03-01")
    for month in (3, 6, 9):
        feed.visit("M1", "P1", f"2024-{month:02d}-10", dx=("I50.9",) if month == 3 else ())
        feed.visit("M2", "P1", f"2024-{month:02d}-12", "99214")
    _, _, payments = _epoch(feed, "2025-01-01", Q1)
    esp = next(p["data"] for p in payments if p["data"]["kind"] == "esp" and p["data"]["month"] == "2025-01")
    assert esp["detail"]["members"] == {"M1": 1300, "M2": 700}
    assert _paid(payments, "P1", "2025-01") == {"esp": 2000, "ppcp": 2736}


def test_payments_come_one_practice_at_a_time_and_folding_each_changes_none_of_the_next():
    """The run clock records (folds) each practice's batch before asking for the next: the
    events must be those computed all at once, before any was folded."""
    from claimsim.adjudication.projections.prospective import epoch_payment_batches

    feed = _two_cpc_t2_practices()
    feed.boundary("2025-01-01", 1)
    run = attribute(feed.state, PAYER, "2025-01-01")
    feed.record(run.changes)
    feed.record(practice_statuses(feed.state, run))
    all_at_once = epoch_payments(feed.state, PAYER, "2025-01-01", Q1)
    batches = []
    for batch in epoch_payment_batches(feed.state, PAYER, "2025-01-01", Q1):
        batches.append([(e["data"]["practice_id"], e["data"]["month"], e["data"]["kind"]) for e in batch])
        feed.record(batch)
    assert [{p for p, _, _ in b} for b in batches] == [{"P1"}, {"P2"}]
    assert [k for b in batches for k in b] == [
        (e["data"]["practice_id"], e["data"]["month"], e["data"]["kind"]) for e in all_at_once]
    expected: dict[str, dict[str, int]] = {}
    for e in all_at_once:
        d = e["data"]
        expected.setdefault(f"{PAYER}|{d['practice_id']}|{d['month']}", {})[d["kind"]] = d["amount"]
    assert feed.state.paid_original == expected and len(expected) == 6  # 2 practices x 3 months
