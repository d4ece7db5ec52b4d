"""`claimsim adjudicate RUN_DIR --runtime kafka`: create the run's topics (or reuse the ones a
previous call left, `resume`), publish its input past what they hold, run (or attach to) faust
workers, and sink their answers into the ledger until it answers the last input; then stop the
workers it started and delete the run's topics. A call that fails or is interrupted keeps them,
so the next call resumes on them; the run clock keeps them between epochs (`keep_topics`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from claimsim.adjudication.engine.context import Settings
from claimsim.adjudication.runtimes.stats import RunStats
from claimsim.events.errors import UserError
from claimsim.events.log import read
from claimsim.events.processes import run_async

from claimsim.adjudication.runtimes.streaming.cli import PARENT_ENV
from claimsim.adjudication.runtimes.streaming.producer import (
    DEFAULT_BATCH, InboundBatcher, StreamMismatch, last_input_seq, plan_stream, publish,
)
from claimsim.adjudication.runtimes.streaming.resume import RunState, published
from claimsim.adjudication.runtimes.streaming.sink import LedgerSink, ResumePoint, drain
from claimsim.adjudication.runtimes.streaming.topics import (
    BrokerUnreachable, RunTopics, bootstrap_from_env, create_topics, delete_topics, new_prefix,
)

log = logging.getLogger(__name__)


@dataclass
class KafkaRun:
    """What one streaming run did."""

    prefix: str
    first_seq: int  # first input answered by this run
    last_seq: int  # last input of the stream (-1: none)
    stats: RunStats = field(default_factory=RunStats)
    dropped: int = 0  # redelivered or already-answered answers the sink dropped
    dead_letters: int = 0  # messages the workers could not read (each logged as a warning)
    worker_logs: list[Path] = field(default_factory=list)


WORKER_LOGS = ".kafka-workers"  # RUN_DIR's folder for the logs of the workers a call starts


def spawn_worker(run_dir: Path, bootstrap: str, prefix: str, partitions: int, index: int = 0,
                 commit_interval: float = 1.0, log_dir: Path | None = None,
                 extra_args: tuple[str, ...] = ()) -> tuple[subprocess.Popen, Path]:
    """Start `claimsim worker` as a child process (own session, its stderr in a log file in
    `log_dir`, default `RUN_DIR/.kafka-workers/`, so a run's logs stay with the run (a test's in
    its own temporary directory); every log record in the same name `.detail.log`).
    `extra_args` go to the worker's command line (`--store memory`, `--cache-families N`)."""
    log_dir = Path(log_dir) if log_dir is not None else Path(run_dir) / WORKER_LOGS
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"claimsim-worker-{prefix}-{index}.log"
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "claimsim", "worker", str(run_dir), "--bootstrap", bootstrap,
             "--prefix", prefix, "--partitions", str(partitions),
             "--commit-interval", str(commit_interval),
             "--log-file", str(log_path.with_suffix(".detail.log")),
             "--loglevel", os.environ.get("CLAIMSIM_WORKER_LOGLEVEL", "warning"), *extra_args],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            env={**os.environ, PARENT_ENV: str(os.getpid())},  # it ends when this process does
        )
    return proc, log_path


def restart_gapped_workers(procs: list[subprocess.Popen], spawn, restarted: list[int],
                           limit: int = 20) -> None:
    """Replace each worker that stopped on a gap in its input (EXIT_GAP) with a new one, which
    resumes from the committed offset; `restarted` holds the count so far (at most `limit`)."""
    from claimsim.adjudication.runtimes.streaming.app import EXIT_GAP

    for i, proc in enumerate(procs):
        if proc.poll() == EXIT_GAP and restarted[0] < limit:
            log.warning("worker %d stopped on a gap in its input; starting a new one", proc.pid)
            procs[i] = spawn(i)
            restarted[0] += 1


class DeadWorkers:
    """Each worker process this call started that has died (killed, crashed, stopped on a gap)
    is removed from the run's consumer group as soon as the runner sees it gone
    (`members.evict_dead`, in the background), so its partitions move to the others at once
    rather than after its session (a dead process cannot leave the group itself)."""

    def __init__(self, bootstrap: str, topics: RunTopics | None):
        self.bootstrap, self.topics = bootstrap, topics
        self.seen: set[int] = set()
        self.tasks: list[asyncio.Task] = []

    def evict(self, procs: list[subprocess.Popen]) -> None:
        from claimsim.adjudication.runtimes.streaming.members import evict_dead

        gone = [p.pid for p in procs if p.pid not in self.seen and p.poll() is not None]
        if gone and self.topics is not None:
            self.seen.update(gone)
            self.tasks.append(asyncio.get_running_loop().create_task(
                evict_dead(self.bootstrap, self.topics, gone)))

    async def settle(self) -> None:
        await asyncio.gather(*self.tasks)


