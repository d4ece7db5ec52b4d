"""Claims-based quality as the score PBIP retention and the PCF performance adjustment read
(DOMAIN.md §4 "Quality", §9): on a hand-built Medicare FFS run, five members attributed to one
practice, every rate, score and dollar computed by hand.

The claims (`_claims`), for members M1-M5 (all enrolled from 2024, none in hospice):
- AWV: M1 at its own practice (G0439, 2025-03-01), M2 at another practice (G0438, 2025-05-01,
  still counts), M4's AWV voided (does not count), M3 and M5 none.
- Diabetes (E11.9 on a claim serviced in 2025): M1, M2, M3, M5. Tests: M1 83037 (2025-04-01),
  M3 the CPT II result code 3044F at $0 (2025-04-02: a test whatever it paid), M2 only 83036 on
  2024-12-20 (outside the 2025 performance year; inside the PCF lookback before 2025-07-01),
  M5 none at all.
"""

from __future__ import annotations

from claimsim.events.envelope import new_event
from claimsim.events.input import MemberEnrolled
from claimsim.events.ledger import AttributionAssigned
from claimsim.events.money import apply_rates
from claimsim.events.plans import LineOfBusiness, Payer, medicaid_plan
from claimsim.events.programs import ProgramKind, ProgramSettings

from claimsim.adjudication.audit.explain import payment_formula
from claimsim.adjudication.projections.attribution import attribute
from claimsim.adjudication.projections.claims_quality import (claims_score, pbip_retained_bp,
                                                              practice_quality, score_before,
                                                              score_for_year)
from claimsim.adjudication.projections.prospective import epoch_payments
from claimsim.adjudication.projections.reconciliation import reconcile
from claimsim.adjudication.projections.settings import ProjectionSettings
from claimsim.adjudication.projections.status import practice_statuses

from ..fixtures.projections import PAYER, Feed, reference

MEMBERS = ("M1", "M2", "M3", "M4", "M5")
DM = ("E11.9",)


def _feed(program: ProgramSettings, boundary: str, months: list[str], **settings) -> Feed:
    """P1 in `program`; the five members' 2024 visits make them P1's by plurality at `boundary`,
    then the months are paid there."""
    feed = Feed(reference({"P1": program}),
                ProjectionSettings(quality_source="claims", **settings))
    for m in MEMBERS:
        feed.enroll(m)
        for month in (2, 5, 8):
            feed.visit(m, "P1", f"2024-{month:02d}-10")
    feed.visit("M2", "P1", "2024-12-20", "83036", dx=DM)  # outside 2025, inside the PCF lookback
    _claims(feed)
    feed.boundary(boundary)
    run = attribute(feed.state, PAYER, boundary)
    feed.record(run.changes)
    feed.record(practice_statuses(feed.state, run))
    feed.record(epoch_payments(feed.state, PAYER, boundary, months))
    return feed


def _claims(feed: Feed) -> None:
    feed.visit("M1", "P1", "2025-02-01", dx=DM)
    feed.visit("M1", "P1", "2025-03-01", "G0439")
    feed.visit("M1", "P1", "2025-04-01", "83037", allowed=971, dx=DM)
    feed.visit("M2", "P2", "2025-05-01", "G0438")
    feed.visit("M2", "P1", "2025-02-01", dx=DM)
    feed.visit("M3", "P1", "2025-04-02", "3044F", allowed=0, dx=DM)
    voided = feed.visit("M4", "P1", "2025-03-05", "G0439")
    feed.void(voided, "2025-03-20")
    feed.visit("M5", "P1", "2025-02-10", dx=DM)


CPC1 = ProgramSettings(kind=ProgramKind.CPCP_T1, minimum_attributed=1)


def _p1(reconciled):
    """P1's reconciliation row (P2 has only M2's FFS AWV, and no PBIP) and the events."""
    rows, events = reconciled
    return [r for r in rows if r["practice_id"] == "P1"], events


def test_performance_year_rates_count_awv_anywhere_and_tests_whatever_they_paid():
    """2025: AWV 2 of 5 Medicare members (M1, M2; M4's voided) = 40 %; HbA1c 2 of 4 members
    with diabetes (M1, M3; M2's test was in 2024, M5 has none) = 50 %; score (4000 + 5000) / 2."""
    feed = _feed(CPC1, "2025-01-01", ["2025-01"], claims_quality_min_members=1)
    q = score_for_year(feed.state, PAYER, "P1", 2025)
    assert (q.medicare_members, q.awv_members, q.awv_rate_bp) == (5, 2, 4000)
    assert (q.diabetic_members, q.hba1c_tested, q.hba1c_rate_bp) == (4, 2, 5000)
    assert q.score_bp == 4500


