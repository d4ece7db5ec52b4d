"""The streaming runtime under failure, on the real broker: kill -9 the worker mid-stream, kill -9
the sink mid-stream, publish committed inputs again, rebalance two workers mid-run, and feed
garbage. Each time the final ledger must equal the embedded runtime's, byte for byte (nothing lost,
nothing paid twice). Every test has its own topics and deletes them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator
from claimsim.adjudication.runtimes.streaming.producer import last_input_seq, plan_stream, publish
from claimsim.adjudication.runtimes.streaming.runner import restart_gapped_workers, spawn_worker, stop_worker
from claimsim.adjudication.runtimes.streaming.sink import LedgerSink, drain
from claimsim.adjudication.runtimes.streaming.topics import RunTopics, create_topics, delete_topics, new_prefix
from claimsim.adjudication.runtimes.streaming.wire import decode_ledger
from claimsim.events.log import last_envelope, read
from claimsim.simulator.config import FaultConfig

from ..fixtures.run_dirs import fresh_copy, ledger_bytes, simulated_year

pytestmark = pytest.mark.kafka

BATCH = 10  # small messages: more of them, so a kill lands between commits


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    return simulated_year(tmp_path_factory.mktemp("kafka") / "run", members=700, seed=23, faults=FaultConfig(duplicate_bp=400, replacement_bp=300, void_bp=200, malformed_bp=200))


@pytest.fixture(scope="module")
def expected(simulated, tmp_path_factory) -> bytes:
    run = fresh_copy(simulated, tmp_path_factory.mktemp("kafka-expected") / "run")
    with EmbeddedAdjudicator(run) as rt:
        rt.run()
    return ledger_bytes(run)


class Stream:
    """One test's run on Kafka: its own topics, published input, workers; cleaned up at the end."""

    def __init__(self, run_dir: Path, bootstrap: str, partitions: int):
        self.run_dir, self.bootstrap, self.partitions = run_dir, bootstrap, partitions
        self.topics = RunTopics(new_prefix("claimsim-test"))
        self.workers: list[subprocess.Popen] = []
        self.restarted = [0]
        LedgerSink(run_dir).close()  # writes the run manifest, which workers read their settings from
        self.last_seq = last_input_seq(run_dir)

    def publish(self) -> None:
        asyncio.run(create_topics(self.bootstrap, self.topics, self.partitions))
        asyncio.run(publish(self.bootstrap, self.topics.inbound, plan_stream(self.run_dir),
                            self.partitions, BATCH))

    def start_worker(self, commit_interval: float = 1.0) -> subprocess.Popen:
        proc, _ = spawn_worker(self.run_dir, self.bootstrap, self.topics.prefix, self.partitions,
                               len(self.workers), commit_interval=commit_interval,
                               log_dir=self.run_dir.parent)
        self.workers.append(proc)
        return proc

    def supervise(self) -> None:
        """As the runner does: a worker that stopped on a gap in its input gets a successor."""
        restart_gapped_workers(self.workers, lambda i: spawn_worker(
            self.run_dir, self.bootstrap, self.topics.prefix, self.partitions, i,
            log_dir=self.run_dir.parent)[0], self.restarted)

    def sink(self, timeout: float = 120) -> LedgerSink:
        with LedgerSink(self.run_dir) as sink:
            asyncio.run(asyncio.wait_for(
                drain(sink, self.bootstrap, self.topics.ledger, self.partitions, self.last_seq,
                      idle_check=self.supervise, poll_ms=50), timeout))
        return sink

    def close(self) -> None:
        for proc in self.workers:
            stop_worker(proc)
        asyncio.run(delete_topics(self.bootstrap, self.topics))


