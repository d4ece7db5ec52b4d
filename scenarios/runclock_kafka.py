"""The run clock with the Kafka runtime adjudicating between boundaries (`claimsim run SCENARIO
--runtime kafka`). Each epoch: the streaming runtime adjudicates every input received before the
boundary (faust workers on the run's own topics, the ledger written by its sink, with the epoch
facts already in the ledger broadcast to every partition); then the clock takes the ledger's
single-writer lock and closes the epoch with the embedded clock's own `close_epoch`, from the
same projections. The ledger is byte-identical to the embedded runtime's.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from tqdm import tqdm

from claimsim.events.errors import UserError
from claimsim.events.projection import ProjectionRunner

from claimsim.adjudication.projections.epochs import CHECKPOINT, ClockSettings
from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator
from claimsim.adjudication.projections.snapshots import all_snapshots
from claimsim.adjudication.projections.follower import LedgerFollower
from claimsim.adjudication.projections.state import PayerState

from claimsim.scenarios.runclock import ClockResult, close_epoch, start_plan


@dataclass(frozen=True)
class KafkaOptions:
    bootstrap: str | None = None  # None: KAFKA_BOOTSTRAP_SERVERS
    partitions: int = 1
    workers: int = 1


def pay_on_kafka(run_dir: Path | str, *, settings: ClockSettings | None = None,
                 months: int | None = None, kafka: KafkaOptions | None = None,
                 progress: bool = False) -> ClockResult:
    """`runclock.pay` with the streaming runtime adjudicating each epoch's claims."""
    from aiokafka.errors import KafkaConnectionError

    from claimsim.adjudication.runtimes.streaming.runner import adjudicate_kafka
    from claimsim.adjudication.runtimes.streaming.topics import bootstrap_from_env

    run_dir = Path(run_dir)
    kafka = kafka or KafkaOptions()
    settings = settings or ClockSettings()
    plan = start_plan(run_dir, settings, months)
    # Opening the embedded runtime on an empty ledger writes the run manifest the sink expects.
    with EmbeddedAdjudicator(run_dir) as adj:
        state = PayerState(adj.reference, settings.projections)
    follower = LedgerFollower(run_dir, state)
    runner = ProjectionRunner(run_dir / "ledger", follower)

    def adjudicate(until: str | None) -> None:
        try:
            adjudicate_kafka(run_dir, bootstrap=kafka.bootstrap, partitions=kafka.partitions,
                             workers=kafka.workers, until_at=until)
        except KafkaConnectionError as e:
            raise UserError(
                f"--runtime kafka: no Kafka broker at {bootstrap_from_env(kafka.bootstrap)} ({e});"
                " start one with `eval \"$(scripts/kafka/start.sh)\"` or set"
                " KAFKA_BOOTSTRAP_SERVERS") from None

    def with_ledger(step: Callable[[EmbeddedAdjudicator, Callable[[list], None]], None]) -> int:
        """Take the ledger (opening it checks every answer the sink wrote), fold what is new,
        and let `step` record; returns the ledger's length."""
        with EmbeddedAdjudicator(run_dir) as adj:
            runner.run()

            def record(events: list[dict[str, Any]]) -> None:
                for env in adj.record(events):
                    follower.apply(env)
                    runner.last_seq, runner.last_hash = env["seq"], env["hash"]

            step(adj, record)
            return adj.writer.next_seq

    bar = tqdm(total=len(plan.boundaries), unit="epoch", file=sys.stderr, disable=not progress)
    for epoch, boundary in enumerate(plan.boundaries, start=1):
        adjudicate(boundary)
        with_ledger(lambda adj, record, e=epoch, b=boundary: close_epoch(
            run_dir, state, plan, e, b, adj.next_input - 1, record))
        bar.update(1)
    adjudicate(None)  # anything received on or after the horizon (none normally)
    length = with_ledger(lambda adj, record: record(all_snapshots(state, cause=adj.next_input - 1)))
    runner.checkpoint = run_dir / CHECKPOINT
    runner.save_checkpoint()
    bar.close()
    return ClockResult(run_dir, plan, state, length)
