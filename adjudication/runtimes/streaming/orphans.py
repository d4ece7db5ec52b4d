"""A worker's watch on the group as a whole: an inbound partition that holds messages past the
group's committed offset while no member of the stable group holds it (an orphan) is consumed by
nobody, ever, until something makes the group rebalance. The worker that sees one asks its
group to rebalance (aiokafka's `request_rejoin`), and starts again in its own process
(`exits.start_again`) only when `MAX_REJOINS` rebalances in a row left orphans.

Why: after a broker restart a group leader computed the group's assignment from a metadata that
did not yet hold the run's topics (faust's assignor: "Ignoring missing topic" for every one of
them), so no member got a partition; the group was stable and idle, every member heartbeating,
and no partition watch (`watchdog.PartitionWatch`, which judges a worker's own partitions) had
anything to judge. aiokafka's leader rejoins by itself only when a metadata update changes its
snapshot of the subscription's partition counts (`BaseCoordinator._handle_metadata_update`), and
the snapshot is taken from the same metadata as the assignment, so it waits for the leader's next
metadata refresh (faust's default: every 5 minutes; the workers ask every 10 s): this watch does
not depend on that, nor on the assignment and the snapshot agreeing.

How it judges, every `CHECK_S` (the partition watch's timer), skipped while this worker
rebalances or holds every inbound partition (then nothing can be an orphan that its own
partition watch does not see):
1. a worker whose metadata does not know the inbound topic refreshes it (a leader's refresh is
   what lets aiokafka notice, and its next assignment needs the topics);
2. the inbound partitions it does not hold that have messages past the group's committed offset
   (end offsets and committed offsets: two requests) are the candidates; none, nothing to do;
3. the group's own description (DescribeGroups: the coordinator's record of each member's
   assignment, decoded) says which of them no member holds. Not the committed offsets moving:
   those stand still while an owner restores its changelog or is just slow (its own partition
   watch judges it), and a rebalance then would restart that recovery; and a member with no
   partition because the group has more members than partitions is not an orphan's sign.
4. The same group generation showing orphans at two checks in a row (`CHECK_S` apart: a group
   just stabilised has had time to start) makes the worker refresh its metadata and request a
   rejoin: one warning naming the partitions, one more for each further request (at most
   `MAX_REJOINS` in a row), and one when a check finds no orphan again (the count resets).

Choices where DESIGN.md is silent: every worker runs the check (whichever sees the orphans first
asks; two asking at once make one rebalance); a check the broker cannot answer is skipped, and
the episode starts again from its first sighting.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

log = logging.getLogger(__name__)

MAX_REJOINS = 3  # rebalances asked for in a row that left orphans: then start the worker again
REQUEST_TIMEOUT_S = 5.0


def orphans(candidates: Iterable[int], assignments: Iterable[bytes], topic: str) -> set[int]:
    """The partitions of `topic` among `candidates` that no member's assignment (the raw
    `member_assignment` bytes of a DescribeGroups response) holds."""
    from aiokafka.coordinator.protocol import ConsumerProtocol

    held: set[int] = set()
    for raw in assignments:
        if not raw:  # a member not yet synced: its assignment is empty until the group is
            continue
        for name, partitions in ConsumerProtocol.ASSIGNMENT.decode(raw).assignment:
            if name == topic:
                held.update(partitions)
    return set(candidates) - held


def waiting(ends: Mapping[int, int], committed: Mapping[int, int | None]) -> set[int]:
    """The partitions whose end offset is past the group's committed offset (None: nothing
    committed, counted from offset 0)."""
    return {p for p, end in ends.items() if end > (committed.get(p) or 0)}


async def _in_consumer_thread(app: Any, make_coro) -> Any:
    """Run `make_coro(consumer)` on aiokafka's consumer in faust's consumer thread (its own
    event loop), at most `REQUEST_TIMEOUT_S`."""
    thread = app.consumer._thread
    consumer = thread._ensure_consumer()
    fut = asyncio.run_coroutine_threadsafe(make_coro(consumer), thread.thread_loop)
    return await asyncio.wait_for(asyncio.wrap_future(fut), REQUEST_TIMEOUT_S)


async def _refresh_metadata(consumer: Any) -> None:
    await consumer._client.force_metadata_update()


async def _request_rejoin(consumer: Any) -> None:
    await consumer._client.force_metadata_update()  # the next assignment needs the topics
    consumer._coordinator.request_rejoin()


async def _look(consumer: Any, topic: str, others: list[int]) -> tuple[int, set[int] | None]:
    """(this member's generation, the orphans among `others`, None while the group rebalances),
    from the group's coordinator."""
    from aiokafka import TopicPartition
    from aiokafka.protocol.admin import DescribeGroupsRequest

    coordinator = consumer._coordinator
    generation = coordinator.generation
    tps = [TopicPartition(topic, p) for p in others]
    ends = await consumer.end_offsets(tps)
    committed = await coordinator.fetch_committed_offsets(tps)
    candidates = waiting({tp.partition: ends[tp] for tp in tps},
                         {tp.partition: committed[tp].offset if tp in committed
                          and committed[tp].offset >= 0 else None for tp in tps})
    if not candidates or coordinator.coordinator_id is None:
        return generation, set()
    response = await consumer._client.send(coordinator.coordinator_id,
                                           DescribeGroupsRequest([coordinator.group_id]))
    (group,) = response.groups  # (error, id, state, protocol type, protocol, members, ...)
    if group[0] != 0 or group[2] != "Stable" or coordinator.generation != generation:
        return generation, None  # rebalancing: judged again once it is stable
    return generation, orphans(candidates, (member[-1] for member in group[5]), topic)


class OrphanWatch:
    """Sightings of orphaned inbound partitions and the rejoins asked for (see the module)."""

    def __init__(self, topic: str, partitions: int, max_rejoins: int = MAX_REJOINS):
        self.topic, self.partitions, self.max_rejoins = topic, partitions, max_rejoins
        self.seen: tuple[int, frozenset[int]] | None = None  # (generation, orphans) last check
        self.rejoins = 0  # asked for in a row, each of which left orphans
        self.since: float | None = None  # when this episode's first rejoin was asked for

    def clear(self) -> None:
        if self.rejoins:
            log.warning("every partition of %s assigned again after %d rebalance(s) this worker"
                        " asked for (%.1f s after the first)", self.topic, self.rejoins,
                        time.monotonic() - (self.since or time.monotonic()))
        self.seen, self.rejoins, self.since = None, 0, None

    async def check(self, app: Any) -> bool:
        """One check (module text); False when the worker must start again instead."""
        if getattr(app, "rebalancing", False):
            self.seen = None
            return True
        mine = {tp.partition for tp in app.consumer.assignment() if tp.topic == self.topic}
        if len(mine) >= self.partitions:
            self.clear()
            return True
        try:
            return await self._check(app, [p for p in range(self.partitions) if p not in mine])
        except Exception as e:  # a broker away, a coordinator moving: judged again later
            log.debug("orphan watch skipped: %s: %s", type(e).__name__, e)
            self.seen = None
            return True

    async def _check(self, app: Any, others: list[int]) -> bool:
        known = await _in_consumer_thread(
            app, lambda c: _known(c, self.topic))
        if not known:
            log.info("%s is not in this worker's metadata; refreshing it", self.topic)
            await _in_consumer_thread(app, _refresh_metadata)
            self.seen = None
            return True
        generation, found = await _in_consumer_thread(
            app, lambda c: _look(c, self.topic, others))
        if found is None:  # the group rebalancing: the rejoins asked for still count
            self.seen = None
            return True
        if not found:
            self.clear()
            return True
        sighting = (generation, frozenset(found))
        if self.seen is None or self.seen[0] != generation or not self.seen[1] & found:
            self.seen = sighting  # first sighting: the group may just have stabilised
            return True
        if self.rejoins >= self.max_rejoins:
            log.error("%s partition(s) %s still held by no member after %d rebalances this"
                      " worker asked for; starting the worker again", self.topic, sorted(found),
                      self.rejoins)
            return False
        self.rejoins += 1
        self.since = self.since or time.monotonic()
        self.seen = None  # the next generation is judged from its own first sighting
        if self.rejoins == 1:
            log.warning("%s partition(s) %s hold messages past the group's committed offsets"
                        " and no member of the group holds them (generation %d: its leader"
                        " assigned them to nobody, as after a broker restart); asking the group"
                        " to rebalance", self.topic, sorted(found), generation)
        else:
            log.warning("%s partition(s) %s still held by no member; asking the group to"
                        " rebalance again (%d of %d)", self.topic, sorted(found), self.rejoins,
                        self.max_rejoins)
        await _in_consumer_thread(app, _request_rejoin)
        return True


async def broker_answers(app: Any) -> bool:
    """Whether the broker answers a metadata request now (within `REQUEST_TIMEOUT_S`)."""
    async def update(consumer: Any) -> bool:
        return bool(await consumer._client.force_metadata_update())

    try:
        return await _in_consumer_thread(app, update)
    except Exception:  # away, or the consumer not started
        return False


async def _known(consumer: Any, topic: str) -> bool:
    return bool(consumer._client.cluster.partitions_for_topic(topic))
