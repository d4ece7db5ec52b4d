"""A run's topics across calls. `RUN_DIR/.kafka-run.json` names the prefix (and partition count)
of the topics a run adjudicates on, so the next call (after a crash, an interrupt, or the run
clock's previous epoch) continues on them: its workers resume from the group's committed offsets
and the table's changelog, the sink from its resume point (`sink.ResumePoint`), and the producer
publishes only the items past what each inbound partition already holds, read off the
partition's last message (`published`). Nothing is published twice and nothing is skipped.

Choices where DESIGN.md is silent: a call with another partition count starts afresh on new
topics (the old ones are deleted), and so does one whose topic's last item is not the run's
stream's item at that place (the run's input was made again); each says so in a warning.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from claimsim.events.files import whole_or_absent

READ_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RunState:
    """The topics a run directory adjudicates on, kept beside its ledger between calls."""

    prefix: str
    partitions: int

    FILE = ".kafka-run.json"

    @classmethod
    def load(cls, run_dir: Path | str) -> RunState | None:
        try:
            saved = orjson.loads((Path(run_dir) / cls.FILE).read_bytes())
            return cls(str(saved["prefix"]), int(saved["partitions"]))
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None

    def save(self, run_dir: Path | str) -> None:
        with whole_or_absent(Path(run_dir) / self.FILE) as part:
            part.write_bytes(orjson.dumps({"prefix": self.prefix, "partitions": self.partitions}))

    @classmethod
    def remove(cls, run_dir: Path | str) -> None:
        (Path(run_dir) / cls.FILE).unlink(missing_ok=True)


@dataclass(frozen=True)
class Published:
    """What an inbound topic holds: items per partition, and each partition's last item."""

    counts: dict[int, int]
    last: dict[int, Any]

    @property
    def empty(self) -> bool:
        return not any(self.counts.values())


async def published(bootstrap: str, topic: str, partitions: int) -> Published | None:
    """Read each partition's last message (`{"items": [...], "pos": N}`: it ends the partition's
    stream at N + len(items)). None when a message carries no position (it cannot be resumed)."""
    from claimsim.adjudication.runtimes.streaming.security import client_options

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest", **client_options())
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        counts, last = {}, {}
        for tp in tps:
            if ends[tp] == 0:
                counts[tp.partition] = 0
                continue
            consumer.seek(tp, ends[tp] - 1)
            record = await asyncio.wait_for(consumer.getone(tp), READ_TIMEOUT_S)
            message = orjson.loads(record.value)
            if not isinstance(message, dict) or not isinstance(message.get("pos"), int):
                return None
            items = message.get("items") or []
            counts[tp.partition] = message["pos"] + len(items)
            if items:
                last[tp.partition] = items[-1]
        return Published(counts, last)
    finally:
        await consumer.stop()