class StallWatch:
    """For a run attached to workers started elsewhere (which it cannot restart): one warning
    each time no answer has arrived for `after_s` seconds, naming the command that starts one."""

    def __init__(self, sink, prefix: str, run_dir: Path, after_s: float = 60.0):
        import time

        self.sink, self.prefix, self.run_dir, self.after_s = sink, prefix, run_dir, after_s
        self.clock = time.monotonic
        self.last_cause, self.since = sink.last_cause, self.clock()

    def check(self) -> bool:
        """True (and a warning) when the ledger has not moved for `after_s` since the last one."""
        now = self.clock()
        if self.sink.last_cause != self.last_cause:
            self.last_cause, self.since = self.sink.last_cause, now
            return False
        if now - self.since < self.after_s:
            return False
        log.warning("no answer for %.0f s (last answered input %d): is a worker running?"
                    " start one with: claimsim worker %s --prefix %s", now - self.since,
                    self.last_cause, self.run_dir, self.prefix)
        self.since = now
        return True


def stop_worker(proc: subprocess.Popen, timeout: float = 15) -> None:
    """Stop a worker (SIGTERM, then SIGKILL after `timeout`), then remove the faust data
    directories of every worker that is gone (one killed with -9 could not remove its own)."""
    from claimsim.adjudication.runtimes.streaming import datadir

    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    datadir.sweep()


def last_log_line(path: Path) -> str:
    """The log's last non-blank line (the CLI prints errors on one line)."""
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "(no log)"
    return lines[-1] if lines else "(empty log)"


def adjudicate_kafka(
    run_dir: Path | str,
    *,
    bootstrap: str | None = None,
    partitions: int = 4,
    workers: int = 1,
    settings: Settings | None = None,
    until_at: dt.date | str | None = None,
    until_seq: int | None = None,
    batch: int = DEFAULT_BATCH,
    progress: bool = False,
    prefix: str | None = None,
    keep_topics: bool = False,
) -> KafkaRun:
    """Adjudicate the run's pending input on Kafka. `workers` 0 attaches to workers started
    elsewhere (`claimsim worker RUN_DIR --prefix P`; pass the same `prefix`). Without a
    `prefix` the run's own topics are used (`resume.RunState`): deleted once the call has
    answered everything unless `keep_topics` (then `discard_topics` deletes them), kept when it
    fails, so the next call resumes on them."""
    run_dir = Path(run_dir)
    if partitions < 1:
        raise UserError("--partitions must be at least 1")
    if workers < 0:
        raise UserError("--workers must be 0 (attach) or more")
    bootstrap = bootstrap_from_env(bootstrap)
    with LedgerSink(run_dir, settings=settings) as sink:
        first = sink.last_cause + 1
        last = last_input_seq(run_dir, until_at=until_at, until_seq=until_seq)
        result = KafkaRun(prefix or "", first, last)
        if last < first:
            return result  # nothing pending
        ledger_from = sink.writer.next_seq
        run_async(_run(run_dir, sink, prefix, bootstrap, partitions, workers, until_at,
                       until_seq, batch, progress, keep_topics, result))
        result.dropped = sink.dropped
    for env in read(run_dir / "ledger", ledger_from):
        if env["cause"] is not None and first <= env["cause"] <= last:
            result.stats.count(env)
    return result


