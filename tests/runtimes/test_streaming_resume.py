"""A run's topics across calls: a call publishes only what its topics lack (after an earlier call
that stopped at a boundary, or one that was interrupted mid-run), never an item twice, and the
ledger is the embedded runtime's byte for byte; a topic holding another stream is refused."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from claimsim.adjudication.runtimes.streaming import runner
from claimsim.adjudication.runtimes.streaming.producer import (
    InboundBatcher, StreamMismatch, last_input_seq, plan_stream,
)
from claimsim.adjudication.runtimes.streaming.resume import RunState
from claimsim.adjudication.runtimes.streaming.runner import adjudicate_kafka, discard_topics
from claimsim.adjudication.runtimes.streaming.topics import RunTopics
from claimsim.simulator.config import SimConfig
from claimsim.simulator.run_dir import simulate_to_dir

from ..fixtures.run_dirs import embedded_ledger, fresh_copy, ledger_bytes


class Interrupted(Exception):
    """The call stops here, as on a crash of the sink or a Ctrl-C."""


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("resume") / "run"
    simulate_to_dir(SimConfig(members=200, months=6, seed=17), run)
    return run


def _messages(batcher: InboundBatcher, run_dir: Path) -> list[tuple[int, dict]]:
    out = [(p, v) for item in plan_stream(run_dir) for p, _, v in batcher.add(item)]
    return [(p, orjson.loads(v)) for p, v in out + [(p, v) for p, _, v in batcher.flush()]]


def _items(messages: list[tuple[int, dict]], partitions: int) -> list[list]:
    """Each partition's items in stream order, checking every message starts where the last ended."""
    out: list[list] = [[] for _ in range(partitions)]
    for p, message in messages:
        assert message["pos"] == len(out[p]), f"partition {p}: a gap or a duplicate"
        out[p].extend(message["items"])
    return out


def test_a_batcher_told_what_the_topic_holds_continues_the_stream_exactly(simulated):
    whole = _items(_messages(InboundBatcher(3, 7), simulated), 3)
    held = {0: 5, 1: 0, 2: 23}
    rest = _messages(InboundBatcher(3, 7, published=held,
                                    last_published={0: whole[0][4], 2: whole[2][22]}), simulated)
    for p in range(3):
        tail = [m for q, m in rest if q == p]
        assert tail[0]["pos"] == held[p]
        assert [i for m in tail for i in m["items"]] == whole[p][held[p]:]


def test_a_batcher_refuses_a_topic_whose_last_item_is_not_the_streams():
    other = {0: {"seq": 999, "type": "member.enrolled"}}
    batcher = InboundBatcher(1, 7, published={0: 3}, last_published=other)
    with pytest.raises(StreamMismatch, match="partition 0 item 2"):
        for item in plan_stream_of(4):
            list(batcher.add(item))


def plan_stream_of(n: int):
    from claimsim.adjudication.runtimes.streaming.producer import StreamItem

    for seq in range(n):
        yield StreamItem("input", {"seq": seq, "type": "member.enrolled", "v": 1, "at": "2025-01-01",
                                   "key": "S1", "cause": None, "data": {}})


async def _topic_items(bootstrap: str, topic: str, partitions: int) -> list[list]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        messages: list[tuple[int, dict]] = []
        for tp in tps:
            while await consumer.position(tp) < ends[tp]:
                for record in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
                    messages.append((tp.partition, orjson.loads(record.value)))
        return _items(messages, partitions)
    finally:
        await consumer.stop()


@pytest.mark.kafka
def test_calls_after_a_boundary_and_an_interruption_publish_only_what_the_topics_lack(
        simulated, tmp_path, kafka_bootstrap, monkeypatch):
    expected = embedded_ledger(simulated, tmp_path / "expected")
    run = fresh_copy(simulated, tmp_path / "run")
    last = last_input_seq(run)
    # 1. A first call stops at a boundary and keeps its topics (as the run clock does).
    first = adjudicate_kafka(run, bootstrap=kafka_bootstrap, partitions=3, until_seq=last // 3,
                             keep_topics=True)
    state = RunState.load(run)
    assert state == RunState(first.prefix, 3)
    assert not (run / runner.WORKER_LOGS).exists()  # a call that finished removes its workers' logs
    # 2. The next is interrupted after publishing, its workers at work, before the sink writes.
    async def interrupted(sink, *args, **kwargs):
        # Its worker at work: started, its logging open (a fixed 3 s was too short for a worker
        # to import faust and start on a loaded machine, so the detail log did not exist yet).
        logs = run / runner.WORKER_LOGS
        for _ in range(600):
            if any(logs.glob("*.detail.log")):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)
        raise Interrupted

    monkeypatch.setattr(runner, "drain", interrupted)
    with pytest.raises(Interrupted):
        adjudicate_kafka(run, bootstrap=kafka_bootstrap, partitions=3)
    monkeypatch.undo()
    assert RunState.load(run) == state  # kept, to resume on
    # ... and so are its worker's logs, in the run directory (never the temp directory).
    kept = sorted(p.name for p in (run / runner.WORKER_LOGS).iterdir())
    assert kept == [f"claimsim-worker-{state.prefix}-0.detail.log",
                    f"claimsim-worker-{state.prefix}-0.log"]
    assert not list(Path(tempfile.gettempdir()).glob(f"claimsim-worker-{state.prefix}-*"))
    # 3. The last call resumes on the same topics and finishes the ledger.
    done = adjudicate_kafka(run, bootstrap=kafka_bootstrap, partitions=3, keep_topics=True)
    assert done.prefix == first.prefix and done.first_seq == first.last_seq + 1
    assert not (run / runner.WORKER_LOGS).exists()
    assert ledger_bytes(run) == expected
    # Every item of the run's stream is on the inbound topic exactly once, in order.
    on_topic = asyncio.run(_topic_items(kafka_bootstrap, RunTopics(state.prefix).inbound, 3))
    assert on_topic == _items(_messages(InboundBatcher(3), run), 3)
    assert discard_topics(run, kafka_bootstrap) and RunState.load(run) is None
