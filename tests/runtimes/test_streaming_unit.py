"""The streaming runtime's pieces without a broker: the wire check at the worker's door, the
inbound stream's fact positions and the partition processor (same answers as the core,
redelivery, rebuild after a rebalance, one Context per partition). The sink, the faust agent and
the worker's settings are in `test_streaming_worker_unit`.
"""

from __future__ import annotations

import datetime as dt
import shutil

import orjson
import pytest
from hypothesis import given, settings, strategies as st

from ..fixtures.adjudication import contract, line, reference
from claimsim.adjudication.engine.context import Context, Settings
from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator
from claimsim.adjudication.runtimes.processor import PartitionProcessor, family_key
from claimsim.adjudication.runtimes.streaming.producer import (
    InboundBatcher, last_input_seq, plan_stream,
)
from claimsim.adjudication.runtimes.streaming.wire import (
    Bad, Fact, decode_inbound, partition_for,
)
from claimsim.events.encoding import canonical
from claimsim.events.envelope import new_event
from claimsim.events.ledger import AttributionAssigned
from claimsim.events.log import read
from claimsim.events.programs import ProgramKind

from .streaming_shared import (  # noqa: F401 (fixtures, used by name)
    answers_through, embedded_answers, messages, simulated,
)


# -- the wire ---------------------------------------------------------------------------------
def test_not_json_is_a_dead_letter_with_the_parser_reason():
    _, [bad] = decode_inbound(b"{not json")
    assert isinstance(bad, Bad) and bad.reason.startswith("not JSON")


def test_batch_items_are_checked_one_by_one_so_one_bad_item_spares_its_neighbours():
    good = {"seq": 4, "type": "claim.submitted", "key": "", "at": "2025-01-02", "data": 17}
    _, items = decode_inbound(orjson.dumps([good, 3, {"seq": -1, **{k: good[k] for k in
                                                                  ("type", "key", "at", "data")}}]))
    assert items[0] is not None and items[0]["seq"] == 4  # empty key, odd data: the core's to judge
    assert isinstance(items[1], Bad) and "a JSON int" in items[1].reason
    assert isinstance(items[2], Bad) and "seq must be a non-negative integer" in items[2].reason


def test_envelope_missing_fields_names_them():
    _, [bad] = decode_inbound(b'{"seq": 1, "type": "claim.submitted"}')
    assert isinstance(bad, Bad) and bad.reason == "not an envelope: missing key, at, data"


def test_only_attribution_and_practice_status_are_epoch_facts():
    ok = {"seq": 9, "type": "practice.status", "data": {"payer_id": "P"}}
    _, [fact] = decode_inbound(canonical({"fact": ok}))
    assert fact == Fact(9, ok)
    _, [bad] = decode_inbound(canonical({"fact": {**ok, "type": "claim.adjudicated"}}))
    assert isinstance(bad, Bad) and bad.reason.startswith("not an epoch fact")


@given(st.text(max_size=20), st.integers(min_value=1, max_value=64))
def test_partition_of_a_subscriber_is_stable_and_in_range(key, partitions):
    p = partition_for(key, partitions)
    assert 0 <= p < partitions and p == partition_for(key, partitions)


# -- the inbound stream -----------------------------------------------------------------------
def test_facts_are_placed_after_the_answer_they_follow_in_the_ledger(simulated, tmp_path):
    """The embedded ledger answers inputs 0..k, then the run clock writes a fact: the stream must
    carry the fact right before input k+1 (and on every partition)."""
    run = tmp_path / "run"
    shutil.copytree(simulated, run)
    with EmbeddedAdjudicator(run) as rt:
        rt.run(until_seq=40)
        rt.record([new_event(AttributionAssigned(
            member_id="M1", subscriber_id="S1", payer_id="COMMERCIAL", practice_id="PC003",
            effective=dt.date(2025, 3, 1), basis="plurality"), at="2025-03-01", key="S1")])
    items = list(plan_stream(run))
    kinds = [(i.kind, i.envelope["seq"]) for i in items]
    assert kinds[40] == ("fact", 41)  # ledger seq 41: after the manifest and answers 0..39
    assert kinds[39] == ("input", 39) and kinds[41] == ("input", 40)
    batcher = InboundBatcher(partitions=3, batch=1000)
    for item in items:
        list(batcher.add(item))
    per_partition = [orjson.loads(v)["items"] for _, _, v in batcher.flush()]
    assert all(sum("fact" in x for x in batch) == 1 for batch in per_partition)