async def _open_topics(run_dir: Path, bootstrap: str, prefix: str | None,
                       partitions: int) -> RunTopics:
    """The run's topics, created if missing: `prefix`'s (attached workers name them), else the
    ones `RUN_DIR/.kafka-run.json` names when they have `partitions` partitions (a resumed run),
    else new ones, which the file then names."""
    if prefix:
        topics = RunTopics(prefix)
    else:
        state = RunState.load(run_dir)
        if state is not None and state.partitions != partitions:
            log.warning("the run's topics %s-* have %d partition(s), not %d: starting afresh on"
                        " new topics", state.prefix, state.partitions, partitions)
            await delete_topics(bootstrap, RunTopics(state.prefix))
            (run_dir / ResumePoint.FILE).unlink(missing_ok=True)
            state = None
        topics = RunTopics(state.prefix if state is not None else new_prefix())
        RunState(topics.prefix, partitions).save(run_dir)
    try:
        await create_topics(bootstrap, topics, partitions)
    except BrokerUnreachable as e:
        raise UserError(f"--runtime kafka: {e}") from None
    return topics


async def _publish(run_dir: Path, bootstrap: str, topics: RunTopics, partitions: int, batch: int,
                   stream, bar, *, attached: bool = False) -> RunTopics:
    """Publish the run's stream past what its inbound topic already holds; on a topic that holds
    another stream, start afresh on new topics (attached workers' topics are the user's: an
    error). Returns the topics published to."""
    held = await published(bootstrap, topics.inbound, partitions)
    if held is not None:
        if not held.empty:
            log.info("the run's inbound topic holds %s items per partition: publishing the rest",
                     held.counts)
        batcher = InboundBatcher(partitions, batch, published=held.counts,
                                 last_published=held.last)
        try:
            await publish(bootstrap, topics.inbound, stream(), partitions, batch, progress=bar,
                          batcher=batcher)
            return topics
        except StreamMismatch as e:
            if attached:
                raise UserError(f"topics {topics.prefix}-* hold another run's input ({e})") from None
            log.warning("the run's topics %s-* hold another input (%s): starting afresh on new"
                        " topics", topics.prefix, e)
    if held is None and attached:
        raise UserError(f"topic {topics.inbound} holds messages without a stream position")
    await delete_topics(bootstrap, topics)
    (run_dir / ResumePoint.FILE).unlink(missing_ok=True)
    topics = await _open_topics(run_dir, bootstrap, new_prefix(), partitions)
    RunState(topics.prefix, partitions).save(run_dir)
    bar.reset()
    await publish(bootstrap, topics.inbound, stream(), partitions, batch, progress=bar)
    return topics


def discard_topics(run_dir: Path | str, bootstrap: str | None = None) -> list[str]:
    """Delete the topics `RUN_DIR/.kafka-run.json` names and forget them (a finished run)."""
    run_dir = Path(run_dir)
    state = RunState.load(run_dir)
    if state is None:
        return []
    names = run_async(delete_topics(bootstrap_from_env(bootstrap), RunTopics(state.prefix)))
    (run_dir / ResumePoint.FILE).unlink(missing_ok=True)
    RunState.remove(run_dir)
    return names


async def _run(run_dir, sink, prefix, bootstrap, partitions, workers, until_at, until_seq,
               batch, progress, keep_topics, result: KafkaRun) -> None:
    procs: list[subprocess.Popen] = []
    restarted = [0]
    completed = False  # worker logs are kept when a run fails
    topics = None
    dead = DeadWorkers(bootstrap, None)
    try:
        topics = await _open_topics(run_dir, bootstrap, prefix, partitions)
        with tqdm(total=result.last_seq + 1, unit="input", desc="publish", file=sys.stderr,
                  disable=not progress, mininterval=0.5) as bar:
            topics = await _publish(run_dir, bootstrap, topics, partitions, batch, lambda: plan_stream(
                run_dir, until_at=until_at, until_seq=until_seq), bar, attached=bool(prefix))
        result.prefix = topics.prefix
        for i in range(workers):
            proc, log_path = spawn_worker(run_dir, bootstrap, topics.prefix, partitions, i)
            procs.append(proc)
            result.worker_logs.append(log_path)

        stalled = StallWatch(sink, topics.prefix, run_dir) if not procs else None
        dead = DeadWorkers(bootstrap, topics)

        def check_workers() -> None:
            if stalled is not None:
                stalled.check()  # attached workers are the user's: say when none answers
            dead.evict(procs)
            restart_gapped_workers(procs, lambda i: spawn_worker(
                run_dir, bootstrap, topics.prefix, partitions, i)[0], restarted)
            if procs and all(p.poll() is not None for p in procs):
                raise UserError(f"every worker stopped before the ledger was complete (last"
                                f" answered input {sink.last_cause} of {result.last_seq});"
                                f" {result.worker_logs[0]} ends:"
                                f" {last_log_line(result.worker_logs[0])}")

        with tqdm(total=result.last_seq - sink.last_cause, unit="input", desc="adjudicate",
                  file=sys.stderr, disable=not progress, mininterval=0.5) as bar:
            def dead_letter(record: dict) -> None:
                result.dead_letters += 1
                log.warning("dead letter from %s[%s]@%s: %s", record.get("topic"),
                            record.get("partition"), record.get("offset"), record.get("reason"))

            await drain(sink, bootstrap, topics.ledger, partitions, result.last_seq, progress=bar,
                        idle_check=check_workers, dead_letters=topics.dead_letter,
                        on_dead_letter=dead_letter)
        completed = True
    finally:
        for proc in procs:
            stop_worker(proc)
        await dead.settle()
        if topics is not None and completed and not keep_topics:
            await delete_topics(bootstrap, topics)
            (run_dir / ResumePoint.FILE).unlink(missing_ok=True)  # it named those topics
            if not prefix:
                RunState.remove(run_dir)
        elif topics is not None and not completed and not prefix:
            log.warning("the run's topics (%s-*) are kept: the next call on %s resumes on them",
                        topics.prefix, run_dir)
        if completed and os.environ.get("CLAIMSIM_KEEP_WORKER_LOGS") != "1":
            remove_worker_logs(result.worker_logs)


