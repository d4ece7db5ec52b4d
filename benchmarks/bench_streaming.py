"""Streaming throughput on the local broker: claims/s through one faust worker (`claimsim worker`,
the real app: table with changelog, at-least-once commits), beside baselines in the same run that
consume the same inbound topic with plain aiokafka, apply the same core (the same
PartitionProcessor) and produce the same ledger messages:

- `baseline`: state in a dict, nothing else written (what the core + Kafka I/O cost);
- `baseline_changelog`: also produces every family-state write the faust table makes, to a topic
  (what durable state costs, without faust).

Run: KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 .venv/bin/pytest benchmarks/bench_streaming.py \
         --benchmark-enable -p no:cacheprovider -s
Each round publishes the simulated run at 1 and at 4 partitions (default 3,000 members, ~23k inputs, ~19k claims; set
CLAIMSIM_BENCH_MEMBERS) to fresh topics first (not timed). The timed part is consumer start to the
last answer on the ledger topic, startup and group join included; `steady` is inputs / (last -
first answer timestamp), which leaves startup out and is the fairer comparison.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from claimsim.adjudication.engine.context import Settings
from claimsim.adjudication.runtimes.streaming.faust_settings import FETCH_BYTES
from claimsim.adjudication.runtimes.processor import PartitionProcessor
from claimsim.adjudication.runtimes.streaming.producer import last_input_seq, plan_stream, publish
from claimsim.adjudication.runtimes.streaming.runner import spawn_worker, stop_worker
from claimsim.adjudication.runtimes.streaming.sink import LedgerSink
from claimsim.adjudication.runtimes.streaming.topics import (
    RunTopics, create_topics, delete_topics, new_prefix, wait_for_topics,
)
from claimsim.adjudication.runtimes.streaming.wire import decode_ledger, encode_ledger
from claimsim.events.reference import ReferenceData
from claimsim.simulator.config import SimConfig
from claimsim.simulator.run_dir import simulate_to_dir

MEMBERS = int(os.environ.get("CLAIMSIM_BENCH_MEMBERS", "3000"))
PARTITIONS = (1, 4)  # the inbound topic's, and so the changelog's: one worker holds them all
BATCH = 200
BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")

pytestmark = pytest.mark.skipif(not BOOTSTRAP, reason="needs KAFKA_BOOTSTRAP_SERVERS (scripts/kafka/start.sh)")
RESULTS: dict[tuple[str, int], dict[str, float]] = {}


@pytest.fixture(scope="module")
def run_dir():
    d = Path(tempfile.mkdtemp(prefix="claimsim-bench-stream-"))
    simulate_to_dir(SimConfig(members=MEMBERS, months=12, seed=7), d / "run")
    LedgerSink(d / "run").close()  # the manifest: workers read their settings from it
    yield d / "run"
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def counts(run_dir) -> tuple[int, int]:
    inputs = last_input_seq(run_dir) + 1
    claims = sum(1 for item in plan_stream(run_dir) if item.envelope["type"] == "claim.submitted")
    return inputs, claims


async def _create_changelog(topics: RunTopics, partitions: int) -> None:
    """The baseline writes its family states where faust's table would (faust creates its own)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topics.changelog, partitions, 1)])
        await wait_for_topics(admin, [topics.changelog])
    finally:
        await admin.close()


def _fresh_topics(run_dir: Path, partitions: int, changelog: bool = False) -> RunTopics:
    topics = RunTopics(new_prefix("claimsim-bench"))
    asyncio.run(create_topics(BOOTSTRAP, topics, partitions))
    if changelog:
        asyncio.run(_create_changelog(topics, partitions))
    asyncio.run(publish(BOOTSTRAP, topics.inbound, plan_stream(run_dir), partitions, BATCH))
    return topics


async def _await_answers(topic: str, partitions: int, want: int) -> tuple[float, float]:
    """Count answers on the ledger topic until `want`; (first, last) message timestamps in s."""
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    seen, first, last = 0, None, 0.0
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
        while seen < want:
            for records in (await consumer.getmany(timeout_ms=100)).values():
                for r in records:
                    seen += len(decode_ledger(r.value))
                    first = r.timestamp if first is None else min(first, r.timestamp)
                    last = max(last, r.timestamp)
    finally:
        await consumer.stop()
    return first / 1000, last / 1000


