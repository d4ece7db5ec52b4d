"""The streaming runtime's pieces without a broker: the wire check at the worker's door, the
partition processor (same answers as the core, redelivery, rebuild after a rebalance, one Context
per partition), the inbound stream's fact positions, the sink's reorder buffer, and the faust
agent itself through `agent.test_context()` with the in-memory table.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import sys
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings, strategies as st


from ..fixtures.adjudication import contract, line, reference
from ..fixtures.run_dirs import simulated_year
from claimsim.adjudication.engine.context import Context, Settings
from claimsim.adjudication.engine.core import adjudicate
from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator
from claimsim.adjudication.runtimes.processor import PartitionProcessor, family_key
from claimsim.adjudication.runtimes.streaming.producer import (
    InboundBatcher, StreamItem, last_input_seq, plan_stream,
)
from claimsim.adjudication.runtimes.streaming.sink import LedgerSink
from claimsim.adjudication.runtimes.streaming.wire import (
    Bad, Fact, decode_inbound, fact_item, input_item, partition_for,
)
from claimsim.events.encoding import canonical
from claimsim.events.envelope import new_event
from claimsim.events.ledger import AttributionAssigned
from claimsim.events.log import read
from claimsim.events.programs import ProgramKind

ANSWER_KEYS = ("type", "v", "at", "key", "cause", "data")


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    return simulated_year(tmp_path_factory.mktemp("unit") / "run", members=150, seed=5)


@pytest.fixture(scope="module")
def embedded_answers(simulated, tmp_path_factory) -> list[dict]:
    run = tmp_path_factory.mktemp("unit-expected") / "run"
    shutil.copytree(simulated, run)
    with EmbeddedAdjudicator(run) as rt:
        rt.run()
    return [{k: e[k] for k in ANSWER_KEYS} for e in read(run / "ledger", 1)]


def messages(run_dir: Path, partitions: int, batch: int) -> list[tuple[int, bytes]]:
    batcher = InboundBatcher(partitions, batch)
    out = [(p, v) for item in plan_stream(run_dir) for p, _, v in batcher.add(item)]
    return out + [(p, v) for p, _, v in batcher.flush()]


def answers_through(processor: PartitionProcessor, msgs, store) -> dict[int, dict]:
    out: dict[int, dict] = {}
    for p, value in msgs:
        for event in processor.process(p, value, store).ledger:
            out.setdefault(event["cause"], orjson.loads(canonical(event)))
    return out


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


# -- the sink ---------------------------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=1, max_value=400))
def test_sink_writes_in_cause_order_whatever_order_and_repeats_answers_arrive(
        simulated_for_sink, seed, chunk):
    import random

    run, expected = simulated_for_sink
    ledger = run / "ledger"
    shutil.rmtree(ledger, ignore_errors=True)
    answers = [dict(e) for e in expected] * 2  # every answer delivered twice
    random.Random(seed).shuffle(answers)
    with LedgerSink(run) as sink:
        for i in range(0, len(answers), chunk):
            sink.offer([dict(a) for a in answers[i:i + chunk]])
        assert sink.dropped == len(expected)
    written = [{k: e[k] for k in ANSWER_KEYS} for e in read(ledger, 1)]
    assert written == expected


@pytest.fixture(scope="module")
def simulated_for_sink(simulated, embedded_answers, tmp_path_factory):
    run = tmp_path_factory.mktemp("sink") / "run"
    run.mkdir()
    shutil.copytree(simulated / "input", run / "input")
    for name in ("reference.json", "run.json"):
        shutil.copy(simulated / name, run / name)
    return run, embedded_answers


def test_restarted_sink_resumes_after_the_last_cause_and_drops_everything_at_or_below_it(
        simulated_for_sink):
    run, expected = simulated_for_sink
    shutil.rmtree(run / "ledger", ignore_errors=True)
    with LedgerSink(run) as sink:
        sink.offer([dict(a) for a in expected[:100]])
    with LedgerSink(run) as sink:
        assert sink.last_cause == 99
        assert sink.offer([dict(a) for a in expected[50:150]]) == 50 and sink.dropped == 50
    assert [{k: e[k] for k in ANSWER_KEYS} for e in read(run / "ledger", 1)] == expected[:150]


# -- the faust agent (no broker: agent.test_context with the in-memory table) ------------------
def test_faust_agent_applies_the_core_and_publishes_each_messages_answers(
        simulated, embedded_answers, monkeypatch, tmp_path):
    import faust.topics

    from claimsim.adjudication.runtimes.streaming.app import build_app
    from claimsim.adjudication.runtimes.streaming.topics import RunTopics
    from claimsim.events.reference import ReferenceData

    topics = RunTopics("unit")
    app = build_app(topics, "127.0.0.1:1", 2, ReferenceData.load(simulated), Settings(),
                    datadir=tmp_path / "faust")
    app.finalize()
    app.flow_control.resume()
    sent: list[tuple[str, int | None, bytes]] = []

    async def capture(self, *args, **kwargs):
        sent.append((self.get_topic_name(), kwargs.get("partition"), kwargs.get("value")))

    monkeypatch.setattr(faust.topics.Topic, "send", capture)
    msgs = messages(simulated, 2, 20)

    async def run() -> None:
        async with app.claimsim_agent.test_context() as agent:
            for p, value in msgs:
                await agent.put(value, partition=p)
            await agent.put(b"garbage", partition=1)

    asyncio.run(run())
    ledger = [(p, orjson.loads(v)) for name, p, v in sent if name == topics.ledger]
    got = {e["cause"]: e for _, batch in ledger for e in batch}
    assert [got[c] for c in sorted(got)] == embedded_answers
    assert len(ledger) == len(msgs)
    dead = [orjson.loads(v) for name, _, v in sent if name == topics.dead_letter]
    assert [(d["reason"][:8], d["partition"], d["raw"]) for d in dead] == [("not JSON", 1, "garbage")]
    table = app.claimsim_table
    assert {k for k in table.keys() if k.startswith(b"f:")} == {
        family_key(e["key"]) for e in embedded_answers}


# -- the CLI's argument errors (one line, exit 2, no broker needed) -----------------------------
@pytest.mark.parametrize("args,message", [
    (["--partitions", "0"], "--partitions must be at least 1"),
    (["--workers", "0"], "--workers 0 attaches to workers you start yourself"),
    (["--workers", "-1", "--prefix", "p"], "--workers must be 0 (attach) or more"),
])
def test_adjudicate_kafka_argument_errors_are_one_line(simulated, tmp_path, capsys, args, message):
    from claimsim.cli import main

    run = tmp_path / "run"
    shutil.copytree(simulated, run)
    assert main(["adjudicate", str(run), "--runtime", "kafka", "--no-progress", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_negative_family_cache_is_a_one_line_error_before_any_broker_is_asked(simulated, capsys):
    from claimsim.cli import main

    assert main(["worker", str(simulated), "--prefix", "p", "--bootstrap", "127.0.0.1:1",
                 "--cache-families", "-1"]) == 2
    err = capsys.readouterr().err
    assert "--cache-families must be 0 (every family) or more" in err and err.count("\n") == 1


def test_worker_runs_at_least_once_with_one_actor_and_no_standby_state(simulated, tmp_path):
    """DESIGN.md's faust hazards: exactly-once has open loss/duplicate reports, and concurrency > 1
    can commit past an unfinished message; both would break the ledger's guarantees."""
    from faust.types.enums import ProcessingGuarantee

    from claimsim.adjudication.runtimes.streaming.app import build_app
    from claimsim.adjudication.runtimes.streaming.topics import RunTopics
    from claimsim.events.reference import ReferenceData

    app = build_app(RunTopics("conf"), "127.0.0.1:1", 4, ReferenceData.load(simulated), Settings(),
                    datadir=tmp_path / "faust")
    assert app.conf.processing_guarantee is ProcessingGuarantee.AT_LEAST_ONCE
    assert app.claimsim_agent.concurrency == 1
    assert app.conf.table_standby_replicas == 0 and str(app.conf.store) == "memory:"
    assert app.claimsim_table.changelog_topic.get_topic_name() == "conf-family_state-changelog"


