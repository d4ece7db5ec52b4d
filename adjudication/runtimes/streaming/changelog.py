"""One changelog record per inbound message: every table write the processor makes for a message
(family hot parts, claim records, epoch facts, the partition's position) travels to the
`family_state` changelog as a single packed record (several, in order, past `RECORD_BYTES`), and
recovery unpacks it into the keys.

faust sends one changelog record per table write, each through its producer buffer and an
aiokafka send of its own (about a third of the worker's time went on that path for one or two
writes per input); one record per message makes that cost per message. The record's key is
unique (`\\x00batch/<worker nonce>/<counter>`), so log compaction never drops one for a later
one; the changelog is then an append-only log of the table's writes, which is what faust's
recovery replays anyway (compaction could drop a record only once every key in it has a later
write: measured, 0.3 % of a 10,000-member year's changelog, since nearly every message writes a
new claim's record; docs/performance.md, "What the Kafka worker costs"). The writes are applied in the
order made, so the processor's ordering rules (family states before the epoch fact that follows
them, claim records before their hot part, the partition's position last) hold inside a record,
and a record is all or nothing; a message split over several records may survive a crash as a
prefix of them, which those rules make a state the stream passed through.
"""

from __future__ import annotations

import asyncio
import secrets
import struct
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import faust

from claimsim.adjudication.runtimes.processor import horizon_key

BATCH_PREFIX = b"\x00batch/"
_SIZES = struct.Struct(">II")
DELETED = 0xFFFFFFFF  # a value length that marks a deletion (the write's value is None)
# The largest record `TableWrites.send` makes: half of the producer's and the broker's 1 MB
# default request and message limits. A message's writes past it go in several records, in
# order. Measured on the 100,000-member run: a commit that took 58 s let a prune gather one
# record of 1.7 MB of deletions, which the producer refused, and the worker crashed.
RECORD_BYTES = 512 * 1024
# The changelog bytes a worker lets wait for the broker before it takes the next message
# (`TableWrites.ebb`). Unbounded, they were the growth of a RocksDB worker's memory with the
# length of the run: the worker adjudicates faster than one changelog batch per partition at a
# time reaches the broker, and the records waited in faust's producer buffer (whose bound is a
# count, 20,000, made for one record per table write): at 100,000 members 103 records of about
# 340 KB waited at once (650 in a slower, traced run); peak RSS 600 MB against 198 MB at 10,000
# (docs/performance.md, "What the Kafka worker costs"). 16 MB is some 50 messages' records: far more than one
# aiokafka batch in flight.
CHANGELOG_BACKLOG_BYTES = 16 << 20


def pack(writes: list[tuple[bytes, bytes | None]]) -> bytes:
    """`writes` as one value: per write, key and value lengths (4 bytes each), key, value; a
    deletion (value None) has the length `DELETED` and no value bytes."""
    parts = []
    for key, value in writes:
        if value is None:
            parts.append(_SIZES.pack(len(key), DELETED))
            parts.append(key)
            continue
        parts.append(_SIZES.pack(len(key), len(value)))
        parts.append(key)
        parts.append(value)
    return b"".join(parts)


def chunks(writes: list[tuple[bytes, bytes | None]],
           limit: int = RECORD_BYTES) -> Iterator[list[tuple[bytes, bytes | None]]]:
    """`writes` in consecutive runs whose packed size is at most `limit` (a single larger write
    is a run of its own)."""
    run: list[tuple[bytes, bytes | None]] = []
    size = 0
    for key, value in writes:
        n = _SIZES.size + len(key) + (0 if value is None else len(value))
        if run and size + n > limit:
            yield run
            run, size = [], 0
        run.append((key, value))
        size += n
    if run:
        yield run


def unpack(value: bytes) -> Iterator[tuple[bytes, bytes | None]]:
    view, at, end = memoryview(value), 0, len(value)
    while at < end:
        klen, vlen = _SIZES.unpack_from(view, at)
        at += _SIZES.size
        key = bytes(view[at:at + klen])
        at += klen
        if vlen == DELETED:
            yield key, None
            continue
        yield key, bytes(view[at:at + vlen])
        at += vlen


class _Message(NamedTuple):  # what faust's stores read of a changelog message
    key: bytes
    value: bytes
    partition: int
    tp: Any
    offset: int


class _Event(NamedTuple):
    key: bytes
    value: bytes
    message: _Message


def expand(batch: Iterable[Any]) -> Iterator[Any]:
    """Changelog events with every packed record replaced by one event per write it holds (at the
    record's partition and offset, so a RocksDB store persists the offset as usual)."""
    for event in batch:
        msg = event.message
        key = msg.key
        if key is not None and key.startswith(BATCH_PREFIX):
            for k, v in unpack(msg.value):
                yield _Event(k, v, _Message(k, v, msg.partition, msg.tp, msg.offset))
        else:
            yield event


