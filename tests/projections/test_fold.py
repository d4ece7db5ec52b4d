"""The payer-state fold by concern: capitated groups follow contracts that start or end mid-month
whatever days the fold looked up before, a fold resumed from any checkpoint equals the
uninterrupted fold (with such contracts), the checkpoint keeps its keys, and the money view sums
the rows by name."""

from __future__ import annotations

import datetime as dt

import orjson
from hypothesis import given, settings, strategies as st

from claimsim.events.encoding import canonical
from claimsim.events.programs import Contract, ProgramKind, ProgramSettings
from claimsim.events.reference import ReferenceData

from claimsim.adjudication.projections.money import MoneyTotals, money_by_practice, money_totals
from claimsim.adjudication.projections.snapshots import figures
from claimsim.adjudication.projections.state import PayerState

from ..fixtures.projections import FEES, PAYER, Feed, reference
from .test_snapshots import _interleave

CPCP = ProgramSettings(kind=ProgramKind.CPCP_T2)  # capitates PC E&M, AWV and care management


def _reference(start: str, end: str | None = None) -> ReferenceData:
    """The projections' test region with P2 under CPC+ Track 2 from `start` to `end`."""
    ref = reference()
    contract = Contract(payer_id=PAYER, practice_id="P2", program=CPCP,
                        start=dt.date.fromisoformat(start),
                        end=None if end is None else dt.date.fromisoformat(end))
    return ReferenceData(payers=ref.payers, plans=ref.plans, fee_schedules=ref.fee_schedules,
                         payer_fee_schedule=ref.payer_fee_schedule, practices=ref.practices,
                         contracts=(contract,))


def _leaked(ref: ReferenceData, days: list[str]) -> int:
    """M1, attributed to P2 all along, sees P1 (a 99213, plan paid 9070) on each of `days`:
    P2's March leakage cost."""
    feed = Feed(ref)
    feed.enroll("M1")
    feed.assign("M1", "P2", "2024-01-01")
    for day in days:
        feed.visit("M1", "P1", day)
    return figures(feed.state, PAYER, "P2", "2025-03")["leakage_cost"]


def test_a_contract_starting_mid_month_capitates_from_its_first_day_whatever_was_asked_before():
    """P2's capitation starts 2025-03-15: a P1 visit on 03-10 is not capitated leakage, one on
    03-20 is (9070). A fold that looked up 03-10 first answers 03-20 as a fresh state does."""
    ref = _reference("2025-03-15")
    assert FEES["99213"] == 9070
    assert _leaked(ref, ["2025-03-20"]) == 9070
    assert _leaked(ref, ["2025-03-10", "2025-03-20"]) == 9070
    assert _leaked(ref, ["2025-03-10"]) == 0


def test_a_contract_ending_mid_month_stops_capitating_after_its_last_day():
    """P2's capitation runs to 2025-03-15 inclusive: 03-15 leaks, 03-20 does not, in either
    order of lookup."""
    ref = _reference("2024-01-01", "2025-03-15")
    assert _leaked(ref, ["2025-03-20", "2025-03-15"]) == 9070
    assert _leaked(ref, ["2025-03-15", "2025-03-20"]) == 9070
    assert _leaked(ref, ["2025-03-20"]) == 0


_CODES = ("99213", "99214", "G0439", "80053")  # the first three capitated under CPC+, not labs
_HOME = {"M1": "P2", "M2": "P2", "M3": "P3"}

_visits = st.lists(
    st.tuples(st.sampled_from(sorted(_HOME)), st.sampled_from(["P1", "P2", "P3", "SP"]),
              st.integers(1, 4), st.integers(1, 28), st.sampled_from(_CODES),
              st.integers(0, 2000), st.booleans()),
    min_size=1, max_size=20)
_contract = st.tuples(st.integers(1, 4), st.integers(1, 28), st.none() | st.integers(0, 60))


def _fold_with_contract(visits, contract) -> tuple[Feed, str, str | None]:
    month, day, length = contract
    start = dt.date(2025, month, day)
    end = None if length is None else start + dt.timedelta(days=length)
    feed = Feed(_reference(start.isoformat(), end and end.isoformat()))
    for member, home in _HOME.items():
        feed.enroll(member)
        feed.assign(member, home, "2024-01-01")
    ids = []
    for member, practice, mo, d, code, cost_share, void in visits:
        day_iso = f"2025-{mo:02d}-{d:02d}"
        ids.append((feed.visit(member, practice, day_iso, code, cost_share=cost_share,
                               paid=day_iso), void))
    for claim_id, void in ids:
        if void:
            feed.void(claim_id, "2025-06-30")
    return feed, start.isoformat(), end and end.isoformat()


