"""The worker's partition watch: a partition with messages past the worker's position that has
not moved for the stall time is stalled, even while the worker's other partitions move; one that
is caught up, one that moved recently, or a group that is rebalancing is not; a rebalance that
itself never ends is caught on its own."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from aiokafka import TopicPartition

from claimsim.adjudication.runtimes.streaming.watchdog import (
    STALL_S, PartitionWatch, rebalance_limit_s, stalled,
)


def test_only_partitions_with_waiting_messages_count_and_only_after_the_stall_time():
    positions = {0: 12, 1: None, 2: 40}
    ends = {0: 15, 1: 3, 2: 40}
    assert stalled(positions, ends, idle_s=STALL_S - 0.1) == {}
    # 0 has 3 messages waiting; 1 was never processed here (counted from offset 0); 2 is caught up.
    assert stalled(positions, ends, idle_s=STALL_S) == {0: 3, 1: 3}


class FakeConsumer:
    def __init__(self, assigned, ends, committed):
        self._assigned, self._ends, self._committed_offset = assigned, ends, committed

    def assignment(self):
        return set(self._assigned)

    async def highwaters(self, *tps):
        return {tp: self._ends[tp] for tp in tps}


def test_the_watch_uses_what_the_worker_processed_else_what_faust_committed():
    now = [100.0]
    watch = PartitionWatch("run-inbound", clock=lambda: now[0])
    inbound = [TopicPartition("run-inbound", p) for p in range(3)]
    other = TopicPartition("run-family_state-changelog", 0)
    consumer = FakeConsumer(inbound + [other], {**dict.fromkeys(inbound, 9), other: 500},
                            {inbound[1]: 9, inbound[2]: 4})
    app = SimpleNamespace(consumer=consumer, rebalancing=False)
    watch.processed(0, 8)  # offset 8 processed: 9 is next, the end
    assert asyncio.run(watch.check(app)) == {}  # it just moved
    now[0] += STALL_S
    # 0 caught up by processing, 1 by faust's committed offset; 2 committed at 4 with 5 waiting.
    assert asyncio.run(watch.check(app)) == {2: 5}
    app.rebalancing = True
    assert asyncio.run(watch.check(app)) == {}
    app.rebalancing = False
    watch.moved()  # a restored changelog batch: progress
    assert asyncio.run(watch.check(app)) == {}
    now[0] += STALL_S
    watch.reassigned()  # a rebalance forgets positions and restarts the clock
    assert watch.next_offset == {} and asyncio.run(watch.check(app)) == {}


def test_a_partition_left_unconsumed_is_stalled_while_the_others_keep_moving():
    # As faust left a killed worker's partitions 2 and 3 on the survivor after a rebalance: the
    # survivor kept processing its own 0 and 1, so a watch of the whole worker never fired.
    now = [0.0]
    watch = PartitionWatch("run-inbound", clock=lambda: now[0])
    inbound = [TopicPartition("run-inbound", p) for p in range(4)]
    consumer = FakeConsumer(inbound, dict.fromkeys(inbound, 50),
                            {inbound[2]: 10, inbound[3]: 20})
    app = SimpleNamespace(consumer=consumer, rebalancing=False)
    watch.reassigned()
    for second in range(int(STALL_S) + 1):  # 0 and 1 move every second, with messages waiting
        now[0] = float(second)
        watch.processed(0, second)
        watch.processed(1, second)
    assert asyncio.run(watch.check(app)) == {2: 40, 3: 30}
    watch.processed(2, 10)  # 2 moves again: only 3 is left
    assert asyncio.run(watch.check(app)) == {3: 30}


def test_a_rebalance_with_nothing_moving_is_stalled_after_its_limit_but_not_while_the_broker_is_away():
    # The limit with a 6 s session: 10 + 6 = 16 s; with the kill tests' 30 s, 40 s.
    assert rebalance_limit_s(6.0) == 16.0 and rebalance_limit_s(30.0) == 40.0
    now = [50.0]
    watch = PartitionWatch("run-inbound", clock=lambda: now[0])
    app = SimpleNamespace(rebalancing=False)
    now[0] += 100
    assert watch.rebalance_stalled(app, 22.0) == 0.0  # idle, but not rebalancing
    app.rebalancing = True
    assert watch.rebalance_stalled(app, 22.0) == 100.0
    watch.reassigned()  # partitions assigned: the rebalance moved
    now[0] += 21.5
    assert watch.rebalance_stalled(app, 22.0) == 0.0
    watch.moved()  # a changelog batch restored
    now[0] += 21.5
    assert watch.rebalance_stalled(app, 22.0) == 0.0
    now[0] += 0.5
    assert watch.rebalance_stalled(app, 22.0) == 22.0
    # The broker away: nothing can move, the worker says so (`moved`), and the clock starts
    # again from its return.
    watch.moved()
    assert watch.rebalance_stalled(app, 22.0) == 0.0
    now[0] += 21.9
    assert watch.rebalance_stalled(app, 22.0) == 0.0
    now[0] += 0.1
    assert watch.rebalance_stalled(app, 22.0) == 22.0
    # Once its recovery is restoring, the stall time with no batch restored is enough.
    watch.moved()
    app.in_recovery = True
    now[0] += STALL_S - 0.5
    assert watch.rebalance_stalled(app, 22.0) == 0.0
    now[0] += 0.5
    assert watch.rebalance_stalled(app, 22.0) == STALL_S


def test_task_stacks_names_each_task_and_the_chain_of_awaits_it_waits_in():
    from claimsim.adjudication.runtimes.streaming.watchdog import task_stacks

    async def inner():
        await asyncio.sleep(10)

    async def outer():
        await inner()

    async def main():
        task = asyncio.create_task(outer(), name="stuck")
        await asyncio.sleep(0)
        report = task_stacks()
        task.cancel()
        return report

    (line,) = [ln for ln in asyncio.run(main()).splitlines() if "stuck:" in ln]
    assert line.startswith("  stuck: outer runtimes/test_streaming_watchdog.py:")
    assert " -> inner runtimes/test_streaming_watchdog.py:" in line and " -> sleep asyncio/tasks.py:" in line
