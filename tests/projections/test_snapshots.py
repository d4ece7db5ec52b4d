"""Monthly payment snapshot (DOMAIN.md §7): FFS by service and by paid date, void adjustments in
the paying month, byte-identical figures at the same position, and the fold's invariants (money
adds up, voids undo, a checkpointed state resumes to the same state as an uninterrupted one)."""

from __future__ import annotations


import orjson
from hypothesis import given, settings, strategies as st

from claimsim.events.encoding import canonical

from claimsim.adjudication.projections.snapshots import all_snapshots, figures, snapshot_batches
from claimsim.adjudication.projections.state import PayerState


from ..fixtures.projections import PAYER, Feed, reference


def test_void_of_an_earlier_month_changes_that_service_month_and_the_paying_month_only():
    """A 99213 (plan paid 9070) serviced and paid in January, voided in March: January by
    service date goes to 0; March by paid date shows -9070, all of it a claim adjustment;
    February is untouched; January by paid date still shows the 9070 paid then."""
    feed = Feed(reference())
    feed.enroll("M1")
    claim = feed.visit("M1", "P1", "2025-01-10")
    feed.visit("M1", "P1", "2025-02-10", "99214")
    feb = figures(feed.state, PAYER, "P1", "2025-02")
    feed.void(claim, "2025-03-05")
    jan = figures(feed.state, PAYER, "P1", "2025-01")
    mar = figures(feed.state, PAYER, "P1", "2025-03")
    assert (jan["ffs_paid_by_service_date"], jan["ffs_paid_by_paid_date"]) == (0, 9070)
    assert (mar["ffs_paid_by_paid_date"], mar["claim_adjustments"], mar["net"]) == (
        -9070, -9070, -9070)
    assert figures(feed.state, PAYER, "P1", "2025-02") == feb


def test_snapshot_at_the_same_position_is_byte_identical():
    """Two states folded from the same events give the same snapshot bytes; one more claim
    changes them."""
    feeds = [Feed(reference()) for _ in range(2)]
    for feed in feeds:
        feed.enroll("M1")
        feed.visit("M1", "P1", "2025-01-10")
    a, b = (canonical(all_snapshots(f.state)) for f in feeds)
    assert a == b
    feeds[0].visit("M1", "P1", "2025-01-20")
    assert canonical(all_snapshots(feeds[0].state)) != a


def test_snapshots_recorded_in_batches_are_all_as_of_where_the_first_was_asked_for():
    """The run clock folds each batch of snapshots before asking for the next; folding one moves
    the state's position, but every snapshot of the set is as of the position before the first
    (three months of P1 and P2, two at a time: batches of 2, 2, 2)."""
    feeds = [Feed(reference()) for _ in range(2)]
    for feed in feeds:
        feed.enroll("M1")
        for month in ("01", "02", "03"):
            feed.visit("M1", "P1", f"2025-{month}-10")
            feed.visit("M1", "P2", f"2025-{month}-12")
    at_once = all_snapshots(feeds[0].state, cause=7)
    position = (feeds[1].state.last_seq, feeds[1].state.last_at)
    batches = []
    for batch in snapshot_batches(feeds[1].state, cause=7, size=2):
        batches.append(batch)
        feeds[1].record(batch)
        assert feeds[1].state.last_seq > position[0]  # the fold moved on
    assert [len(b) for b in batches] == [2, 2, 2]
    assert {(e["data"]["as_of_seq"], e["data"]["as_of_date"]) for b in batches for e in b} == {
        (position[0], position[1])}
    assert canonical([e for b in batches for e in b]) == canonical(at_once)


_claims = st.lists(
    st.tuples(st.sampled_from(["M1", "M2", "M3"]), st.sampled_from(["P1", "P2", "SP"]),
              st.integers(1, 12), st.sampled_from(["99213", "99214", "G0439", "80053"]),
              st.integers(0, 3000), st.booleans()),
    min_size=1, max_size=25)


def _fold(claims) -> Feed:
    feed = Feed(reference())
    for m in ("M1", "M2", "M3"):
        feed.enroll(m)
    ids = []
    for member, practice, month, code, cost_share, void in claims:
        ids.append((feed.visit(member, practice, f"2025-{month:02d}-11", code,
                               cost_share=cost_share, paid=f"2025-{month:02d}-20"), void, month))
    for claim_id, void, month in ids:
        if void:
            feed.void(claim_id, f"2026-{month:02d}-02")
    return feed


@settings(max_examples=40, deadline=None)
@given(_claims)
def test_ffs_in_snapshots_adds_up_to_plan_paid_on_the_ledger(claims):
    """Σ over snapshots of FFS paid, by service date and by paid date, both equal Σ plan paid
    over every adjudicated and reversal line in the ledger."""
    feed = _fold(claims)
    plan_paid = sum(line["plan_paid"] for env in feed.log
                    for field in ("lines", "reversed_lines")
                    for line in env["data"].get(field, ()))
    snaps = [s["data"]["figures"] for s in all_snapshots(feed.state)]
    assert sum(f["ffs_paid_by_service_date"] for f in snaps) == plan_paid
    assert sum(f["ffs_paid_by_paid_date"] for f in snaps) == plan_paid


@settings(max_examples=40, deadline=None)
@given(_claims)
def test_voiding_every_claim_leaves_no_visits_and_no_ffs_by_service_date(claims):
    feed = _fold([(m, p, mo, c, cs, True) for m, p, mo, c, cs, _ in claims])
    assert all(v[0] == 0 and v[1] == 0 for member in feed.state.visits
               for v in feed.state.visit_days(member).values())
    assert all(row[0] == 0 for row in feed.state.money.values())


@settings(max_examples=25, deadline=None)
@given(_claims, st.integers(0, 60))
def test_a_state_restored_from_its_checkpoint_resumes_to_the_same_state(claims, cut):
    """Fold the first `cut` events, round-trip the state through JSON bytes as a checkpoint
    does, fold the rest: the same state as folding all of them in one go."""
    feed = _fold(claims)
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


def _interleave(inputs, ledger):
    """Inputs up to each ledger entry's cause, then the entry (as LedgerFollower does)."""
    out, i = [], 0
    for env in ledger:
        while i < len(inputs) and env.get("cause") is not None and inputs[i]["seq"] <= env["cause"]:
            out.append(inputs[i])
            i += 1
        out.append(env)
    return out + inputs[i:]