@settings(max_examples=40, deadline=None)
@given(_visits, _contract, st.integers(0, 80))
def test_a_fold_resumed_from_any_checkpoint_equals_the_uninterrupted_fold_across_contract_dates(
        visits, contract, cut):
    """P2's contract starts and may end on any day of a month. Fold the first `cut` events,
    checkpoint the state as JSON bytes, resume in a new state: the same state as one fold of all
    of them, and as the live fold. P2's leakage cost is, by hand, the plan paid on capitated-group
    claims of P2's members billed elsewhere on days its contract covers (voids net out)."""
    feed, start, end = _fold_with_contract(visits, contract)
    merged = _interleave(feed.inputs, feed.log)
    whole = PayerState(feed.state.reference)
    for env in merged:
        whole.apply(env)
    part = PayerState(feed.state.reference)
    for env in merged[:cut]:
        part.apply(env)
    resumed = PayerState(feed.state.reference)
    resumed.restore(orjson.loads(canonical(part.state())))
    for env in merged[cut:]:
        resumed.apply(env)
    assert canonical(resumed.state()) == canonical(whole.state()) == canonical(feed.state.state())
    expected = sum(
        FEES[code] - cost_share for member, practice, mo, d, code, cost_share, void in visits
        if not void and _HOME[member] == "P2" and practice != "P2" and code != "80053"
        and start <= f"2025-{mo:02d}-{d:02d}" and (end is None or f"2025-{mo:02d}-{d:02d}" <= end))
    assert money_totals(whole.money, prefix=f"{PAYER}|P2|").leakage_cost == expected


def test_the_checkpoint_keeps_the_keys_it_always_had():
    """`audit verify` compares a saved checkpoint with a replay's: the split fold keeps the 24
    keys (and their JSON shapes, checked byte for byte by the resume properties)."""
    assert set(PayerState(reference()).state()) == {
        "last_seq", "last_at", "input_seq", "members", "alignments", "quality", "visits", "ffs",
        "dx", "pending_dx", "attribution", "status", "facts", "paid", "paid_original",
        "paid_basis", "adjusted_in", "adjusted_for", "money", "dirty", "trueup", "boundaries",
        "snapshots", "reconciled"}


def test_flat_fee_lines_since_the_last_boundary_are_checkpointed_only_while_there_are_some():
    """PCF's performance adjustment on flat fees reads the flat-fee lines paid since the last
    boundary (`fold.flat_fees`): a checkpoint holds them when there are some, and is otherwise
    (as at a run's end, after its closing boundary) what it was before they were kept, so a
    checkpoint written before verifies; the lines a boundary hands over are not state."""
    from claimsim.adjudication.projections.fold.flat_fees import book

    state = PayerState(reference({"P1": ProgramSettings(kind=ProgramKind.PCF)}))
    assert set(state.state()) == set(PayerState(reference()).state())
    book(state, "COM", "P1", "M1", "2025-01", 3266, 1)
    assert set(state.state()) - set(PayerState(reference()).state()) == {"flat_fees"}
    assert b'"flat_fees":' in b"".join(state.state_pieces())
    restored = PayerState(state.reference)
    restored.restore(orjson.loads(b"".join(state.state_pieces())))
    assert restored.flat_fees == state.flat_fees


def test_money_totals_sum_rows_by_name_over_a_prefix_or_months():
    """Two January visits at P1 (99213 with 1814 cost share: plan paid 7256; 99214 plan paid
    12816) and one February visit at P2 (99213, plan paid 9070)."""
    feed = Feed(reference())
    feed.enroll("M1")
    feed.visit("M1", "P1", "2025-01-10", cost_share=1814)
    feed.visit("M1", "P1", "2025-01-20", "99214")
    feed.visit("M1", "P2", "2025-02-10")
    p1 = money_totals(feed.state.money, prefix=f"{PAYER}|P1|")
    assert (p1.ffs_by_service_date, p1.cost_share, p1.allowed) == (
        7256 + FEES["99214"], 1814, 9070 + FEES["99214"])
    assert money_totals(feed.state.money, months=["2025-02"]).ffs_by_paid_date == 9070
    assert money_totals(feed.state.money).ffs_by_service_date == 7256 + FEES["99214"] + 9070
    by = money_by_practice(feed.state.money, ["2025-01"])
    assert list(by) == [(PAYER, "P1")] and by[(PAYER, "P1")] == p1
    assert money_totals({}) == MoneyTotals()


def test_a_practice_under_its_minimum_volume_has_no_leakage_cost():
    """P2 (CPC+ Track 2 all year) is treated as FFS from 2025-03-15 (`practice.status` inactive:
    under its minimum volume, DOMAIN.md): a P1 visit on 03-10 leaks capitated FFS (9070), one on
    03-20 is paid FFS once, like any FFS practice's (0); active again from 03-25, 03-28 leaks."""
    from claimsim.events.envelope import new_event
    from claimsim.events.ledger import PracticeStatus

    def status(day: str, active: bool) -> dict:
        return new_event(PracticeStatus(payer_id=PAYER, practice_id="P2",
                                        program=ProgramKind.CPCP_T2,
                                        effective=dt.date.fromisoformat(day), active=active),
                         at=day, key="P2", cause=0)

    def leaked(days: list[str]) -> int:
        feed = Feed(_reference("2025-01-01"))
        feed.enroll("M1")
        feed.assign("M1", "P2", "2024-01-01")
        feed.record([status("2025-03-15", False), status("2025-03-25", True)])
        for day in days:
            feed.visit("M1", "P1", day)
        return figures(feed.state, PAYER, "P2", "2025-03")["leakage_cost"]

    assert leaked(["2025-03-10"]) == FEES["99213"] == 9070
    assert leaked(["2025-03-20"]) == 0
    assert leaked(["2025-03-10", "2025-03-20", "2025-03-28"]) == 2 * 9070
