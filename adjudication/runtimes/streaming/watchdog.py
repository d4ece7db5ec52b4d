"""A worker's watch on its own inbound partitions: one that holds messages past what the worker
has processed while it does not move (no message of it processed, no changelog record restored,
no rebalance) for `STALL_S` seconds is stalled: the worker seeks it back to its committed offset
in its own process (`reseek.Reseeks.stalled`), and starts again in its own process
(`exits.restart_in_place`, which resumes every partition from the committed offset) if it is
still stalled `STALL_S` later. Each
partition is judged on its own: the partitions faust leaves unconsumed after a rebalance sit
beside ones the worker keeps consuming (measured: a killed worker's two partitions, moved to
the survivor, waited until the next rebalance while the survivor's own two moved on, and the
ledger, written in input order, stood still with them).

Why: after a rebalance that moved a killed worker's partitions, faust 0.15 has left partitions
assigned to a live worker and never consumed (the group stable, every member heartbeating, the
partitions' messages waiting: seen in load tests on a busy broker, where the killed worker's
partitions' changelog and ledger stopped at a tenth of the others'), and it can drop a message
whose delivery a rebalance interrupts (`Consumer._drain_messages` abandons it when the flow is
suspended and still advances its read offset); the processor's gap check catches the latter only
when a later message reaches the partition, which never happens at the end of a stream.

A worker whose rebalance itself never ends (faust's `rebalancing` flag still set, nothing
assigned or restored since: the partition watch and the orphan watch both wait for a rebalance to
end, so neither ever judges it) starts again in place once that has lasted `rebalance_limit_s`
(`rebalance_stalled`): the stall time plus a session, longer than a rebalance can wait for a
member that died without leaving, which the coordinator drops when its session expires; and once
its recovery is restoring (faust's `in_recovery`), after the stall time with no changelog batch
restored. Seen in kill-worker load tests: a survivor's recovery received no changelog record for
120 s in CI, and 5 times here in some 128 runs of the load tests, no watch firing before this;
its new process recovered at once.

Choices where DESIGN.md is silent: a partition's position is the offset after the last message
this worker processed on it, else the offset faust last committed or sought to for it, else its
first offset; `STALL_S` (10 s) is longer than the session timeout, so the restart is never the
first answer to a worker that died (the group reassigns its partitions after 6 s, or the
session `CLAIMSIM_WORKER_SESSION_TIMEOUT_S` sets) and long recoveries
(each restored changelog batch counts as progress) are left alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)

STALL_S = 10.0
CHECK_S = 5.0


def task_stacks(limit: int = 80, depth: int = 8, loop: Any = None) -> str:
    """Where each of this loop's tasks waits, one line a task: its chain of awaits from the
    task's coroutine inward (function file:line -> ...). What a worker about to start again
    leaves in its log, so the stall can be read later."""
    import asyncio

    lines = []
    try:
        tasks = sorted(asyncio.all_tasks(loop), key=lambda t: t.get_name())[:limit]
    except RuntimeError as e:  # another thread's loop changed its tasks meanwhile
        return f"  (tasks not read: {e})"
    for task in tasks:
        chain, awaited = [], task.get_coro()
        while awaited is not None and len(chain) < depth:
            frame = (getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
                     or getattr(awaited, "ag_frame", None))
            if frame is None:  # a future, or a coroutine that has not started
                chain.append(type(awaited).__name__)
                break
            path = frame.f_code.co_filename.rsplit("/", 2)
            chain.append(f"{frame.f_code.co_name} {'/'.join(path[-2:])}:{frame.f_lineno}")
            awaited = (getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
                       or getattr(awaited, "ag_await", None))
        lines.append(f"  {task.get_name()}: {' -> '.join(chain) or '-'}")
    return "\n".join(lines)


def rebalance_limit_s(session_s: float) -> float:
    """How long a rebalance may go without anything moving before the worker starts again."""
    return STALL_S + session_s


def stalled(positions: Mapping[int, int | None], ends: Mapping[int, int],
            idle_s: Mapping[int, float] | float, stall_s: float = STALL_S) -> dict[int, int]:
    """partition -> messages waiting, for each partition whose end is past its position and
    that has not moved for `stall_s` (`idle_s`: seconds since each partition moved, or one
    figure for all). A position of None counts from offset 0."""
    idle = idle_s if isinstance(idle_s, Mapping) else dict.fromkeys(ends, idle_s)
    return {p: end - (positions.get(p) or 0) for p, end in ends.items()
            if end > (positions.get(p) or 0) and idle.get(p, 0.0) >= stall_s}


class PartitionWatch:
    """What the agent and the table tell it (progress), and the check its timer runs."""

    def __init__(self, topic: str, clock: Callable[[], float] = time.monotonic):
        self.topic, self.clock = topic, clock
        self.next_offset: dict[int, int] = {}  # partition -> offset after the last processed
        self.processed_at: dict[int, float] = {}  # partition -> when it last processed one
        self.moved_at = clock()  # when every partition last moved (a restore, a rebalance)

    def processed(self, partition: int, offset: int) -> None:
        self.next_offset[partition] = offset + 1
        self.processed_at[partition] = self.clock()

    def moved(self) -> None:
        """Something else moved: a changelog batch restored, partitions assigned or revoked."""
        self.moved_at = self.clock()

    def reassigned(self) -> None:
        self.next_offset.clear()
        self.processed_at.clear()
        self.moved()

    def idle(self, partition: int) -> float:
        """Seconds since the partition last moved."""
        return self.clock() - max(self.moved_at, self.processed_at.get(partition, self.moved_at))

    def rebalance_stalled(self, app: Any, limit_s: float) -> float:
        """Seconds this worker has been rebalancing with nothing moved (no assignment, no
        changelog batch restored), once that reaches `limit_s` (or `STALL_S` once its recovery
        is restoring: a changelog that sends nothing for that long is stuck, not slow); else
        0.0. (While the broker is away nothing can move: the caller calls `moved` then, so the
        rebalance is judged from the broker's return.)"""
        if not getattr(app, "rebalancing", False):
            return 0.0
        if getattr(app, "in_recovery", False):
            limit_s = min(limit_s, STALL_S)
        still = self.clock() - self.moved_at
        return still if still >= limit_s else 0.0

    async def check(self, app: Any) -> dict[int, int]:
        """The stalled partitions of `app`'s assignment (empty while rebalancing)."""
        if self.clock() - self.moved_at < STALL_S or getattr(app, "rebalancing", False):
            return {}  # no partition can have been idle for longer
        consumer = app.consumer
        tps = [tp for tp in consumer.assignment() if tp.topic == self.topic]
        if not tps:
            return {}
        ends = await consumer.highwaters(*tps)
        known = getattr(consumer, "_committed_offset", {})  # faust's: set on commit and seek
        positions = {tp.partition: self.next_offset.get(tp.partition, known.get(tp))
                     for tp in tps}
        return stalled(positions, {tp.partition: ends[tp] for tp in tps if tp in ends},
                       {tp.partition: self.idle(tp.partition) for tp in tps})