def remove_worker_logs(paths: list[Path]) -> None:
    """Delete the logs of workers that have stopped (and their folder, once empty)."""
    for path in paths:
        path.unlink(missing_ok=True)
        path.with_suffix(".detail.log").unlink(missing_ok=True)
    for folder in {path.parent for path in paths}:
        if folder.name == WORKER_LOGS:
            try:
                folder.rmdir()
            except OSError:
                pass  # another call's logs are still there


def cmd_adjudicate_kafka(args, settings: Settings | None, until: dt.date | None) -> int:
    """`claimsim adjudicate RUN_DIR --runtime kafka`: the same summary line as the embedded runtime."""
    from claimsim.events.money import dollars

    from claimsim.adjudication.runtimes.streaming.topics import bootstrap_from_env

    if args.partitions < 1:
        raise UserError("--partitions must be at least 1")
    if args.workers < 0:
        raise UserError("--workers must be 0 (attach) or more")
    if args.workers == 0 and not args.prefix:
        raise UserError("--workers 0 attaches to workers you start yourself: give them and this"
                        " command the same --prefix")
    args.bootstrap = bootstrap_from_env(args.bootstrap)  # before any work: none set is an error
    print(f"Kafka broker: {args.bootstrap}", file=sys.stderr)
    if args.workers == 0:
        print(f"waiting for workers: claimsim worker {args.run_dir} --prefix {args.prefix}",
              file=sys.stderr)
    # Attached workers are the user's: deleting topics under running workers would only see
    # them recreated (auto-create), so those topics stay until the user stops the workers.
    r = adjudicate_kafka(args.run_dir, bootstrap=args.bootstrap, partitions=args.partitions,
                         workers=args.workers, settings=settings, until_at=until,
                         progress=not args.no_progress and sys.stderr.isatty(), prefix=args.prefix,
                         keep_topics=args.workers == 0)
    if r.last_seq < r.first_seq:  # nothing was pending: say why, not "seq 9069..9068", no topics
        why = (f"the next, seq {r.first_seq:,}, is dated on or after {until}" if until
               else f"the ledger answers every input (seq 0..{r.first_seq - 1:,})")
        print(f"{args.run_dir}: adjudicated 0 inputs: {why}")
        return 0
    if args.workers == 0:
        print(f"the run's topics ({r.prefix}-*) are kept: stop the workers, then delete them",
              file=sys.stderr)
    s = r.stats
    print(
        f"{args.run_dir}: adjudicated {s.inputs:,} inputs (seq {r.first_seq}..{r.last_seq})"
        f" on Kafka ({args.partitions} partition(s), topics {r.prefix}-*):"
        f" {s.claims_adjudicated:,} claims paid, {s.claims_reversed:,} voided,"
        f" {s.claims_rejected:,} rejected, {s.no_effect:,} no effect;"
        f" plan paid {dollars(s.plan_paid)}"
        + (f"; {r.dead_letters:,} dead letter(s), see the warnings" if r.dead_letters else "")
    )
    return 0
