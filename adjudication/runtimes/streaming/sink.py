"""The ledger sink of the streaming runtime: the single writer of `RUN_DIR/ledger/`.

Workers publish answers as they finish them, partition by partition; the sink puts them back in
`cause` (input seq) order through a reorder buffer, writes each cause once (anything at or below
the last cause written is a redelivery and is dropped), and starts a new ledger with the same run
manifest (`runtimes.manifest`) as the embedded runtime, so the two ledgers are byte-identical. Restarted after a
crash, it resumes from the ledger's last answered cause.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from claimsim.adjudication.engine.context import Settings
from claimsim.adjudication.engine.core import ANSWER_TYPES
from claimsim.adjudication.runtimes.manifest import open_manifest
from claimsim.events.errors import UserError
from claimsim.events.log import Fsync, LogWriter, last_envelope, read
from claimsim.events.reference import ReferenceData

from claimsim.adjudication.runtimes.streaming.wire import decode_ledger


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
        self.buffer: dict[int, dict[str, Any]] = {}
        self.written = 0
        self.dropped = 0

    def offer(self, events: list[dict[str, Any]]) -> int:
        """Take answers in any order; write every run of consecutive causes now complete.
        Returns how many were written."""
        last, buffer = self.last_cause, self.buffer
        for event in events:
            cause = event["cause"]
            if cause <= last or cause in buffer:
                self.dropped += 1  # a redelivery: the ledger (or the buffer) has it already
            else:
                buffer[cause] = event
        ready = []
        while last + 1 in buffer:
            last += 1
            ready.append(buffer.pop(last))
        if ready:
            self.writer.extend(ready)
            self.last_cause = last
            self.written += len(ready)
        return len(ready)

    def close(self) -> None:
        self.writer.close()

    def __enter__(self) -> LedgerSink:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


async def drain(sink: LedgerSink, bootstrap: str, topic: str, partitions: int, last_seq: int, *,
                progress=None, idle_check=None, dead_letters: str | None = None,
                on_dead_letter=None, poll_ms: int = 200) -> None:
    """Consume the ledger topic from its start (it holds only this run's answers) until the
    ledger answers `last_seq`. `idle_check()` is called between polls; it may raise to give up
    (the runner raises when every worker has died). With `dead_letters` (the run's dead-letter
    topic), each dead letter is passed to `on_dead_letter(record)`: one that held an input would
    leave its cause unanswered, and a user waiting on the progress bar should hear why."""
    if sink.last_cause >= last_seq:
        return
    from claimsim.adjudication.runtimes.streaming.security import client_options

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **client_options(),
                                auto_offset_reset="earliest", fetch_max_bytes=16 << 20,
                                max_partition_fetch_bytes=8 << 20)
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for p in range(partitions)]
        if dead_letters is not None:
            assigned.append(TopicPartition(dead_letters, 0))
        consumer.assign(assigned)
        await consumer.seek_to_beginning()
        while sink.last_cause < last_seq:
            batches = await consumer.getmany(timeout_ms=poll_ms, max_records=2000)
            for tp, records in batches.items():
                if tp.topic != topic:
                    for record in records:
                        if on_dead_letter is not None:
                            on_dead_letter(orjson.loads(record.value))
                    continue
                for record in records:
                    n = sink.offer(decode_ledger(record.value))
                    if progress is not None and n:
                        progress.update(n)
            if idle_check is not None:
                idle_check()
    finally:
        await consumer.stop()


def main(argv: list[str] | None = None) -> int:
    """`python -m claimsim.adjudication.runtimes.streaming.sink RUN_DIR PREFIX PARTITIONS LAST_SEQ
    [BOOTSTRAP]`: run the sink alone (restartable; the kill tests run it as its own process)."""
    import asyncio
    import sys

    from claimsim.adjudication.runtimes.streaming.topics import RunTopics, bootstrap_from_env

    args = sys.argv[1:] if argv is None else argv
    run_dir, prefix, partitions, last_seq = Path(args[0]), args[1], int(args[2]), int(args[3])
    bootstrap = bootstrap_from_env(args[4] if len(args) > 4 else None)
    with LedgerSink(run_dir) as sink:
        asyncio.run(drain(sink, bootstrap, RunTopics(prefix).ledger, partitions, last_seq))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
