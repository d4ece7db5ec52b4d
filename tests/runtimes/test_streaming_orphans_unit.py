"""The orphan watch's judgement (orphans.py) against a fake consumer and group coordinator: it
asks for a rebalance only when a stable group leaves an inbound partition with messages waiting
to no member, twice a check apart; never for an idle group, nor for a worker idle because the
group has more members than partitions; and starts the worker again after MAX_REJOINS."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

import pytest
from aiokafka.coordinator.protocol import ConsumerProtocol
from aiokafka.structs import OffsetAndMetadata
from faust.types import TP

from claimsim.adjudication.runtimes.streaming import orphans
from claimsim.adjudication.runtimes.streaming.orphans import MAX_REJOINS, OrphanWatch

TOPIC = "run-inbound"


def assignment(*partitions: int, topic: str = TOPIC) -> bytes:
    pairs = [(topic, list(partitions))] if partitions else []
    return ConsumerProtocol.ASSIGNMENT(0, pairs, b"").encode()


class FakeGroup:
    """aiokafka's consumer as the watch uses it: metadata, offsets, DescribeGroups, rejoin."""

    def __init__(self, partitions: int, ends, committed, members, state="Stable"):
        self.partitions, self.ends, self.committed = partitions, ends, committed
        self.members, self.state, self.known = members, state, True
        self.generation, self.group_id, self.coordinator_id = 1, "run", 1
        self.refreshes = self.rejoins = self.describes = 0
        self._client, self._coordinator = self, self

    @property
    def cluster(self):
        return SimpleNamespace(partitions_for_topic=lambda topic: (
            set(range(self.partitions)) if self.known else None))

    async def force_metadata_update(self):
        self.refreshes += 1

    def request_rejoin(self):
        self.rejoins += 1

    async def end_offsets(self, tps):
        return {tp: self.ends[tp.partition] for tp in tps}

    async def fetch_committed_offsets(self, tps):
        return {tp: OffsetAndMetadata(self.committed.get(tp.partition, -1), "") for tp in tps}

    async def send(self, node, request):
        self.describes += 1
        members = [(f"m{i}", f"c{i}", "host", b"", raw) for i, raw in enumerate(self.members)]
        return SimpleNamespace(groups=[(0, self.group_id, self.state, "consumer", "faust",
                                        members)])


def app_for(group: FakeGroup, mine=()):
    held = {TP(TOPIC, p) for p in mine}
    return SimpleNamespace(rebalancing=False, fake=group,
                           consumer=SimpleNamespace(assignment=lambda: held))


@pytest.fixture(autouse=True)
def in_this_loop(monkeypatch):
    async def run(app, make_coro):
        return await make_coro(app.fake)

    monkeypatch.setattr(orphans, "_in_consumer_thread", run)


def checks(watch: OrphanWatch, app, n: int) -> list[bool]:
    return [asyncio.run(watch.check(app)) for _ in range(n)]


def test_an_orphaned_partition_seen_twice_in_one_generation_asks_for_one_rebalance(caplog):
    # The leader assigned nothing (both members' assignments empty) and partition 1 has
    # messages past its committed offset: the first check only notes it, the second asks.
    group = FakeGroup(2, ends={0: 5, 1: 9}, committed={0: 5, 1: 3},
                      members=[assignment(), assignment()])
    watch = OrphanWatch(TOPIC, 2)
    with caplog.at_level(logging.WARNING):
        assert checks(watch, app_for(group), 1) == [True]
        assert group.rejoins == 0
        assert checks(watch, app_for(group), 1) == [True]
    assert group.rejoins == 1 and group.refreshes == 1  # the metadata refreshed first
    (record,) = [r for r in caplog.records if "asking the group to rebalance" in r.getMessage()]
    assert "partition(s) [1] hold messages" in record.getMessage()
    assert "generation 1" in record.getMessage()


def test_an_idle_group_is_never_described_nor_rebalanced():
    # Every partition caught up (end offsets at the committed ones): nothing can be waiting.
    group = FakeGroup(2, ends={0: 5, 1: 9}, committed={0: 5, 1: 9},
                      members=[assignment(), assignment()])
    watch = OrphanWatch(TOPIC, 2)
    assert checks(watch, app_for(group), 4) == [True] * 4
    assert (group.describes, group.rejoins, group.refreshes) == (0, 0, 0)


def test_a_worker_idle_because_the_group_has_more_members_than_partitions_asks_nothing():
    # One partition, two members: this one holds nothing, the other holds partition 0, which
    # has messages waiting (it is busy on them).
    group = FakeGroup(1, ends={0: 50}, committed={0: 10}, members=[assignment(0), assignment()])
    watch = OrphanWatch(TOPIC, 1)
    assert checks(watch, app_for(group), 4) == [True] * 4
    assert group.describes == 4 and group.rejoins == 0


def test_a_worker_holding_every_partition_does_not_look_at_the_group():
    group = FakeGroup(2, ends={0: 5, 1: 9}, committed={}, members=[assignment()])
    watch = OrphanWatch(TOPIC, 2)
    assert checks(watch, app_for(group, mine=(0, 1)), 3) == [True] * 3
    assert group.describes == 0 and group.rejoins == 0


def test_a_group_rebalancing_is_judged_once_it_is_stable():
    group = FakeGroup(2, ends={0: 5, 1: 9}, committed={}, members=[assignment()],
                      state="CompletingRebalance")
    watch = OrphanWatch(TOPIC, 2)
    assert checks(watch, app_for(group), 3) == [True] * 3
    assert group.rejoins == 0
    group.state = "Stable"
    checks(watch, app_for(group), 2)
    assert group.rejoins == 1


def test_a_worker_whose_metadata_lacks_the_topic_refreshes_it_and_asks_nothing_yet():
    group = FakeGroup(2, ends={0: 5, 1: 9}, committed={}, members=[assignment()])
    group.known = False
    watch = OrphanWatch(TOPIC, 2)
    assert checks(watch, app_for(group), 2) == [True, True]
    assert group.refreshes == 2 and group.describes == 0 and group.rejoins == 0


def test_rebalances_that_leave_orphans_are_bounded_then_the_worker_starts_again():
    group = FakeGroup(2, ends={0: 5, 1: 9}, committed={}, members=[assignment()])
    watch = OrphanWatch(TOPIC, 2)
    results = []
    for generation in range(1, MAX_REJOINS + 2):
        group.generation = generation  # each rebalance a new generation, still orphans
        results += checks(watch, app_for(group), 2)
    assert group.rejoins == MAX_REJOINS
    assert results[-1] is False and all(results[:-1])


def test_an_episode_that_ends_resets_the_count(caplog):
    group = FakeGroup(2, ends={0: 5, 1: 9}, committed={}, members=[assignment()])
    watch = OrphanWatch(TOPIC, 2)
    checks(watch, app_for(group), 2)
    assert watch.rejoins == 1
    group.generation, group.members = 2, [assignment(0, 1)]  # the rebalance handed them out
    with caplog.at_level(logging.WARNING):
        checks(watch, app_for(group), 1)
    assert watch.rejoins == 0
    assert any("assigned again after 1 rebalance(s)" in r.getMessage() for r in caplog.records)