def test_pbip_recouped_below_the_threshold_on_the_claims_score():
    """PBIP paid 5 members x 3 months x $2.50 = 3750; score 45 % < 50 %: all recouped, and the
    recoupment names the measures it was figured from."""
    feed = _feed(CPC1, "2025-01-01", ["2025-01", "2025-02", "2025-03"],
                 claims_quality_min_members=1)
    (row,), (event,) = _p1(reconcile(feed.state, 2025, "2026-04-01"))
    assert (row["quality_bp"], row["pbip_paid"], row["pbip_kept"], row["pbip_recouped"]) == (
        4500, 3750, 0, 3750)
    detail = event["data"]["detail"]
    assert event["data"]["amount"] == -3750
    assert (detail["quality_source"], detail["awv_rate_bp"], detail["hba1c_rate_bp"]) == (
        "claims", 4000, 5000)
    assert detail["quality_period"] == "2025-01-01..2025-12-31"


def test_pbip_kept_at_the_threshold_and_partly_under_a_retained_map():
    kept = _feed(CPC1, "2025-01-01", ["2025-01", "2025-02", "2025-03"],
                 claims_quality_min_members=1, pbip_quality_threshold_bp=4500)
    (row,), events = _p1(reconcile(kept.state, 2025, "2026-04-01"))
    assert (row["pbip_kept"], row["pbip_recouped"], events) == (3750, 0, [])
    # Retained 60 % from a 40 % score: kept 2250, recouped 1500.
    graded = _feed(CPC1, "2025-01-01", ["2025-01", "2025-02", "2025-03"],
                   claims_quality_min_members=1, pbip_retained_map=((0, 0), (4000, 6000), (8000, 10_000)))
    (row,), (event,) = _p1(reconcile(graded.state, 2025, "2026-04-01"))
    assert (row["pbip_kept"], row["pbip_recouped"], event["data"]["amount"]) == (2250, 1500, -1500)
    assert event["data"]["detail"]["retained_bp"] == 6000


def test_too_few_members_for_any_rate_means_no_score_and_pbip_recouped():
    """Default minimum 20 members per rate: 5 and 4 are too few, so no score (as no report)."""
    feed = _feed(CPC1, "2025-01-01", ["2025-01"])
    (row,), (event,) = _p1(reconcile(feed.state, 2025, "2026-04-01"))
    assert (row["quality_bp"], row["pbip_recouped"], event["data"]["amount"]) == (None, 1250, -1250)


PCF = ProgramSettings(kind=ProgramKind.PCF, minimum_attributed=1, leakage_adjustment=False)


def test_pcf_adjustment_reads_the_lookback_before_the_boundary():
    """Boundary 2025-07-01, lookback 12 months (2024-07-01..2025-06-30): AWV 2 of 5 = 40 %;
    HbA1c 3 of 4 = 75 % (M2's 2024-12-20 test is inside it); score (4000 + 7500) / 2 = 5750,
    which the default map (50 %..70 %: +10 %) turns into PBP x 1.10: the practice's risk group 2
    ($45; its members' observed risk averages 1.0-1.2) gives 4950 a member a month."""
    feed = _feed(PCF, "2025-07-01", ["2025-07"], claims_quality_min_members=1)
    (payment,) = [e["data"] for e in feed.log if e["type"] == "payment.prospective"]
    basis = payment["detail"]["basis"]
    assert (basis["awv_rate_bp"], basis["hba1c_tested"], basis["diabetic_members"]) == (4000, 3, 4)
    assert (basis["quality_bp"], basis["performance_bp"]) == (5750, 1000)
    assert (basis["risk_group"], basis["pbp"], basis["pbpm"]) == (2, 4500, 4950)
    assert apply_rates(4500, 10_000, 11_000) == 4950
    assert payment["amount"] == 5 * 4950
    assert basis["quality_period"] == "2024-07-01..2025-06-30"
    assert ("performance 10 %, quality 57.5 % from claims 2024-07-01..2025-06-30: AWV 2 of 5"
            " Medicare members (40 %), HbA1c tested 3 of 4 members with diabetes (75 %))"
            ) in payment_formula(payment)