def test_a_messages_answers_are_split_into_ledger_messages_under_the_size_limit(embedded_answers):
    from claimsim.adjudication.runtimes.streaming.wire import decode_ledger, encode_ledger

    chunks = encode_ledger(embedded_answers, limit=20_000)
    assert len(chunks) > 1 and all(len(c) <= 20_000 for c in chunks)
    assert [e for c in chunks for e in decode_ledger(c)] == embedded_answers
    assert encode_ledger([]) == []


def test_a_foreign_message_with_a_stale_seq_is_a_dead_letter_and_the_worker_goes_on():
    """Family M1 applied seqs 0 and 2; a message from outside the stream claims seq 1 for M1.
    It was never applied, so it cannot be a redelivery: a dead letter naming the seqs, and the
    next input (seq 3) is still answered. (Found by the fuzz suite: it used to raise.)"""
    processor = PartitionProcessor(reference(), Settings())
    store: dict = {}

    def enrolled(seq: int) -> dict:
        env = new_event({"member_id": "M1", "subscriber_id": "M1", "payer_id": "COM",
                         "plan_id": "COM-P", "start": "2025-01-01", "birth_date": "1960-01-01",
                         "sex": "F"}, at="2025-01-01", key="M1", type="member.enrolled")
        env["seq"] = seq
        return env

    out = processor.apply(0, None, [enrolled(0), enrolled(2)], store)
    assert [e["cause"] for e in out.ledger] == [0, 2] and out.dead == []
    out = processor.apply(0, None, [enrolled(1), enrolled(3)], store)
    assert [e["cause"] for e in out.ledger] == [3]
    assert len(out.dead) == 1 and "input seq 1 is at or before family M1's last applied seq 2" in out.dead[0][0]