def test_until_at_stops_the_stream_where_the_embedded_runtime_stops(simulated):
    limit = "2025-07-01"
    last = last_input_seq(simulated, until_at=limit)
    after = next(e for e in read(simulated / "input") if e["at"] >= limit)
    assert last == after["seq"] - 1


def test_batches_keep_each_partitions_order_and_respect_the_batch_size(simulated):
    msgs = messages(simulated, partitions=4, batch=7)
    seen: dict[int, list[int]] = {p: [] for p in range(4)}
    for p, value in msgs:
        message = orjson.loads(value)
        body = message["items"]
        assert len(body) <= 7 and message["pos"] == len(seen[p])  # items the partition had before
        seen[p].extend(x["seq"] for x in body)
        assert all(partition_for(x["key"], 4) == p for x in body)
    for seqs in seen.values():
        assert seqs == sorted(seqs)
    assert sorted(s for seqs in seen.values() for s in seqs) == list(range(last_input_seq(simulated) + 1))


# -- the processor ----------------------------------------------------------------------------
@pytest.mark.parametrize("partitions,batch", [(1, 1), (1, 50), (4, 13)])
def test_processor_gives_the_embedded_answers(simulated, embedded_answers, partitions, batch):
    from claimsim.events.reference import ReferenceData

    processor = PartitionProcessor(ReferenceData.load(simulated), Settings())
    got = answers_through(processor, messages(simulated, partitions, batch), {})
    assert [got[c] for c in sorted(got)] == embedded_answers


def test_a_redelivered_message_re_emits_its_answers_and_writes_nothing(simulated):
    from claimsim.events.reference import ReferenceData

    processor = PartitionProcessor(ReferenceData.load(simulated), Settings())
    msgs = messages(simulated, 2, 25)
    store: dict[bytes, bytes] = {}
    first = [processor.process(p, v, store).ledger for p, v in msgs[:30]]
    before = dict(store)

    class Recording(dict):
        writes = 0

        def __setitem__(self, key, value):
            Recording.writes += 1
            super().__setitem__(key, value)

    again = Recording(store)
    processor.reset()  # a fresh worker: everything comes back from the store
    second = [processor.process(p, v, again).ledger for p, v in msgs[:30]]
    assert canonical(second) == canonical(first)
    assert Recording.writes == 0 and dict(again) == before