@pytest.fixture
def stream_factory(kafka_bootstrap, simulated, tmp_path):
    made: list[Stream] = []

    def make(partitions: int) -> Stream:
        s = Stream(fresh_copy(simulated, tmp_path / f"run{len(made)}"), kafka_bootstrap, partitions)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def test_worker_killed_mid_stream_and_restarted_gives_the_embedded_ledger(stream_factory, expected):
    """kill -9 while the worker has processed messages it has not committed: the new worker
    replays them from the committed offset and the table recovered from the changelog;
    re-emitted answers are dropped by the sink. The first worker commits every 30 s, longer than
    the whole stream takes: with 5 s, a sink lagging more than that behind a loaded machine's
    worker (once in CI, 2026-12-03, with another install beside it) had every answer it had read
    committed when the kill came, and nothing was re-emitted to prove the replay."""
    s = stream_factory(partitions=2)
    s.publish()
    s.start_worker(commit_interval=30.0)
    killed: dict[str, int] = {}
    with LedgerSink(s.run_dir) as sink:
        def kill_at_a_quarter() -> None:
            s.supervise()
            if not killed and sink.last_cause >= s.last_seq // 4:
                first = s.workers[0]
                os.kill(first.pid, signal.SIGKILL)
                first.wait()
                killed["at"] = sink.last_cause
                s.start_worker()

        asyncio.run(asyncio.wait_for(drain(sink, s.bootstrap, s.topics.ledger, s.partitions,
                                           s.last_seq, idle_check=kill_at_a_quarter, poll_ms=20), 120))
        dropped = sink.dropped
    assert killed and killed["at"] < s.last_seq, "the kill must land mid-stream"
    assert dropped > 0, "the restarted worker re-emitted answers the sink already had"
    committed = asyncio.run(_committed(s.bootstrap, s.topics, s.partitions))
    assert ledger_bytes(s.run_dir) == expected, (
        f"killed at cause {killed['at']}, sink dropped {dropped}, committed offsets {committed}")


async def _committed(bootstrap: str, topics: RunTopics, partitions: int) -> dict[int, int | None]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=topics.app_id,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        return {p: await consumer.committed(TopicPartition(topics.inbound, p)) for p in range(partitions)}
    finally:
        await consumer.stop()


def test_sink_killed_mid_stream_and_restarted_gives_the_embedded_ledger(stream_factory, expected):
    """kill -9 the sink process (maybe mid-write: the next writer truncates a torn line); the
    restarted sink resumes from the ledger's last cause and drops everything at or below it."""
    s = stream_factory(partitions=4)
    s.publish()
    args = [sys.executable, "-m", "claimsim.adjudication.runtimes.streaming.sink", str(s.run_dir),
            s.topics.prefix, str(s.partitions), str(s.last_seq), s.bootstrap]
    sink_proc = subprocess.Popen(args)
    s.start_worker()
    deadline = time.monotonic() + 90
    while True:
        s.supervise()
        last = last_envelope(s.run_dir / "ledger")
        if last is not None and last["seq"] > s.last_seq // 3:
            break
        assert time.monotonic() < deadline and sink_proc.poll() is None
        time.sleep(0.005)
    sink_proc.kill()
    sink_proc.wait()
    at_kill = last_envelope(s.run_dir / "ledger")["cause"]
    assert at_kill < s.last_seq, "the kill must land mid-stream"
    restarted = subprocess.Popen(args)
    while restarted.poll() is None:
        s.supervise()
        assert time.monotonic() < deadline + 120
        time.sleep(0.05)
    assert restarted.returncode == 0
    assert ledger_bytes(s.run_dir) == expected


async def _end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
        return {tp.partition: off for tp, off in ends.items()}
    finally:
        await consumer.stop()


async def _read_from(bootstrap: str, topic: str, starts: dict[int, int], want: int,
                     timeout: float = 60) -> list[dict]:
    """Ledger events published after `starts`, until `want` of them arrived."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    events: list[dict] = []
    try:
        consumer.assign([TopicPartition(topic, p) for p in starts])
        for p, off in starts.items():
            consumer.seek(TopicPartition(topic, p), off)
        deadline = time.monotonic() + timeout
        while len(events) < want and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for r in records:
                    events.extend(decode_ledger(r.value))
    finally:
        await consumer.stop()
    return events


def _settled_end_offsets(bootstrap: str, topic: str, partitions: int, *, quiet: float = 3.0,
                         limit: float = 90.0):
    """A topic's end offsets once they have not moved for `quiet` seconds (at most `limit`)."""
    offsets = asyncio.run(_end_offsets(bootstrap, topic, partitions))
    still_since, deadline = time.monotonic(), time.monotonic() + limit
    while time.monotonic() - still_since < quiet and time.monotonic() < deadline:
        time.sleep(0.5)
        now = asyncio.run(_end_offsets(bootstrap, topic, partitions))
        if now != offsets:
            offsets, still_since = now, time.monotonic()
    return offsets


async def _table_from_changelog(bootstrap: str, topic: str, partitions: int) -> dict[bytes, bytes]:
    """The table a worker recovering every partition would rebuild (packed records unpacked,
    deletions applied)."""
    from claimsim.adjudication.runtimes.streaming.changelog import BATCH_PREFIX, unpack

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    table: dict[bytes, bytes] = {}
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            while await consumer.position(tp) < ends[tp]:
                for r in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
                    writes = unpack(r.value) if r.key.startswith(BATCH_PREFIX) else [(r.key, r.value)]
                    for key, value in writes:
                        if value is None:
                            table.pop(key, None)
                        else:
                            table[key] = value
    finally:
        await consumer.stop()
    return table


