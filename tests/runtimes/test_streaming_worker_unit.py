"""The streaming runtime's worker side without a broker: the sink's reorder buffer and restart,
the faust agent itself through `agent.test_context()` with the in-memory table, the CLI's argument
errors, and the worker's settings (session, metadata age, commits that wait for table writes).
Split from `test_streaming_unit` (the wire, the inbound stream, the processor) to keep each file
readable; they share `streaming_shared`'s simulated year.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings, strategies as st

from ..fixtures.adjudication import reference
from .streaming_shared import (  # noqa: F401 (fixtures, used by name)
    ANSWER_KEYS, embedded_answers, messages, simulated,
)
from claimsim.adjudication.engine.context import Settings
from claimsim.adjudication.runtimes.processor import PartitionProcessor, family_key
from claimsim.adjudication.runtimes.streaming.sink import LedgerSink
from claimsim.events.envelope import new_event
from claimsim.events.log import read


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
    from claimsim.adjudication.runtimes.streaming.faust_settings import SESSION_TIMEOUT_ENV, session_timeout
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
    from claimsim.adjudication.runtimes.streaming.faust_settings import METADATA_MAX_AGE_MS, faust_app
    from claimsim.adjudication.runtimes.streaming.topics import RunTopics

    app = faust_app(RunTopics("unit"), "127.0.0.1:1", 1, store="memory", commit_interval=1.0,
                    datadir=tmp_path)
    assert app.conf.consumer_metadata_max_age_ms == METADATA_MAX_AGE_MS == 10_000
