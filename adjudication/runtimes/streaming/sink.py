"""The ledger sink of the streaming runtime: the single writer of `RUN_DIR/ledger/`.

Workers publish answers as they finish them, partition by partition; the sink puts them back in
`cause` (input seq) order through a reorder buffer, writes each cause once (anything at or below
the last cause written is a redelivery and is dropped), and starts a new ledger with the same run
manifest (`runtimes.manifest`) as the embedded runtime, so the two ledgers are byte-identical. Restarted after a
crash, it resumes from the ledger's last answered cause, reading the ledger topic from the position
it committed after its last ledger write (`ResumePoint`), not from the topic's start.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from claimsim.events.files import whole_or_absent

from claimsim.adjudication.engine.context import Settings
from claimsim.adjudication.engine.core import ANSWER_TYPES
from claimsim.adjudication.runtimes.manifest import open_manifest
from claimsim.events.errors import UserError
from claimsim.events.log import Fsync, LogWriter, last_envelope, read
from claimsim.events.processes import run_async
from claimsim.events.reference import ReferenceData

from claimsim.events.encoding import open_body

from claimsim.adjudication.runtimes.streaming.wire import ledger_entries


def last_answered(ledger_dir: Path) -> int:
    """The last input seq the ledger answers (-1: none). Answers are in cause order, so this is
    the last answer in the ledger; the tail is enough unless epoch facts were written after it."""
    last = last_envelope(ledger_dir)
    if last is None:
        return -1
    if last["type"] in ANSWER_TYPES:
        return last["cause"]
    answered = -1
    for env in read(ledger_dir):
        if env["type"] in ANSWER_TYPES:
            answered = env["cause"]
    return answered


class LedgerSink:
    """Reorder buffer + the ledger's one writer (held for the sink's lifetime)."""

    def __init__(self, run_dir: Path | str, *, settings: Settings | None = None,
                 fsync: Fsync | str = Fsync.BATCH):
        self.run_dir = Path(run_dir)
        if not (self.run_dir / "input").is_dir():
            raise UserError(f"{self.run_dir / 'input'}: the run has no input log")
        try:
            self.reference = ReferenceData.load(self.run_dir)
        except FileNotFoundError as e:
            raise UserError(str(e)) from None
        self.writer = LogWriter(self.run_dir / "ledger", fsync=fsync)
        try:
            self.settings = open_manifest(self.run_dir, self.writer, self.reference, settings,
                                          check_key=False)
            self.last_cause = last_answered(self.writer.directory)
        except BaseException:
            self.writer.close()
            raise
        self.buffer: dict[int, bytes] = {}  # cause -> the event's `open_body` bytes
        self.written = 0
        self.dropped = 0

    def offer(self, events: list[dict[str, Any]]) -> int:
        """Take answers in any order; write every run of consecutive causes now complete.
        Returns how many were written."""
        return self.offer_encoded([(event["cause"], open_body(event)) for event in events])

    def offer_encoded(self, entries: list[tuple[int, bytes]]) -> int:
        """`offer` for answers already encoded: (cause, `encoding.open_body(event)`) pairs, as
        `wire.ledger_entries` takes them off a ledger message. The ledger gets the same bytes
        (`LogWriter.write_encoded`)."""
        last, buffer = self.last_cause, self.buffer
        for cause, body in entries:
            if cause <= last or cause in buffer:
                self.dropped += 1  # a redelivery: the ledger (or the buffer) has it already
            else:
                buffer[cause] = body
        ready = []
        while last + 1 in buffer:
            last += 1
            ready.append(buffer.pop(last))
        if ready:
            self.writer.write_encoded(ready)
            self.writer.commit()  # durable before the resume point can name what follows it
            self.last_cause = last
            self.written += len(ready)
        return len(ready)

    def close(self) -> None:
        self.writer.close()

    def __enter__(self) -> LedgerSink:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class ResumePoint:
    """Where a restarted sink must start reading each ledger partition: at the first record that
    holds an answer the ledger does not have yet (still in the reorder buffer), else after the
    last record read. Saved beside the ledger (`RUN_DIR/.kafka-sink.json`, with the topic and
    the ledger's last cause then) only after the ledger write it follows, so a sink restarted
    after a crash re-reads the few records its buffer lost instead of the whole topic (every
    record before holds only answers at or below that last cause, which it would drop). A
    ledger behind the saved last cause (another run directory, a fresh ledger) reads from the
    start."""

    SAVE_EVERY_S = 1.0
    FILE = ".kafka-sink.json"

    def __init__(self, run_dir: Path, topic: str):
        self.path, self.topic = Path(run_dir) / self.FILE, topic
        self._records: dict[int, deque[tuple[int, int]]] = {}  # partition -> (offset, last cause)
        self._next: dict[int, int] = {}  # partition -> offset after the last record read
        self._saved: dict[int, int] = {}
        self._at = float("-inf")

    def read(self, partition: int, offset: int, events: list[dict[str, Any]]) -> None:
        self.read_causes(partition, offset, max((e["cause"] for e in events), default=None))

    def read_causes(self, partition: int, offset: int, last: int | None) -> None:
        """A record read at `offset`, whose answers' highest cause is `last` (None: none)."""
        if last is not None:
            records = self._records.setdefault(partition, deque())
            records.append((offset, last))
        self._next[partition] = offset + 1

    def positions(self, last_cause: int) -> dict[int, int]:
        out = dict(self._saved)
        for partition, after in self._next.items():
            records = self._records.get(partition)
            while records and records[0][1] <= last_cause:
                records.popleft()
            out[partition] = records[0][0] if records else after
        return out

    def save(self, last_cause: int, *, now: float, force: bool = False) -> None:
        if not force and now - self._at < self.SAVE_EVERY_S:
            return
        self._at = now
        positions = self.positions(last_cause)
        if positions == self._saved:
            return
        with whole_or_absent(self.path) as part:
            part.write_bytes(orjson.dumps({"topic": self.topic, "last_cause": last_cause,
                                           "positions": {str(p): o for p, o in positions.items()}}))
        self._saved = positions

    def start(self, last_cause: int) -> dict[int, int]:
        """Saved positions to seek to (empty: read from the start)."""
        try:
            saved = orjson.loads(self.path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return {}
        if saved.get("topic") != self.topic or saved.get("last_cause", 1 << 62) > last_cause:
            return {}
        self._saved = {int(p): o for p, o in saved["positions"].items()}
        return dict(self._saved)

    async def seek(self, consumer: AIOKafkaConsumer, partitions: int, last_cause: int) -> None:
        saved = self.start(last_cause)
        for p in range(partitions):
            tp = TopicPartition(self.topic, p)
            if p in saved:
                consumer.seek(tp, saved[p])
            else:
                await consumer.seek_to_beginning(tp)


def ledger_consumer(bootstrap: str) -> AIOKafkaConsumer:
    """The sink's consumer: partitions assigned by hand, positions kept by `ResumePoint`."""
    from claimsim.adjudication.runtimes.streaming.security import client_options

    return AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **client_options(),
                            auto_offset_reset="earliest", fetch_max_bytes=16 << 20,
                            max_partition_fetch_bytes=8 << 20)


async def drain(sink: LedgerSink, bootstrap: str, topic: str, partitions: int, last_seq: int, *,
                progress=None, idle_check=None, dead_letters: str | None = None,
                on_dead_letter=None, poll_ms: int = 200) -> None:
    """Consume the ledger topic (it holds only this run's answers) from the sink's committed
    position (`ResumePoint`; the start the first time) until the ledger answers `last_seq`.
    `idle_check()` is called between polls; it may raise to give up (the runner raises when
    every worker has died). With `dead_letters` (the run's dead-letter topic, read from its
    start), each dead letter is passed to `on_dead_letter(record)`: one that held an input would
    leave its cause unanswered, and a user waiting on the progress bar should hear why."""
    if sink.last_cause >= last_seq:
        return
    import time

    consumer = ledger_consumer(bootstrap)
    await consumer.start()
    resume = ResumePoint(sink.run_dir, topic)
    try:
        assigned = [TopicPartition(topic, p) for p in range(partitions)]
        if dead_letters is not None:
            assigned.append(TopicPartition(dead_letters, 0))
        consumer.assign(assigned)
        await resume.seek(consumer, partitions, sink.last_cause)
        if dead_letters is not None:
            await consumer.seek_to_beginning(TopicPartition(dead_letters, 0))
        while sink.last_cause < last_seq:
            batches = await consumer.getmany(timeout_ms=poll_ms, max_records=2000)
            for tp, records in batches.items():
                if tp.topic != topic:
                    for record in records:
                        if on_dead_letter is not None:
                            on_dead_letter(orjson.loads(record.value))
                    continue
                for record in records:
                    entries = ledger_entries(record.value, record.headers)
                    resume.read_causes(tp.partition, record.offset,
                                       max((c for c, _ in entries), default=None))
                    n = sink.offer_encoded(entries)
                    if progress is not None and n:
                        progress.update(n)
            resume.save(sink.last_cause, now=time.monotonic())
            if idle_check is not None:
                idle_check()
        resume.save(sink.last_cause, now=time.monotonic(), force=True)
    finally:
        await consumer.stop()


def main(argv: list[str] | None = None) -> int:
    """`python -m claimsim.adjudication.runtimes.streaming.sink RUN_DIR PREFIX PARTITIONS LAST_SEQ
    [BOOTSTRAP]`: run the sink alone (restartable; the kill tests run it as its own process)."""
    import sys

    from claimsim.adjudication.runtimes.streaming.topics import RunTopics, bootstrap_from_env

    args = sys.argv[1:] if argv is None else argv
    run_dir, prefix, partitions, last_seq = Path(args[0]), args[1], int(args[2]), int(args[3])
    bootstrap = bootstrap_from_env(args[4] if len(args) > 4 else None)
    with LedgerSink(run_dir) as sink:
        run_async(drain(sink, bootstrap, RunTopics(prefix).ledger, partitions, last_seq))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
