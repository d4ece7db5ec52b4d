"""The Kafka runtime behind the `Runtime` seam: each `adjudicate` publishes the pending input
(with the epoch facts already in the ledger, broadcast to every partition) to the run's own
topics, runs faust workers, and sinks their answers into the ledger (`runner.adjudicate_kafka`).
The topics last from one epoch's adjudication to the next (each publishes only what is new, and
its workers resume from the committed offsets and the table's changelog) and are deleted when
the runtime closes at the end of the run.
Between adjudications the ledger's single-writer lock is held by an embedded runtime, opened once
per epoch: opening replays the ledger and checks every answer the sink wrote, then `record`
appends the run clock's epoch facts through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claimsim.events.errors import UserError
from claimsim.events.reference import ReferenceData
from claimsim.events.signing import Signer

from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator
from claimsim.adjudication.runtimes.protocol import Bar, Progress, Until


@dataclass(frozen=True)
class KafkaOptions:
    bootstrap: str | None = None  # None: KAFKA_BOOTSTRAP_SERVERS
    partitions: int = 1
    workers: int = 1


class KafkaRuntime:
    """A `Runtime` whose adjudication runs on Kafka; opening writes (or checks) the manifest."""

    def __init__(self, run_dir: Path | str, options: KafkaOptions | None = None, *,
                 signer: Signer | None = None):
        self.run_dir = Path(run_dir)
        self.options = options or KafkaOptions()
        self.signer = signer
        self._ledger: EmbeddedAdjudicator | None = EmbeddedAdjudicator(self.run_dir, signer=signer)
        self.reference: ReferenceData = self._ledger.reference
        self._answered = self._ledger.next_input

    def adjudicate(self, until: Until = Until(), *, progress: bool | Bar = False) -> int:
        """`Runtime.adjudicate` on the broker. A caller's bar advances once, by the inputs the
        call answered, when it ends (the publish and drain bars are the runtime's own)."""
        from aiokafka.errors import KafkaConnectionError

        from claimsim.adjudication.runtimes.streaming.runner import adjudicate_kafka
        from claimsim.adjudication.runtimes.streaming.topics import bootstrap_from_env

        self._release()  # the sink takes the ledger's lock
        kafka = self.options
        try:
            run = adjudicate_kafka(self.run_dir, bootstrap=kafka.bootstrap,
                                   partitions=kafka.partitions, workers=kafka.workers,
                                   until_at=until.at, until_seq=until.seq,
                                   progress=progress is True,
                                   keep_topics=True)
        except KafkaConnectionError as e:
            raise UserError(
                f"--runtime kafka: no Kafka broker at {bootstrap_from_env(kafka.bootstrap)} ({e});"
                " start one with `eval \"$(scripts/kafka/start.sh)\"` or set"
                " KAFKA_BOOTSTRAP_SERVERS") from None
        answered, self._answered = self._answered, max(run.first_seq, run.last_seq + 1)
        if not isinstance(progress, bool):
            progress.update(self._answered - answered)
        return run.stats.inputs

    def progress(self) -> Progress:
        return self._hold().progress()

    def record(self, ledger_events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self._hold().record(ledger_events)

    def sign_head(self) -> None:
        self._hold().sign_head()

    def rest(self) -> None:
        if self._ledger is not None:  # the writer's replayed family states (the workers hold theirs)
            self._ledger.rest()

    def _hold(self) -> EmbeddedAdjudicator:
        """The ledger's writer, opened (and every answer checked) once after each adjudication."""
        if self._ledger is None:
            self._ledger = EmbeddedAdjudicator(self.run_dir, signer=self.signer)
            if self._ledger.next_input != self._answered:
                raise UserError(f"{self.run_dir / 'ledger'}: answers inputs to"
                                f" {self._ledger.next_input - 1}, expected {self._answered - 1}")
        return self._ledger

    def _release(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None

    def close(self, *, finished: bool = True) -> None:
        """Release the ledger; a `finished` run's topics are deleted too (one that stopped on an
        error keeps them, so running it again resumes on them)."""
        self._release()
        if finished:
            from claimsim.adjudication.runtimes.streaming.runner import discard_topics

            discard_topics(self.run_dir, self.options.bootstrap)

    def __enter__(self) -> KafkaRuntime:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        self.close(finished=exc_type is None)
