"""One changelog record per inbound message: every table write the processor makes for a message
(family hot parts, claim records, epoch facts, the partition's position) travels to the
`family_state` changelog as a single packed record, and recovery unpacks it into the keys.

faust sends one changelog record per table write, each through its producer buffer and an
aiokafka send of its own (about a third of the worker's time went on that path for one or two
writes per input); one record per message makes that cost per message. The record's key is
unique (`\\x00batch/<worker nonce>/<counter>`), so log compaction never drops one for a later
one; the changelog is then an append-only log of the table's writes, which is what faust's
recovery replays anyway. The writes are applied in the order made, so the processor's ordering
rules (family states before the epoch fact that follows them, claim records before their hot
part) hold inside a record, and a record is all or nothing.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import faust

BATCH_PREFIX = b"\x00batch/"
_SIZES = struct.Struct(">II")


def pack(writes: list[tuple[bytes, bytes]]) -> bytes:
    """`writes` as one value: per write, key and value lengths (4 bytes each), key, value."""
    parts = []
    for key, value in writes:
        parts.append(_SIZES.pack(len(key), len(value)))
        parts.append(key)
        parts.append(value)
    return b"".join(parts)


def unpack(value: bytes) -> Iterator[tuple[bytes, bytes]]:
    view, at, end = memoryview(value), 0, len(value)
    while at < end:
        klen, vlen = _SIZES.unpack_from(view, at)
        at += _SIZES.size
        key = bytes(view[at:at + klen])
        at += klen
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

    def apply_changelog_batch(self, batch: Iterable[Any]) -> None:
        super().apply_changelog_batch(list(expand(batch)))


class TableWrites:
    """The processor's `Store` over a faust table: reads and writes go to the table's local store
    at once; `send(partition)` then puts the message's writes on the changelog as one record.
    Call it once per message, inside the agent (the RocksDB store files writes under the current
    event's partition, which is the partition of every family the message touches)."""

    def __init__(self, table: faust.Table):
        self.table, self.data = table, table.data
        self.pending: list[tuple[bytes, bytes]] = []
        self._nonce = secrets.token_hex(4).encode()
        self._count = 0

    def get(self, key: bytes, default: Any = None) -> bytes | None:
        return self.data.get(key, default)

    def items(self) -> Iterable[tuple[bytes, bytes]]:
        return self.data.items()

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.data[key] = value
        self.pending.append((key, value))

    def send(self, partition: int):
        """The changelog future of this message's writes (None when it wrote nothing)."""
        if not self.pending:
            return None
        self._count += 1
        key = BATCH_PREFIX + self._nonce + b"/%d" % self._count
        value, self.pending = pack(self.pending), []
        return self.table.send_changelog(partition, key, value)
