"""Publishes a run to its inbound topic: every input in input-seq order, each on its subscriber's
partition, with the ledger's epoch facts (attribution, practice status) copied to every partition
at the position the ledger holds them, so each partition sees the facts and its inputs in the
order the embedded runtime does. Consecutive items of a partition travel batched in one message.

The stream always starts at input 0: the family states are rebuilt from all of a family's inputs,
as the embedded runtime's replay does, and the sink drops the answers the ledger already has. A
run's topics outlive a call that stops early (`resume`): the next call's batcher is told how many
items each partition already holds and publishes only the rest, continuing each partition's
stream positions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from claimsim.adjudication.engine.context import CONTEXT_TYPES
from claimsim.adjudication.engine.core import ANSWER_TYPES
from claimsim.events.encoding import canonical
from claimsim.events.input_reader import read_checked
from claimsim.events.log import read

from claimsim.adjudication.runtimes.streaming.wire import encode_items, fact_item, input_item, partition_for

DEFAULT_BATCH = 200  # inputs per message; larger batches measured no faster (bench_streaming)
MAX_MESSAGE_BYTES = 512 * 1024  # well under the broker's default 1 MB message limit


class StreamMismatch(Exception):
    """A resumed stream's topic holds an item the run's stream does not have at that place."""

    def __init__(self, partition: int, position: int):
        super().__init__(f"partition {partition} item {position} differs from the run's stream")
        self.partition, self.position = partition, position


@dataclass(frozen=True)
class StreamItem:
    """One item of the inbound stream: an input (for its partition) or a fact (for all)."""

    kind: str  # "input" | "fact"
    envelope: dict[str, Any]


def ledger_facts(ledger_dir: Path) -> list[tuple[int, dict[str, Any]]]:
    """The ledger's epoch facts, each with its position: the last input seq answered before it
    (-1 before any), so the fact applies to inputs after that seq, as in the embedded replay."""
    facts: list[tuple[int, dict[str, Any]]] = []
    if not Path(ledger_dir).is_dir():
        return facts
    answered = -1
    for env in read(ledger_dir):
        kind = env["type"]
        if kind in ANSWER_TYPES:
            answered = env["cause"]
        elif kind in CONTEXT_TYPES:
            facts.append((answered, env))
    return facts


def plan_stream(run_dir: Path | str, *, until_at: dt.date | str | None = None,
                until_seq: int | None = None) -> Iterator[StreamItem]:
    """Inputs from seq 0 up to (not including) the first one dated on or after `until_at` or at
    `until_seq`, with each fact placed before the first input it applies to."""
    run_dir = Path(run_dir)
    limit_at = until_at.isoformat() if isinstance(until_at, dt.date) else until_at
    facts = ledger_facts(run_dir / "ledger")
    i = 0
    # Checked as the embedded runtime reads it: a line that is not a readable envelope becomes an
    # unreadable input the core rejects (the same answer in both runtimes), a broken chain stops.
    for env in read_checked(run_dir / "input"):
        seq = env["seq"]
        if until_seq is not None and seq >= until_seq:
            break
        if limit_at is not None and env["at"] >= limit_at:
            break
        while i < len(facts) and facts[i][0] < seq:
            yield StreamItem("fact", facts[i][1])
            i += 1
        yield StreamItem("input", env)


def last_input_seq(run_dir: Path | str, *, until_at: dt.date | str | None = None,
                   until_seq: int | None = None) -> int:
    """The seq of the last input the stream carries (-1: none): the run ends when it is answered."""
    last = -1
    for item in plan_stream(run_dir, until_at=until_at, until_seq=until_seq):
        if item.kind == "input":
            last = item.envelope["seq"]
    return last


class InboundBatcher:
    """Groups each partition's consecutive items into messages of up to `batch` items.

    `published`: a resumed stream's partitions already hold this many items each (`resume`
    reads them off the topic); those first items are skipped, and `last_published` (partition ->
    its last item, decoded) is checked against the stream's item at that place, so a topic
    that holds another stream is refused (`StreamMismatch`) rather than continued."""

    def __init__(self, partitions: int, batch: int = DEFAULT_BATCH, *,
                 published: dict[int, int] | None = None,
                 last_published: dict[int, Any] | None = None):
        if partitions < 1 or batch < 1:
            raise ValueError("partitions and batch must be at least 1")
        self.partitions, self.batch = partitions, batch
        self._pending: list[list[bytes]] = [[] for _ in range(partitions)]
        published = published or {}
        self._sent = [published.get(p, 0) for p in range(partitions)]  # items in messages
        self._skip = list(self._sent)  # items of the stream still to pass over, per partition
        self._last = last_published or {}
        self._keys: list[str | None] = [None] * partitions
        self._sizes = [0] * partitions

    def add(self, item: StreamItem) -> Iterator[tuple[int, str | None, bytes]]:
        """Yields (partition, key, value) for each message this item completes."""
        if item.kind == "fact":
            encoded = canonical(fact_item(item.envelope))
            for p in range(self.partitions):
                yield from self._add(p, None, encoded)
        else:
            key = item.envelope["key"]
            if type(key) is not str:  # a hostile log's: the processor answers it, no family's
                yield from self._add(partition_for(canonical(key).decode(), self.partitions),
                                     None, canonical(input_item(item.envelope)))
                return
            yield from self._add(partition_for(key, self.partitions), key,
                                 canonical(input_item(item.envelope)))

    def _add(self, p: int, key: str | None, encoded: bytes) -> Iterator[tuple[int, str | None, bytes]]:
        if self._skip[p]:
            self._skip[p] -= 1
            if not self._skip[p] and p in self._last and orjson.loads(encoded) != self._last[p]:
                raise StreamMismatch(p, self._sent[p] - 1)
            return
        if self._pending[p] and self._sizes[p] + len(encoded) > MAX_MESSAGE_BYTES:
            yield self._take(p)
        if not self._pending[p]:
            self._keys[p] = key
        self._pending[p].append(encoded)
        self._sizes[p] += len(encoded) + 1
        if len(self._pending[p]) >= self.batch:
            yield self._take(p)

    def _take(self, p: int) -> tuple[int, str | None, bytes]:
        parts, key, pos = self._pending[p], self._keys[p], self._sent[p]
        self._pending[p], self._keys[p], self._sizes[p] = [], None, 0
        self._sent[p] += len(parts)
        return p, key, encode_items(parts, pos)

    def skipping(self) -> bool:
        """Whether some partition's published items are still ahead in the stream."""
        return any(self._skip)

    def pending(self) -> bool:
        """Whether some partition holds items not yet in a message."""
        return any(self._pending)

    def flush(self) -> Iterator[tuple[int, str | None, bytes]]:
        for p in range(self.partitions):
            if self._pending[p]:
                yield self._take(p)


async def publish(bootstrap: str, topic: str, items: Iterator[StreamItem], partitions: int,
                  batch: int = DEFAULT_BATCH, progress=None, *,
                  batcher: InboundBatcher | None = None) -> tuple[int, int]:
    """Send the stream to `topic`; returns (inputs, messages). Keys are the (first) subscriber of
    each message; the partition is always explicit, so producer and worker agree on it. A
    `batcher` made with what the topic already holds publishes only the rest."""
    from claimsim.adjudication.runtimes.streaming.security import client_options

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, **client_options(),
                                max_batch_size=1 << 20, max_request_size=4 << 20, acks="all")
    await producer.start()
    batcher = batcher or InboundBatcher(partitions, batch)
    inputs = messages = 0
    try:
        for item in items:
            if item.kind == "input":
                inputs += 1
                if progress is not None:
                    progress.update(1)
            for p, key, value in batcher.add(item):
                await producer.send(topic, value, key=key.encode() if key else None, partition=p)
                messages += 1
        for p, key, value in batcher.flush():
            await producer.send(topic, value, key=key.encode() if key else None, partition=p)
            messages += 1
        await producer.flush()
    finally:
        await producer.stop()
    return inputs, messages