def test_committed_inputs_arriving_again_are_skipped_and_their_stored_answers_are_gone(
        stream_factory, expected):
    """After the run, the first 300 inputs are published again (duplicates of committed
    messages): no answer comes out (the ledger topic does not grow), none is a dead letter, and
    the table the changelog rebuilds holds no stored answer at all: each was deleted once its
    message's offset was committed, before the duplicates could need it."""
    s = stream_factory(partitions=2)
    s.publish()
    s.start_worker()
    s.sink()
    assert ledger_bytes(s.run_dir) == expected
    _settled_end_offsets(s.bootstrap, s.topics.changelog, s.partitions)  # last commits landed
    ledger_ends = asyncio.run(_end_offsets(s.bootstrap, s.topics.ledger, s.partitions))

    asyncio.run(publish(s.bootstrap, s.topics.inbound, plan_stream(s.run_dir, until_seq=300),
                        s.partitions, BATCH))
    deadline = time.monotonic() + 90  # until the duplicates reached the worker (it prunes then)
    while True:
        table = asyncio.run(_table_from_changelog(s.bootstrap, s.topics.changelog, s.partitions))
        if not any(k.startswith(b"r:") for k in table) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert [k for k in table if k.startswith(b"r:")] == []
    assert {k for k in table if k.startswith(b"h:")} == {b"h:0", b"h:1"}
    _settled_end_offsets(s.bootstrap, s.topics.changelog, s.partitions)  # through the duplicates
    assert asyncio.run(_read_from(s.bootstrap, s.topics.ledger, ledger_ends, 1, timeout=5)) == []
    assert asyncio.run(_end_offsets(s.bootstrap, s.topics.dead_letter, 1)) == {0: 0}
    assert ledger_bytes(s.run_dir) == expected


def test_two_workers_on_four_partitions_with_rebalances_mid_run_give_the_embedded_ledger(
        stream_factory, expected):
    """Worker A alone; B joins at a quarter (partitions move to B); A leaves at two thirds
    (everything moves to B, rebuilt from the changelog)."""
    s = stream_factory(partitions=4)
    s.publish()
    s.start_worker(commit_interval=2.0)
    events: dict[str, int] = {}
    with LedgerSink(s.run_dir) as sink:
        def check() -> None:
            s.supervise()
            if "joined" not in events and sink.last_cause >= s.last_seq // 4:
                s.start_worker()
                events["joined"] = sink.last_cause
            elif "joined" in events and "left" not in events and sink.last_cause >= 2 * s.last_seq // 3:
                s.workers[0].send_signal(signal.SIGTERM)
                events["left"] = sink.last_cause

        asyncio.run(asyncio.wait_for(drain(sink, s.bootstrap, s.topics.ledger, s.partitions,
                                           s.last_seq, idle_check=check, poll_ms=20), 150))
    assert events.get("joined", s.last_seq) < s.last_seq, "B must join mid-run"
    assert ledger_bytes(s.run_dir) == expected


def test_bad_messages_go_to_the_dead_letter_topic_with_a_reason_and_the_worker_keeps_going(
        stream_factory, expected):
    s = stream_factory(partitions=1)
    asyncio.run(create_topics(s.bootstrap, s.topics, s.partitions))
    garbage = [b"this is not json {", b"[1, \"two\"]", b'{"seq": "7", "type": "claim.submitted"}',
               b'{"fact": {"seq": 3, "type": "claim.submitted", "data": {}}}']

    async def send_garbage() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=s.bootstrap)
        await producer.start()
        try:
            for value in garbage:
                await producer.send_and_wait(s.topics.inbound, value, partition=0)
        finally:
            await producer.stop()

    asyncio.run(send_garbage())  # before the stream...
    asyncio.run(publish(s.bootstrap, s.topics.inbound, plan_stream(s.run_dir), s.partitions, BATCH))
    asyncio.run(send_garbage())  # ...and after it
    s.start_worker()
    heard: list[dict] = []
    with LedgerSink(s.run_dir) as sink:
        asyncio.run(asyncio.wait_for(drain(
            sink, s.bootstrap, s.topics.ledger, s.partitions, s.last_seq, idle_check=s.supervise,
            dead_letters=s.topics.dead_letter, on_dead_letter=heard.append), 120))
    assert ledger_bytes(s.run_dir) == expected
    assert 5 <= len(heard) <= 10  # the sink hears of the first round while it waits

    async def dead_letters() -> list[dict]:
        consumer = AIOKafkaConsumer(bootstrap_servers=s.bootstrap, auto_offset_reset="earliest",
                                    enable_auto_commit=False)
        await consumer.start()
        out: list[dict] = []
        try:
            consumer.assign([TopicPartition(s.topics.dead_letter, 0)])
            deadline = time.monotonic() + 30
            while len(out) < 10 and time.monotonic() < deadline:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    out.extend(orjson.loads(r.value) for r in records)
        finally:
            await consumer.stop()
        return out

    letters = asyncio.run(dead_letters())
    # per garbage round: not JSON; an array of two non-objects (two letters); a bad seq; a bad fact
    assert len(letters) == 10
    assert sum(d["reason"].startswith("not JSON") for d in letters) == 2
    assert sum(d["reason"].startswith("not an envelope: a JSON") for d in letters) == 4
    assert sum(d["reason"].startswith("not an envelope: seq") for d in letters) == 0
    assert sum(d["reason"].startswith("not an envelope: missing") for d in letters) == 2
    assert sum(d["reason"].startswith("not an epoch fact") for d in letters) == 2
    assert all(d["topic"] == s.topics.inbound and d["raw"] for d in letters)