def test_an_attached_run_says_when_no_worker_has_answered_for_a_minute(caplog):
    from claimsim.adjudication.runtimes.streaming.runner import StallWatch

    class Sink:
        last_cause = 41

    now = [100.0]
    watch = StallWatch(Sink(), "myrun", Path("runs/x"), after_s=60)
    watch.clock = lambda: now[0]
    watch.since = now[0]
    now[0] = 159.0
    assert watch.check() is False  # 59 s: not yet
    now[0] = 160.5
    with caplog.at_level("WARNING"):
        assert watch.check() is True
    assert "no answer for 60 s (last answered input 41): is a worker running? start one with:" \
           " claimsim worker runs/x --prefix myrun" in caplog.text
    Sink.last_cause = 42  # an answer: the clock starts again
    now[0] = 200.0
    assert watch.check() is False and watch.since == 200.0


def test_a_worker_session_is_six_seconds_unless_the_environment_asks_for_longer(monkeypatch):
    # 6 s: the shortest session a broker accepts by default (group.min.session.timeout.ms), so
    # a worker killed with -9 holds its partitions (and with them the whole ledger) no longer.
    from claimsim.adjudication.runtimes.streaming.app import SESSION_TIMEOUT_ENV, session_timeout
    from claimsim.events.errors import UserError

    monkeypatch.delenv(SESSION_TIMEOUT_ENV, raising=False)
    assert session_timeout() == 6.0
    monkeypatch.setenv(SESSION_TIMEOUT_ENV, "45")
    assert session_timeout() == 45.0
    for bad, says in (("2", "at least 3 s"), ("soon", "seconds, a number")):
        monkeypatch.setenv(SESSION_TIMEOUT_ENV, bad)
        with pytest.raises(UserError, match=f"{SESSION_TIMEOUT_ENV}={bad!r}: {says}"):
            session_timeout()


def test_a_commit_waits_for_the_table_writes_issued_before_it_and_not_for_later_ones():
    # faust's own buffer flush sends until the buffer is empty, which a busy agent never lets it
    # be: commits waited for the whole run. The flush before a commit now waits exactly for the
    # changelog writes issued before it began (those of the messages its offsets cover).
    from types import SimpleNamespace

    from claimsim.adjudication.runtimes.streaming.app import commits_wait_for_table_writes

    async def scenario():
        loop = asyncio.get_running_loop()
        sent: list[asyncio.Future] = []

        def send_changelog(partition, key, value):
            sent.append(loop.create_future())
            return sent[-1]

        async def faust_flush():  # the agent keeps its buffer full: it would never return
            await asyncio.Event().wait()

        table = SimpleNamespace(send_changelog=send_changelog)
        app = SimpleNamespace(producer=SimpleNamespace(buffer=SimpleNamespace(flush=faust_flush)))
        install = commits_wait_for_table_writes(app, table)
        install()
        table.send_changelog(0, b"k1", b"v1")
        table.send_changelog(1, b"k2", b"v2")
        flush = asyncio.ensure_future(app.producer.buffer.flush())
        await asyncio.sleep(0.01)
        table.send_changelog(0, b"k3", b"v3")  # after the flush began
        sent[0].set_result(None)
        await asyncio.sleep(0.01)
        assert not flush.done()  # k2 is not on the broker yet
        sent[1].set_result(None)
        await asyncio.wait_for(flush, 1.0)  # done, with k3 still in flight
        assert not sent[2].done()
        failed = asyncio.ensure_future(app.producer.buffer.flush())
        sent[2].set_exception(RuntimeError("broker refused the record"))
        with pytest.raises(RuntimeError, match="broker refused"):
            await asyncio.wait_for(failed, 1.0)  # no commit past a write that failed

    asyncio.run(scenario())


def test_a_worker_refreshes_its_metadata_every_ten_seconds_not_five_minutes(tmp_path):
    # A group leader that assigned partitions on a metadata without the run's topics (a broker
    # just back) assigned none; aiokafka rejoins when a refresh shows them.
    from claimsim.adjudication.runtimes.streaming.app import METADATA_MAX_AGE_MS, _faust_app
    from claimsim.adjudication.runtimes.streaming.topics import RunTopics

    app = _faust_app(RunTopics("unit"), "127.0.0.1:1", 1, store="memory", commit_interval=1.0,
                     datadir=tmp_path)
    assert app.conf.consumer_metadata_max_age_ms == METADATA_MAX_AGE_MS == 10_000
