"""A worker's recovery from a gap in a partition's input (or a partition left stalled) inside its
own process: the partition's consumer is sought back to its committed offset, what the worker
fetched past it is dropped unacknowledged, and the processor's caches are dropped, so the
messages come again to this same worker and are answered as a fresh owner would answer them
(inputs already applied re-emit their stored answers; the sink drops what it already wrote).

Why: faust 0.15 can drop inbound messages around a rebalance (DESIGN.md "Kafka"). The worker used
to leave its consumer group and start again in its own process on every gap: a process start, a
changelog restore, and two rebalances of the whole group, during which every partition (and the
ledger, written in input order) stood still. A seek costs one partition a re-fetch.

How a seek stays correct. Nothing of a gapped message is applied, and it is never acknowledged
(`drop_unacked`): faust commits only offsets below the first message it has not seen acked, so
the committed offset stays at or below the first missing message. Seeking there redelivers the
missing messages, and those after them, in order. Messages fetched before the seek may still reach
the agent after it (from faust's stream buffer, or from the fetch faust was draining when the seek
happened): each is past the partition's position too, so it meets the same gap and is dropped
unacknowledged. One that faust handed to its stream before the seek changes nothing; one handed
over after it (the rest of the fetch faust was draining, up to megabytes) moved faust's read
offset past the redelivered ones, so the partition is sought again `RESEEK_AFTER_S` later, once
for all of them (a seek each would cost a consumer-thread round trip apiece). Once they are used
up, only redelivered messages arrive. A message at the offset
just sought to is redelivered (anything fetched before the seek lies past the missing messages),
so a gap there is the gap itself again.

Choices where DESIGN.md is silent: the committed offset is the last this worker committed for
the partition, else faust's (the broker's, read at the assignment), else the broker's, asked now;
a partition falls back to the restart (`exits.restart_in_place`, or EXIT_GAP for a runner) when
its gap comes again at the offset sought to, or new gaps meet the same stream position, more than
`MAX_SEEKS` times in all; when a seek fails (a broker away); or when a partition the watch found
stalled and sought is found stalled again with nothing processed in between.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

MAX_SEEKS = 5  # a gap met this often at the same place is not faust's: restart the process
RESEEK_AFTER_S = 0.3  # a stale message handed over after a seek: seek again this much later
SEEK_TIMEOUT_S = 5.0


def drop_unacked(app: Any, message: Any) -> None:
    """Let faust's stream move past `message` without acknowledging it: no offset at or past it
    is committed until it is delivered again (and processed)."""
    message.acked = True  # faust's consumer records an ack only for a message not yet acked
    unacked = getattr(app.consumer, "_unacked_messages", None)
    if unacked is not None:
        unacked.discard(message)  # a rebalance waits for every tracked message to be acked


async def _aiokafka_seek(app: Any, tp: Any, offset: int | None) -> int:
    """Seek aiokafka's consumer (in faust's consumer thread, its own event loop) to `offset`, or
    to the broker's committed offset when None (the partition's first offset if none); returns
    the offset sought to."""
    from aiokafka import TopicPartition

    thread = app.consumer._thread
    consumer = thread._ensure_consumer()
    tp = TopicPartition(tp.topic, tp.partition)  # aiokafka checks for its own type

    async def seek() -> int:
        target = offset
        if target is None:
            target = await consumer.committed(tp)
        if target is None:
            # Not `seek_to_beginning`: it leaves the position unset until a reset completes, and
            # faust's livelock check reads it meanwhile (an AssertionError that crashed a worker).
            target = (await consumer.beginning_offsets([tp]))[tp]
        consumer.seek(tp, target)
        return target

    fut = asyncio.run_coroutine_threadsafe(seek(), thread.thread_loop)
    return await asyncio.wait_for(asyncio.wrap_future(fut), SEEK_TIMEOUT_S)


async def seek_partition(app: Any, topic: str, partition: int,
                         committed: int | None) -> tuple[int, int]:
    """Seek the worker's consumer of `topic[partition]` to its committed offset (`committed`,
    else faust's, else the broker's) and make faust deliver from there again; returns it, and
    the offset of the last message faust had handed to the stream before (-1: none)."""
    from faust.types import TP

    tp = TP(topic, partition)
    consumer = app.consumer
    if committed is None:
        committed = getattr(consumer, "_committed_offset", {}).get(tp)
    delivered = consumer._read_offset.get(tp)  # read before the seek begins (see `Reseeks.gap`)
    _deliver_anything(consumer, tp)  # what aiokafka fetches once sought may come during the await
    offset = await _aiokafka_seek(app, tp, committed)
    _deliver_anything(consumer, tp)  # and anything a stale fetch moved it to meanwhile
    if tp in getattr(consumer, "_paused_partitions", set()):
        consumer.resume_partitions({tp})
    return offset, -1 if delivered is None else delivered


def _deliver_anything(consumer: Any, tp: Any) -> None:
    """faust hands the stream only messages at or past its read offset for the partition (the
    last it handed over): with none, every message fetched is handed over. Not the offset
    sought to: a message fetched before the seek and handed over after it, far past that offset,
    would look to faust like a jump over messages the topic no longer holds (compaction), and
    it would count those as acknowledged (`Consumer._add_gap`), so a commit could pass the very
    messages the seek is for. faust's own gaps of the partition are dropped for that reason too
    (acknowledged messages of the inbound topic are contiguous: nothing is compacted away)."""
    consumer._read_offset[tp] = None
    gaps = getattr(consumer, "_gap", None)
    if gaps is not None:
        gaps.pop(tp, None)


@dataclass(slots=True)
class Reseeks:
    """The worker's in-process recoveries, partition by partition (see the module's text).
    `on_seek` runs after each seek (the worker drops its caches there)."""

    topic: str
    committed: Mapping[int, int]  # partition -> offset this worker last committed
    on_seek: Callable[[], None]
    max_seeks: int = MAX_SEEKS
    sought: dict[int, int] = field(default_factory=dict)  # partition -> offset, until it moves
    delivered: dict[int, int] = field(default_factory=dict)  # partition -> last offset handed
    # to the stream before the latest seek: a message up to it was already queued then
    stall_sought: set[int] = field(default_factory=set)  # sought by the watch, until it moves
    episodes: Counter = field(default_factory=Counter)  # (partition, applied) -> seeks there
    seeks: int = 0  # every seek so far (for tests and diagnostics)
    reseek_after_s: float = RESEEK_AFTER_S
    _later: dict[int, Any] = field(default_factory=dict)  # partition -> its pending re-seek

    def processed(self, partition: int) -> None:
        """A message of the partition was applied: any seek of it has done its work."""
        if partition in self.sought:
            del self.sought[partition]
            self.delivered.pop(partition, None)
        self.stall_sought.discard(partition)

    def reassigned(self) -> None:
        """A rebalance: faust seeks every partition it assigns to its committed offset itself."""
        for pending in self._later.values():
            pending.cancel()
        self._later.clear()
        self.sought.clear()
        self.delivered.clear()
        self.stall_sought.clear()

    async def gap(self, app: Any, message: Any, applied: int, pos: int) -> bool:
        """Recover from `message` (of partition `message.partition`, starting at stream item
        `pos` where the partition has applied `applied`) by a seek; False when the worker must
        start again instead. The message is dropped unacknowledged either way."""
        partition, offset = message.partition, message.offset
        drop_unacked(app, message)
        sought = self.sought.get(partition)
        if sought is None or offset == sought:  # a new gap, or the same one redelivered
            self.episodes[(partition, applied)] += 1
            if self.episodes[(partition, applied)] > self.max_seeks:
                log.error("%s[%d]: the gap after stream item %d came back after %d seeks; starting"
                          " the worker again", self.topic, partition, applied, self.max_seeks)
                return False
            log.warning("%s[%d]@%d starts at stream item %d but the partition has applied %d:"
                        " messages went missing (faust can drop some around a rebalance); seeking"
                        " the partition back to its committed offset in process", self.topic,
                        partition, offset, pos, applied)
        else:  # fetched before the seek
            if offset > self.delivered.get(partition, -1) and partition not in self._later:
                # Handed over after it, so more of that fetch may follow, each moving faust's
                # read offset past the redelivery: one seek once they are through, not one each.
                self._later[partition] = asyncio.get_running_loop().call_later(
                    self.reseek_after_s, self._seek_later, app, partition)
            return True
        return await self._seek(app, partition, "gap")

    def _seek_later(self, app: Any, partition: int) -> None:
        self._later.pop(partition, None)
        if partition in self.sought:  # else the redelivery has been applied meanwhile
            task = asyncio.ensure_future(self._seek(app, partition, "gap"))
            self._later[partition] = task  # kept (a task nobody holds can be collected)
            task.add_done_callback(lambda _: self._later.pop(partition, None))

    async def stalled(self, app: Any, waiting: Mapping[int, int]) -> bool:
        """Recover the partitions the watch found stalled by seeking them; False when one of
        them was sought for a stall before and has not moved since (start the worker again)."""
        again = sorted(set(waiting) & self.stall_sought)
        if again:
            log.error("%s partition(s) %s stalled again after a seek; starting the worker again",
                      self.topic, again)
            return False
        for partition in sorted(waiting):
            self.stall_sought.add(partition)
            if not await self._seek(app, partition, "stall"):
                return False
        return True

    async def _seek(self, app: Any, partition: int, why: str) -> bool:
        try:
            offset, delivered = await seek_partition(app, self.topic, partition,
                                                     self.committed.get(partition))
        except Exception as e:  # a broker away, a partition no longer assigned
            log.error("could not seek %s[%d] back (%s: %s); starting the worker again",
                      self.topic, partition, type(e).__name__, e)
            return False
        self.seeks += 1
        first = partition not in self.sought
        self.sought[partition] = offset
        self.delivered[partition] = max(delivered, self.delivered.get(partition, -1))
        self.on_seek()
        if first or why == "stall":
            log.warning("%s[%d] sought back to offset %d in process (%s; %d seek(s) so far)",
                        self.topic, partition, offset, why, self.seeks)
        else:
            log.info("%s[%d] sought back to offset %d again (a message fetched before the seek)",
                     self.topic, partition, offset)
        return True