class BatchedTable(faust.Table):
    """A faust table whose changelog may hold packed records (`TableWrites.send`)."""

    claimsim_on_restore = None  # called after each restored batch (the worker's progress watch)

    def apply_changelog_batch(self, batch: Iterable[Any]) -> None:
        super().apply_changelog_batch(list(expand(batch)))
        if self.claimsim_on_restore is not None:
            self.claimsim_on_restore()


class TableWrites:
    """The processor's `Store` over a faust table: reads and writes go to the table's local store
    at once; `send(partition)` then puts the message's writes on the changelog as one record.
    Call it once per message, inside the agent (the RocksDB store files writes under the current
    event's partition, which is the partition of every family the message touches).

    It also keeps the stored answers of redelivered inputs (`r:` keys) only as long as a
    redelivery can need them: `send` notes which message (its offset) wrote which, and
    `prune(partition, committed)` deletes those of every message below the partition's committed
    offset, which is never delivered again (a restarted or new owner starts at the committed
    offset, and commits only move forward). The deletions travel in the next message's record,
    with the partition's horizon (`processor.horizon_key`: the stream position those messages
    end at), below which the processor skips anything that reaches it again (a producer's
    duplicate) instead of looking for answers that are gone."""

    def __init__(self, table: faust.Table):
        self.table, self.data = table, table.data
        inner = getattr(self.data, "data", None)
        if type(inner) is dict:  # faust's memory store wraps a dict (the same one for its life):
            self.data = inner  # its mapping methods are Python calls on every read and write
        self.pending: list[tuple[bytes, bytes | None]] = []
        self._nonce = secrets.token_hex(4).encode()
        self._count = 0
        self._results: list[bytes] = []  # `r:` keys the current message wrote
        self._kept: dict[int, deque[tuple[int, int | None, list[bytes]]]] = {}
        self.pruned = 0  # answers deleted so far (for tests and diagnostics)
        self.unsent = 0  # bytes of changelog records sent, not yet seen acknowledged by `ebb`
        self._in_flight: deque[tuple[asyncio.Future, int]] = deque()  # theirs, oldest first

    def get(self, key: bytes, default: Any = None) -> bytes | None:
        return self.data.get(key, default)

    def items(self) -> Iterable[tuple[bytes, bytes]]:
        return self.data.items()

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.data[key] = value
        self.pending.append((key, value))
        if key[:2] == b"r:":
            self._results.append(key)

    def send(self, partition: int, offset: int | None = None, end: int | None = None):
        """The changelog future of this message's writes (None when it wrote nothing). With the
        message's `offset` (and `end`, its stream position after it), the answers it stored are
        kept until `prune` passes that offset."""
        if self._results:
            if offset is not None:
                self._kept.setdefault(partition, deque()).append((offset, end, self._results))
            self._results = []
        if not self.pending:
            return None
        pending, self.pending = self.pending, []
        fut = None
        # Usually one record. Several when the writes are large: each a prefix-closed step
        # (the processor orders its writes so any prefix of them is a state the stream passed
        # through), sent in order to the one changelog partition.
        for run in chunks(pending):
            self._count += 1
            key = BATCH_PREFIX + self._nonce + b"/%d" % self._count
            value = pack(run)
            fut = self.table.send_changelog(partition, key, value)
            if fut is not None:
                self._count_unsent(fut, len(value))
        return fut

    def _count_unsent(self, fut: asyncio.Future, size: int) -> None:
        self.unsent += size
        self._in_flight.append((fut, size))

    async def ebb(self, limit: int = CHANGELOG_BACKLOG_BYTES) -> None:
        """Wait until at most `limit` bytes of changelog records are on their way to the broker
        (the backpressure the worker's memory needs: faust's producer buffer has none in bytes),
        oldest record first. A record that failed counts as gone: the commit that follows raises
        its error (`commits.commits_wait_for_table_writes`)."""
        flight = self._in_flight
        while True:
            while flight and flight[0][0].done():
                self.unsent -= flight.popleft()[1]
            if self.unsent <= limit or not flight:
                return
            await asyncio.wait((flight[0][0],))

    def prune(self, partition: int, committed: int | None) -> int:
        """Delete the stored answers of the partition's messages below `committed` (its committed
        offset; None: nothing is committed yet). Returns how many were deleted."""
        kept = self._kept.get(partition)
        if committed is None or not kept or kept[0][0] >= committed:
            return 0
        deleted, horizon = 0, None
        while kept and kept[0][0] < committed:
            _, end, keys = kept.popleft()
            for key in keys:
                self._delete(key)
            deleted += len(keys)
            horizon = end if end is not None else horizon
        if horizon is not None:
            self[horizon_key(partition)] = b"%d" % horizon
        self.pruned += deleted
        return deleted

    def _delete(self, key: bytes) -> None:
        try:
            del self.data[key]
        except KeyError:
            pass  # already gone (a previous owner pruned it)
        self.pending.append((key, None))

    def forget(self) -> None:
        """Drop the notes of which message stored which answers (on a rebalance: the partitions
        may move; a later owner keeps its own). The answers themselves stay in the table."""
        self._kept.clear()
        self._results = []