def test_after_a_reset_the_partition_is_rebuilt_from_the_store_and_answers_the_same(
        simulated, embedded_answers):
    """A rebalance mid-run: caches dropped, state (families and epoch facts) read back."""
    from claimsim.events.reference import ReferenceData

    processor = PartitionProcessor(ReferenceData.load(simulated), Settings())
    msgs = messages(simulated, 3, 10)
    store: dict[bytes, bytes] = {}
    got = answers_through(processor, msgs[: len(msgs) // 2], store)
    processor.reset()
    got.update(answers_through(processor, msgs[len(msgs) // 2:], store))
    assert [got[c] for c in sorted(got)] == embedded_answers


def test_a_worker_whose_state_lost_its_last_writes_answers_the_same_again(simulated):
    """kill -9 can lose changelog writes whose answers already reached the ledger topic: the next
    worker re-adjudicates those inputs from the older state and must produce the same answers
    (the sink then drops them as at or below its last cause)."""
    from claimsim.events.reference import ReferenceData

    ref = ReferenceData.load(simulated)
    msgs = messages(simulated, 2, 15)
    half, most = len(msgs) // 3, 2 * len(msgs) // 3
    store: dict[bytes, bytes] = {}
    live = PartitionProcessor(ref, Settings())
    answers_through(live, msgs[:half], store)
    stale = dict(store)  # what the changelog held
    first = answers_through(live, msgs[half:most], store)  # answered, but their writes are lost
    second = answers_through(PartitionProcessor(ref, Settings()), msgs[half:most], stale)
    assert second == first and len(first) > 100


@settings(max_examples=12, deadline=None)
@given(st.integers(min_value=1, max_value=6), st.integers(min_value=1, max_value=60),
       st.floats(min_value=0, max_value=1))
def test_any_partitioning_batching_and_rebalance_point_gives_the_embedded_answers(
        simulated, embedded_answers, partitions, batch, rebalance_at):
    from claimsim.events.reference import ReferenceData

    msgs = messages(simulated, partitions, batch)
    cut = int(rebalance_at * len(msgs))
    store: dict[bytes, bytes] = {}
    got = answers_through(PartitionProcessor(ReferenceData.load(simulated), Settings()), msgs[:cut], store)
    got.update(answers_through(PartitionProcessor(ReferenceData.load(simulated), Settings()),
                               msgs[cut:], store))
    assert [got[c] for c in sorted(got)] == embedded_answers


def test_a_message_past_a_gap_is_refused_whole_and_the_partition_resumes_when_the_gap_is_filled(
        simulated, embedded_answers):
    """faust can drop messages around a recovery: a message whose position is past what the
    partition applied changes nothing (the worker then stops); redelivered from the missing one
    on, everything is answered as if nothing had happened."""
    from claimsim.events.reference import ReferenceData

    processor = PartitionProcessor(ReferenceData.load(simulated), Settings())
    msgs = [(p, v) for p, v in messages(simulated, 1, 20)]
    store: dict[bytes, bytes] = {}
    got = answers_through(processor, msgs[:10], store)
    before = dict(store)
    skipped = processor.process(0, msgs[11][1], store)
    assert skipped.gap == (200, 220) and skipped.ledger == [] and store == before
    got.update(answers_through(processor, msgs[10:], store))
    assert [got[c] for c in sorted(got)] == embedded_answers


def test_each_partition_sees_epoch_facts_only_once_they_reach_it():
    """Members A (partition 0) and B (partition 1) both see PCP1 (CPC+ Track 2, h = 40 %) for a
    $100 visit on a plan with no deductible and 20 % coinsurance. An attribution of both to PCP1
    has reached partition 0 but not yet partition 1:
    A: C = 20 % x 10000 = 2000, O = 40 % x (10000 - 2000) = 3200, P = 10000 - 2000 - 3200 = 4800.
    B: C = 2000, O = 0 (not attributed yet), P = 8000."""
    from ..fixtures.adjudication import plan

    ref = reference(plans=[plan(deductible_individual=0, deductible_family=0)],
                    contracts=[contract(ProgramKind.CPCP_T2, hybrid_bp=4000)])
    processor = PartitionProcessor(ref, Settings())
    store: dict[bytes, bytes] = {}
    seq = iter(range(100))

    def enrolled(member: str) -> dict:
        return new_event({"member_id": member, "subscriber_id": member, "payer_id": "COM",
                          "plan_id": "COM-P", "start": "2025-01-01", "end": None,
                          "birth_date": "1960-01-01", "sex": "F"},
                         at="2025-01-01", key=member, type="member.enrolled") | {"seq": next(seq)}

    def visit(member: str) -> dict:
        claim = {"claim_id": f"C-{member}", "frequency": "1", "original_claim_id": None,
                 "member_id": member, "subscriber_id": member, "payer_id": "COM",
                 "billing_tin": "PCP1", "rendering_npi": "N1", "place_of_service": "11",
                 "received": "2025-03-10", "lines": [line("99213", 10_000)]}
        return new_event({"claim": claim}, at="2025-03-10", key=member,
                         type="claim.submitted") | {"seq": next(seq)}

    def attribution(member: str) -> dict:
        return {"seq": 1000 + ord(member[-1]), "type": "attribution.assigned", "data": {
            "member_id": member, "subscriber_id": member, "payer_id": "COM", "practice_id": "PCP1",
            "effective": "2025-01-01", "basis": "plurality"}}

    def send(partition: int, *items: dict) -> list[dict]:
        return processor.process(partition, canonical(list(items)), store).ledger

    send(0, enrolled("A"), {"fact": attribution("A")}, {"fact": attribution("B")})
    send(1, enrolled("B"))
    [a] = send(0, visit("A"))
    [b] = send(1, visit("B"))
    line_a, line_b = a["data"]["lines"][0], b["data"]["lines"][0]
    assert (line_a["cost_share"], line_a["cap_offset"], line_a["plan_paid"]) == (2000, 3200, 4800)
    assert (line_b["cost_share"], line_b["cap_offset"], line_b["plan_paid"]) == (2000, 0, 8000)
    assert store.get(family_key("A")) is not None and b"e:0/" in b"".join(store)
