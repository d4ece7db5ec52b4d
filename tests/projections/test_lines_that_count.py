"""Which lines count where (DOMAIN.md §5, §6): denied and reversed lines never count in any
attribution step; a QMB line's cost share is split into what the member owes and what Medicaid
pays; a contract that starts or ends mid-month applies from its own day, whatever the fold asked
before."""

from __future__ import annotations

import datetime as dt

import orjson
from hypothesis import given, settings, strategies as st

from claimsim.events.encoding import canonical
from claimsim.events.envelope import new_event
from claimsim.events.ledger import AttributionAssigned
from claimsim.events.programs import Contract, ProgramKind, ProgramSettings

from claimsim.adjudication.projections.attribution import attribute
from claimsim.adjudication.projections.snapshots import figures
from claimsim.adjudication.projections.state import PayerState

from ..fixtures.projections import FEES, PAYER, Feed, reference
from .test_snapshots import _interleave

AS_OF = "2025-10-01"


def test_a_denied_ccm_line_does_not_win_the_cpc_plus_pre_step():
    """The cpcplus run's S0000593-01 case: P3 holds CPC+ Track 2, so its chronic care management
    line (99490) is denied CO-96 (DOMAIN.md §3.5); P1 has the plurality (two E&M visits to P3's
    one). The denied CCM must not count: P1 by plurality, not P3 by the CCM pre-step."""
    feed = Feed(reference({"P3": ProgramSettings(kind=ProgramKind.CPCP_T2, hybrid_bp=4000)}))
    feed.enroll("M1")
    feed.visit("M1", "P1", "2025-01-10")
    feed.visit("M1", "P1", "2025-03-10")
    feed.visit("M1", "P3", "2025-05-10")
    feed.visit("M1", "P3", "2025-06-10", "99490", status="denied", program="cpcplus_t2")
    a = attribute(feed.state, PAYER, AS_OF).members["M1"]
    assert (a.practice_id, a.basis, a.visits) == ("P1", "plurality", 2)


def test_a_denied_awv_line_does_not_win_the_pcf_pre_step():
    """P2 holds PCF, whose pre-step takes the practice of the latest AWV; P2's AWV line was
    denied, so it does not count and P1's two E&M visits decide."""
    feed = Feed(reference({"P2": ProgramSettings(kind=ProgramKind.PCF)}))
    feed.enroll("M1")
    feed.visit("M1", "P1", "2025-01-10")
    feed.visit("M1", "P1", "2025-02-10")
    feed.visit("M1", "P2", "2025-04-01", "G0439", status="denied")
    a = attribute(feed.state, PAYER, AS_OF).members["M1"]
    assert (a.practice_id, a.basis) == ("P1", "plurality")


def test_a_voided_ccm_line_no_longer_counts_in_the_cpc_plus_pre_step():
    """P3 (CPC+ Track 1, CCM allowed) billed a CCM that was later voided: back to P1's plurality."""
    feed = Feed(reference({"P3": ProgramSettings(kind=ProgramKind.CPCP_T1)}))
    feed.enroll("M1")
    feed.visit("M1", "P1", "2025-01-10")
    ccm = feed.visit("M1", "P3", "2025-03-10", "99490")
    assert attribute(feed.state, PAYER, AS_OF).members["M1"].basis == "ccm"
    feed.void(ccm, "2025-05-01")
    a = attribute(feed.state, PAYER, AS_OF).members["M1"]
    assert (a.practice_id, a.basis) == ("P1", "plurality")


def test_99201_counts_as_a_primary_care_visit_in_the_years_it_was_valid():
    """2020: two 99201 visits (new-patient E&M, deleted only from 2021) at P2 and one 99213 at
    P1: as of 2021-01-01, P2 has the plurality 2-1."""
    feed = Feed(reference())
    feed.enroll("M1", start="2019-01-01")
    feed.visit("M1", "P2", "2020-03-02", "99201", allowed=4_500)
    feed.visit("M1", "P2", "2020-05-04", "99201", allowed=4_500)
    feed.visit("M1", "P1", "2020-07-06", "99213")
    a = attribute(feed.state, PAYER, "2021-01-01").members["M1"]
    assert (a.practice_id, a.basis, a.visits) == ("P2", "plurality", 2)


def test_snapshot_member_cost_share_is_what_members_owe_with_medicaid_beside_it():
    """Two 99213 lines (allowed 9070) at P1 in March: M1 (not QMB) owes 1814 coinsurance; M2 is a
    QMB dual whose 1814 Medicaid pays. Members owe 1814, Medicaid 1814; the line's cost share
    (PR, 3628) still adds up with plan paid and offsets to allowed."""
    feed = Feed(reference())
    feed.enroll("M1")
    feed.enroll("M2")
    feed.visit("M1", "P1", "2025-03-05", cost_share=1814)
    feed.visit("M2", "P1", "2025-03-06", cost_share=1814, medicaid_cost_share=1814)
    f = figures(feed.state, PAYER, "P1", "2025-03")
    assert (f["member_cost_share"], f["medicaid_cost_share"]) == (1814, 1814)
    assert f["ffs_paid_by_service_date"] == 2 * (FEES["99213"] - 1814)