def test_claimsim_adjudicate_runtime_kafka_writes_the_embedded_ledger_and_cleans_up(
        kafka_bootstrap, simulated, expected, tmp_path, capsys):
    from claimsim.cli import main

    run = fresh_copy(simulated, tmp_path / "run")
    assert main(["adjudicate", str(run), "--runtime", "kafka", "--partitions", "3",
                 "--bootstrap", kafka_bootstrap, "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert ledger_bytes(run) == expected
    n = last_input_seq(run) + 1
    assert f"adjudicated {n:,} inputs (seq 0..{n - 1}) on Kafka (3 partition(s)" in out
    prefix = out.split("topics ")[1].split("-*")[0]

    async def leftovers() -> list[str]:
        consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap)
        await consumer.start()
        try:
            return sorted(t for t in await consumer.topics() if t.startswith(prefix + "-"))
        finally:
            await consumer.stop()

    assert asyncio.run(leftovers()) == []
    # Again on the whole ledger: nothing to do, said as the embedded runtime says it.
    assert main(["adjudicate", str(run), "--runtime", "kafka", "--bootstrap", kafka_bootstrap,
                 "--no-progress"]) == 0
    assert capsys.readouterr().out == (f"{run}: adjudicated 0 inputs: the ledger answers every"
                                       f" input (seq 0..{n - 1:,})\n")
    assert ledger_bytes(run) == expected


def test_a_hostile_input_log_on_kafka_gives_the_embedded_ledger(kafka_bootstrap, simulated, tmp_path):
    """Lines the embedded runtime answers with rejections (keys that are no string, a type or
    version or date it cannot read, a line that is not JSON) are answered the same on Kafka:
    the producer reads the input checked as the embedded runtime does, and the processor answers
    a key that names no family. Both ledgers are the same bytes."""
    from claimsim.cli import main

    from ..fixtures.damaged_runs import entries, replace_line, rewrite_log

    hostile_run = fresh_copy(simulated, tmp_path / "hostile")
    inputs = entries(simulated / "input")
    claim = next(e for e in inputs if e["type"] == "claim.submitted")
    body = {k: claim[k] for k in ("type", "v", "at", "key", "cause", "data")}
    hostile = [{**body, "key": key} for key in (7, None, ["S"], {"S": 1})]
    hostile += [{**body, **change} for change in ({"type": ["x"]}, {"v": "1"}, {"at": 5})]
    k = len(inputs) // 2
    rewrite_log(hostile_run / "input", lambda bodies: [*bodies[:k], *hostile, *bodies[k:]])
    replace_line(hostile_run / "input", k + len(hostile), b'{"not": "an envelope"\n')
    embedded = fresh_copy(hostile_run, tmp_path / "embedded")
    assert main(["adjudicate", str(embedded), "--no-progress"]) == 0
    assert main(["adjudicate", str(hostile_run), "--runtime", "kafka", "--partitions", "3",
                 "--bootstrap", kafka_bootstrap, "--no-progress"]) == 0
    assert ledger_bytes(hostile_run) == ledger_bytes(embedded)
    answers = [e for e in read(embedded / "ledger") if e["cause"] is not None
               and k <= e["cause"] <= k + len(hostile)]
    assert [(e["type"], e["data"].get("reason")) for e in answers] == (
        [("claim.rejected", "subscriber_mismatch")] * 4 + [("claim.rejected", "unreadable_input")] * 4)