def test_a_drawn_score_run_ignores_the_claims_and_records_no_measures():
    """The default source: the reported score (none here), no claims-based keys in the basis."""
    feed = Feed(reference({"P1": PCF}))
    for m in MEMBERS:
        feed.enroll(m)
        feed.visit(m, "P1", "2024-05-10")
    _claims(feed)
    feed.boundary("2025-07-01")
    run = attribute(feed.state, PAYER, "2025-07-01")
    feed.record(run.changes)
    feed.record(practice_statuses(feed.state, run))
    feed.record(epoch_payments(feed.state, PAYER, "2025-07-01", ["2025-07"]))
    (payment,) = [e["data"] for e in feed.log if e["type"] == "payment.prospective"]
    assert set(payment["detail"]["basis"]) == {"risk_group", "pbp", "leakage_bp", "leakage_visits",
                                               "qualifying_visits", "performance_bp", "quality_bp",
                                               "pbpm"}
    assert "hba1c" not in feed.state.state()  # checkpoints keep their keys


def test_score_weights_and_minimum_members():
    s = ProjectionSettings(claims_quality_weights_bp=(2500, 7500), claims_quality_min_members=10)
    # (2500 x 4000 + 7500 x 8000) / 10000 = 7000
    assert claims_score(s, 10, 4000, 10, 8000) == 7000
    # Only the AWV rate has 10 members: the score is that rate.
    assert claims_score(s, 10, 4000, 9, 8000) == 4000
    assert claims_score(s, 9, 4000, 9, 8000) is None
    assert pbip_retained_bp(s, None) == 0


def test_score_before_counts_only_lines_in_force_in_the_window():
    feed = _feed(PCF, "2025-07-01", ["2025-07"], claims_quality_min_members=1)
    q = practice_quality(feed.state, [("M4", PAYER)], "2024-07-01", "2025-06-30")
    assert (q.medicare_members, q.awv_members) == (1, 0)  # the voided AWV
    later = practice_quality(feed.state, [("M1", PAYER), ("M2", PAYER)], "2025-04-01", "2026-03-31")
    assert (later.awv_members, later.diabetic_members, later.hba1c_tested) == (1, 1, 1)
    # The boundary's members are the five attributed on it.
    assert score_before(feed.state, PAYER, "P1", "2025-07-01").medicare_members == 5


def test_practice_scope_pools_every_payers_members_and_payer_scope_does_not():
    """M6, a Medicaid member attributed to P1 with diabetes and a 2025 test, joins P1's HbA1c
    denominator under the default practice scope (not the AWV one: not Medicare): HbA1c 3 of 5 =
    60 %, score (4000 + 6000) / 2 = 5000, the same score for both payers. Under payer scope
    Medicare's stays 4500 and Medicaid's is M6 alone: 100 % (no Medicare members, so no AWV rate)."""
    scores = {}
    for scope in ("practice", "payer"):
        feed = _feed(CPC1, "2025-01-01", ["2025-01"], claims_quality_min_members=1,
                     claims_quality_scope=scope)
        _medicaid_member(feed, "M6")
        feed.visit("M6", "P1", "2025-06-01", "83037", allowed=971, dx=DM)
        scores[scope] = {p: score_for_year(feed.state, p, "P1", 2025) for p in (PAYER, "MCD")}
    pooled = scores["practice"][PAYER]
    assert (pooled.medicare_members, pooled.diabetic_members, pooled.hba1c_tested) == (5, 5, 3)
    assert pooled.score_bp == scores["practice"]["MCD"].score_bp == 5000
    assert scores["payer"][PAYER].score_bp == 4500
    alone = scores["payer"]["MCD"]
    assert (alone.medicare_members, alone.diabetic_members, alone.score_bp) == (0, 1, 10_000)


def _medicaid_member(feed: Feed, member: str) -> None:
    """A Medicaid payer (MCD) joins the reference; `member` enrolls with it and is attributed to
    P1 from 2025-01-01."""
    ref = feed.state.reference
    feed.state.reference = ref.model_copy(update={
        "payers": (*ref.payers, Payer(payer_id="MCD", name="Medicaid", lob=LineOfBusiness.MEDICAID)),
        "plans": (*ref.plans, medicaid_plan("MCD-MC", "MCD"))})
    feed._input(MemberEnrolled(member_id=member, subscriber_id=member, payer_id="MCD",
                               plan_id="MCD-MC", start="2024-01-01", end=None,
                               birth_date="1980-01-01", sex="F"), "2024-01-01", member)
    feed.record([new_event(AttributionAssigned(member_id=member, subscriber_id=member,
                                               payer_id="MCD", practice_id="P1",
                                               effective="2025-01-01", basis="plurality"),
                           at="2025-01-01", key=member, cause=feed.input_seq)])
