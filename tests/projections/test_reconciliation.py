"""Year-end reconciliation (DOMAIN.md §7): after the run-out window, prospective paid against
shadow FFS, PBIP kept or recouped on the quality threshold, leakage totals, cost share basis."""

from __future__ import annotations


from claimsim.events.programs import ProgramKind, ProgramSettings

from claimsim.adjudication.projections.attribution import attribute
from claimsim.adjudication.projections.prospective import epoch_payments
from claimsim.adjudication.projections.reconciliation import due, reconcile
from claimsim.adjudication.projections.status import practice_statuses


from ..fixtures.projections import PAYER, Feed, reference


def _year(quality_bp: int) -> Feed:
    """P1 CPC+ Track 1 ($2.50 PBIP), two members with six 99213 visits each in 2024; paid for
    Jan-Mar 2025; one capitated-service claim in 2025 (shadow FFS 7256)."""
    feed = Feed(reference({"P1": ProgramSettings(kind=ProgramKind.CPCP_T1,
                                                 minimum_attributed=1)}))
    for m in ("M1", "M2"):
        feed.enroll(m)
        for month in range(1, 12, 2):
            feed.visit(m, "P1", f"2024-{month:02d}-10")
    feed.boundary("2025-01-01")
    run = attribute(feed.state, PAYER, "2025-01-01")
    feed.record(run.changes)
    feed.record(practice_statuses(feed.state, run))
    feed.record(epoch_payments(feed.state, PAYER, "2025-01-01", ["2025-01", "2025-02", "2025-03"]))
    feed.visit("M1", "P1", "2025-02-03", cost_share=1814, cap_offset=0, capitated=True,
               attributed=True, program="cpcplus_t1")
    feed.quality("P1", 2025, quality_bp, "2026-02-01")
    return feed


def test_run_out_window_closes_three_months_after_year_end():
    assert not due(2025, "2026-03-31", 3)
    assert due(2025, "2026-04-01", 3)
    assert due(2025, "2026-01-01", 0)


def test_pbip_recouped_below_the_quality_threshold():
    """Quality 40 % < 50 %: PBIP paid 3 months x 2 members x 250 = 1500 is recouped in April 2026
    as a PBIP adjustment of December 2025. CMF: tiers by rank, M1 tier 1 ($6), M2 tier 3 ($16):
    2200 a month, 6600 for the quarter; prospective total 8100."""
    feed = _year(4000)
    rows, events = reconcile(feed.state, 2025, "2026-04-01")
    (row,) = rows
    assert row["prospective"] == {"cmf": 6600, "pbip": 1500}
    assert (row["pbip_paid"], row["pbip_kept"], row["pbip_recouped"]) == (1500, 0, 1500)
    assert row["shadow_ffs"] == 9070 - 1814
    assert row["prospective_minus_shadow_ffs"] == 8100 - 7256
    assert row["cost_share_basis"] == "full"
    (event,) = events
    d = event["data"]
    assert (d["kind"], d["amount"], d["month"], d["adjusts_month"]) == ("pbip", -1500, "2026-04",
                                                                         "2025-12")
    feed.record(events)
    rows, again = reconcile(feed.state, 2025, "2026-07-01")
    assert again == []  # reconciled once
    assert (rows[0]["pbip_paid"], rows[0]["pbip_recouped"], rows[0]["prospective"]["pbip"]) == (
        1500, 1500, 0)


def test_pbip_kept_at_or_above_the_threshold():
    feed = _year(5000)
    rows, events = reconcile(feed.state, 2025, "2026-04-01")
    assert (rows[0]["pbip_kept"], rows[0]["pbip_recouped"], events) == (1500, 0, [])