def _mid_month_reference(start: str, end: str | None) -> object:
    ref = reference()
    cpc = Contract(payer_id=PAYER, practice_id="P1",
                   program=ProgramSettings(kind=ProgramKind.CPCP_T2, hybrid_bp=4000),
                   start=dt.date.fromisoformat(start),
                   end=None if end is None else dt.date.fromisoformat(end))
    return ref.model_copy(update={"contracts": (cpc,)})


def _leakage_cost(days: list[str], start: str, end: str | None) -> int:
    """M1 attributed to P1 from January; 99213 visits (plan paid 9070 each) at P2 on `days`:
    the leakage cost P1's March snapshot shows (capitated services paid elsewhere while P1's
    hybrid contract is in force)."""
    feed = Feed(_mid_month_reference(start, end))
    feed.enroll("M1")
    _attribute(feed, "M1", "P1", "2025-01-01")
    for day in days:
        feed.visit("M1", "P2", day)
    return figures(feed.state, PAYER, "P1", "2025-03")["leakage_cost"]


def test_a_contract_starting_mid_month_applies_from_its_day_whatever_was_asked_first():
    """Contract from 2025-03-15: a P2 visit on 03-10 is before it (no leakage), one on 03-20 is
    under it (9070). Folding 03-10 first must not make 03-20 answer "no capitated services"."""
    assert _leakage_cost(["2025-03-20"], "2025-03-15", None) == FEES["99213"]
    assert _leakage_cost(["2025-03-10", "2025-03-20"], "2025-03-15", None) == FEES["99213"]


def test_a_contract_ending_mid_month_stops_after_its_last_day_whatever_was_asked_first():
    """Contract until 2025-03-15 (its last day): 03-10 is under it (9070), 03-20 is not; asked in
    either order the answer is 9070."""
    assert _leakage_cost(["2025-03-20", "2025-03-10"], "2025-01-01", "2025-03-15") == FEES["99213"]
    assert _leakage_cost(["2025-03-10", "2025-03-20"], "2025-01-01", "2025-03-15") == FEES["99213"]


def _attribute(feed: Feed, member: str, practice: str, effective: str) -> None:
    feed.record([new_event(AttributionAssigned(
        member_id=member, subscriber_id=member, payer_id=PAYER, practice_id=practice,
        effective=dt.date.fromisoformat(effective), basis="plurality"), at=effective, key=member)])


_visits = st.lists(st.tuples(st.sampled_from(["M1", "M2"]), st.sampled_from(["P1", "P2", "P3"]),
                             st.integers(2, 4), st.sampled_from([1, 10, 14, 15, 16, 20, 28]), st.booleans()),
                   min_size=1, max_size=14)


@settings(max_examples=60, deadline=None)
@given(_visits, st.integers(0, 40))
def test_fold_resumed_from_any_checkpoint_equals_the_uninterrupted_fold_with_mid_month_contracts(
        visits, cut):
    """P1's hybrid contract runs 2025-02-15..2025-04-14 and P2's from 2025-03-15; M1 is
    attributed to P1 and M2 to P2 from January. Visits on any day, some voided: folding the
    first `cut` events, checkpointing (JSON bytes) and folding the rest gives the same state as
    one uninterrupted fold, so leakage on a mid-month contract never depends on which days the
    fold happened to ask about first."""
    contracts = tuple(
        Contract(payer_id=PAYER, practice_id=p, start=dt.date.fromisoformat(s),
                 end=None if e is None else dt.date.fromisoformat(e),
                 program=ProgramSettings(kind=ProgramKind.CPCP_T2, hybrid_bp=4000))
        for p, s, e in (("P1", "2025-02-15", "2025-04-14"), ("P2", "2025-03-15", None)))
    ref = reference().model_copy(update={"contracts": contracts})
    feed = Feed(ref)
    for member, home in (("M1", "P1"), ("M2", "P2")):
        feed.enroll(member)
        _attribute(feed, member, home, "2025-01-01")
    for member, practice, month, day, void in visits:
        claim = feed.visit(member, practice, f"2025-{month:02d}-{day:02d}",
                           paid=f"2025-{month:02d}-28")
        if void:
            feed.void(claim, "2025-07-01")
    merged = _interleave(feed.inputs, feed.log)
    whole = PayerState(ref)
    for env in merged:
        whole.apply(env)
    part = PayerState(ref)
    for env in merged[:cut]:
        part.apply(env)
    resumed = PayerState(ref)
    resumed.restore(orjson.loads(canonical(part.state())))
    for env in merged[cut:]:
        resumed.apply(env)
    assert canonical(resumed.state()) == canonical(whole.state())
