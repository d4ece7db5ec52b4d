"""The worker's in-process recovery from a gap: which messages are dropped unacknowledged, when
the partition is sought back (and to which offset), and when it gives up for a restart."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from claimsim.adjudication.runtimes.streaming import reseek
from claimsim.adjudication.runtimes.streaming.reseek import MAX_SEEKS, Reseeks

TOPIC = "run-inbound"


class FakeConsumer:
    def __init__(self, read_offset: dict, committed: dict):
        self._read_offset, self._committed_offset = read_offset, committed
        self._gap = {}
        self._unacked_messages = set()
        self._paused_partitions = set()


@pytest.fixture
def seeks(monkeypatch):
    """Every aiokafka seek as (partition, offset asked for); it answers with that offset (or 0)."""
    calls = []

    async def fake_seek(app, tp, offset):
        calls.append((tp.partition, offset))
        if offset is None and app.fail:
            raise ConnectionError("broker away")
        return 0 if offset is None else offset

    monkeypatch.setattr(reseek, "_aiokafka_seek", fake_seek)
    return calls


class _Msg(SimpleNamespace):
    __hash__ = object.__hash__  # faust's messages sit in a set until acknowledged


def _msg(partition: int, offset: int):
    return _Msg(topic=TOPIC, partition=partition, offset=offset, acked=False)


def _world(read_offset=None, committed=None, faust_committed=None):
    from faust.types import TP

    consumer = FakeConsumer({TP(TOPIC, p): o for p, o in (read_offset or {}).items()},
                            {TP(TOPIC, p): o for p, o in (faust_committed or {}).items()})
    app = SimpleNamespace(consumer=consumer, fail=False)
    resets = []
    return app, Reseeks(TOPIC, committed if committed is not None else {},
                        lambda: resets.append(1)), resets


def test_a_gap_seeks_its_partition_to_the_committed_offset_and_drops_the_message_unacked(seeks):
    from faust.types import TP

    # Partition 1 committed at 40, messages handed to the stream up to 57; 50 found the gap.
    app, r, resets = _world(read_offset={1: 57}, committed={1: 40})
    r.reseek_after_s = 0.05

    async def scenario():
        gapped = _msg(1, 50)
        app.consumer._unacked_messages.add(gapped)
        app.consumer._gap[TP(TOPIC, 1)] = "an interval tree"
        assert await r.gap(app, gapped, applied=300, pos=320)
        assert seeks == [(1, 40)] and resets == [1]
        assert gapped.acked and gapped not in app.consumer._unacked_messages  # never committed
        assert app.consumer._read_offset[TP(TOPIC, 1)] is None  # faust hands over what comes
        assert TP(TOPIC, 1) not in app.consumer._gap
        # 51..57 were queued before the seek: dropped, no seek. 58..90 were handed over after it
        # (the fetch faust was draining): faust's read offset moved past the redelivery, so the
        # partition is sought again, once, when they are through.
        for offset in (51, 57):
            assert await r.gap(app, _msg(1, offset), applied=300, pos=325)
        await asyncio.sleep(0.1)
        assert seeks == [(1, 40)]
        for offset in range(58, 91):
            assert await r.gap(app, _msg(1, offset), applied=300, pos=360)
        assert seeks == [(1, 40)]
        await asyncio.sleep(0.1)
        assert seeks == [(1, 40), (1, 40)]
        # The redelivery from 40 applies: the seek has done its work; a later gap is a new one.
        r.processed(1)
        assert r.sought == {} and r.seeks == 2
        # A stale message after which the redelivery applied before the re-seek was due: none.
        assert await r.gap(app, _msg(1, 95), applied=400, pos=420)
        app.consumer._read_offset[TP(TOPIC, 1)] = 99
        assert await r.gap(app, _msg(1, 100), applied=400, pos=430)
        r.processed(1)
        await asyncio.sleep(0.1)
        assert seeks == [(1, 40)] * 3

    asyncio.run(scenario())


def test_without_a_commit_of_its_own_the_worker_seeks_to_fausts_committed_offset_else_the_brokers(seeks):
    app, r, _ = _world(read_offset={0: 9, 2: 3}, faust_committed={0: 7})
    asyncio.run(r.gap(app, _msg(0, 8), applied=10, pos=12))
    asyncio.run(r.gap(app, _msg(2, 3), applied=0, pos=4))
    assert seeks == [(0, 7), (2, None)]  # None: the broker's committed offset, asked in the seek


def test_the_same_gap_met_again_at_the_offset_sought_falls_back_to_a_restart(seeks):
    # The message at the committed offset itself starts past what the partition applied: the
    # missing items are not in the topic, and seeking cannot bring them.
    app, r, _ = _world(read_offset={0: 0}, committed={0: 0})
    results = [asyncio.run(r.gap(app, _msg(0, 0), applied=0, pos=5)) for _ in range(MAX_SEEKS + 1)]
    assert results == [True] * MAX_SEEKS + [False]
    assert len(seeks) == MAX_SEEKS


def test_a_seek_that_fails_falls_back_to_a_restart(seeks):
    app, r, _ = _world(read_offset={3: 20})
    app.fail = True
    assert not asyncio.run(r.gap(app, _msg(3, 15), applied=40, pos=48))


def test_a_stalled_partition_is_sought_once_and_a_second_stall_restarts(seeks):
    app, r, _ = _world(read_offset={0: 5, 1: 9}, committed={0: 4, 1: 6})
    assert asyncio.run(r.stalled(app, {0: 3, 1: 2}))
    assert seeks == [(0, 4), (1, 6)]
    r.processed(0)  # partition 0 moved after its seek; 1 did not
    assert asyncio.run(r.stalled(app, {0: 1}))
    assert not asyncio.run(r.stalled(app, {1: 2}))


def test_a_rebalance_forgets_every_seek(seeks):
    app, r, _ = _world(read_offset={0: 9}, committed={0: 2})
    asyncio.run(r.gap(app, _msg(0, 5), applied=10, pos=12))
    asyncio.run(r.stalled(app, {1: 4}))
    r.reassigned()
    assert r.sought == {} and r.stall_sought == set() and r.delivered == {}