async def plain_aiokafka_adjudicator(run_dir: Path, topics: RunTopics, want: int,
                                     changelog: bool) -> None:
    """The baseline: the same processor in a plain consume-apply-produce loop."""
    processor = PartitionProcessor(ReferenceData.load(run_dir), Settings())
    store: dict[bytes, bytes] = {}
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=5, max_batch_size=512 * 1024)
    consumer = AIOKafkaConsumer(topics.inbound, bootstrap_servers=BOOTSTRAP, group_id=topics.prefix,
                                enable_auto_commit=True, auto_offset_reset="earliest",
                                max_partition_fetch_bytes=FETCH_BYTES)  # as the faust worker
    await producer.start()
    await consumer.start()
    pending: list[tuple[bytes, bytes]] = []

    class Recording(dict):
        def __setitem__(self, key, value):
            pending.append((key, value))
            super().__setitem__(key, value)

    if changelog:
        store = Recording()
    done = 0
    try:
        while done < want:
            for tp, records in (await consumer.getmany(timeout_ms=100)).items():
                for r in records:
                    out = processor.process(tp.partition, r.value, store)
                    for key, value in pending:
                        await producer.send(topics.changelog, value, key=key, partition=tp.partition)
                    pending.clear()
                    for value in encode_ledger(out.ledger):
                        await producer.send(topics.ledger, value, partition=tp.partition)
                    done += len(out.ledger)
        await producer.flush()
    finally:
        await consumer.stop()
        await producer.stop()


def _record(name: tuple[str, int], inputs: int, claims: int, elapsed: float, first: float, last: float) -> None:
    steady = max(last - first, 1e-3)
    RESULTS[name] = {"end_to_end_s": elapsed, "steady_s": steady, "claims_per_s": claims / steady,
                     "inputs_per_s": inputs / steady}


def _bench(benchmark, name: str, partitions: int, run_dir: Path, counts, start,
           baseline: str | None = None, changelog: bool = False) -> None:
    inputs, claims = counts
    state: dict[str, object] = {}

    def setup():
        state["topics"] = _fresh_topics(run_dir, partitions, changelog)
        return (), {}

    def run():
        topics = state["topics"]
        t0 = time.perf_counter()
        stop = start(topics, inputs)
        try:
            first, last = asyncio.run(_await_answers(topics.ledger, partitions, inputs))
        finally:
            stop()
        _record((name, partitions), inputs, claims, time.perf_counter() - t0, first, last)
        asyncio.run(delete_topics(BOOTSTRAP, topics))

    benchmark.extra_info.update(items=claims)
    if baseline:
        benchmark.extra_info["baseline"] = baseline
    benchmark.pedantic(run, setup=setup, rounds=2, iterations=1)
    benchmark.extra_info.update(RESULTS[(name, partitions)])


@pytest.mark.parametrize("partitions", PARTITIONS)
def test_faust_worker(benchmark, run_dir, counts, partitions):
    def start(topics, inputs):
        proc, _ = spawn_worker(run_dir, BOOTSTRAP, topics.prefix, partitions, log_dir=run_dir.parent)

        def stop():
            stop_worker(proc)
        return stop

    _bench(benchmark, "faust_worker", partitions, run_dir, counts, start,
           baseline=f"test_plain_aiokafka[{partitions}]")


def _in_thread(coro_fn):
    import threading

    def start(topics, inputs):
        t = threading.Thread(target=lambda: asyncio.run(coro_fn(topics, inputs)))
        t.start()
        return lambda: t.join()
    return start


@pytest.mark.parametrize("partitions", PARTITIONS)
def test_plain_aiokafka(benchmark, run_dir, counts, partitions):
    _bench(benchmark, "plain_aiokafka", partitions, run_dir, counts, _in_thread(
        lambda topics, n: plain_aiokafka_adjudicator(run_dir, topics, n, changelog=False)))


@pytest.mark.parametrize("partitions", PARTITIONS)
def test_plain_aiokafka_with_changelog(benchmark, run_dir, counts, partitions):
    _bench(benchmark, "plain_aiokafka_changelog", partitions, run_dir, counts, _in_thread(
        lambda topics, n: plain_aiokafka_adjudicator(run_dir, topics, n, changelog=True)),
        changelog=True)


def test_zz_report(counts):
    """Prints the side-by-side figures (after the benchmarks above, same run)."""
    if len(RESULTS) < 3 * len(PARTITIONS):
        pytest.skip("run the whole file with --benchmark-enable")
    inputs, claims = counts
    print(f"\nstreaming throughput, {inputs:,} inputs ({claims:,} claims), one worker,"
          f" {BATCH} inputs per message, last round of each:")
    print(f"{'runtime':<28} {'partitions':>10} {'claims/s':>10} {'inputs/s':>10} {'steady s':>9}"
          f" {'end-to-end s':>13}")
    for (name, partitions), r in sorted(RESULTS.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        print(f"{name:<28} {partitions:>10} {r['claims_per_s']:>10,.0f} {r['inputs_per_s']:>10,.0f}"
              f" {r['steady_s']:>9.2f} {r['end_to_end_s']:>13.2f}")
    for partitions in PARTITIONS:
        faust = RESULTS[("faust_worker", partitions)]["claims_per_s"]
        plain = RESULTS[("plain_aiokafka", partitions)]["claims_per_s"]
        durable = RESULTS[("plain_aiokafka_changelog", partitions)]["claims_per_s"]
        print(f"{partitions} partition(s): faust / plain aiokafka {faust / plain:.2f}x;"
              f" faust / plain aiokafka + changelog {faust / durable:.2f}x")
