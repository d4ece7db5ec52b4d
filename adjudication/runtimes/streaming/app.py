"""The faust-streaming worker: one agent (at-least-once, concurrency 1) over the run's inbound
topic that applies the same core as the embedded runtime, with one `family_state` table
(in memory or RocksDB, recovered from its changelog) and reference data loaded from the run
directory. A family's state is split over the table so each input writes only what it changed
(`state.TableProcessor`), and a message's writes reach the changelog as one record
(`changelog.TableWrites`), which also deletes the stored answers of redelivered inputs once their
messages' offsets are committed (`track_committed_offsets`).

Why it stays correct on kill -9 without exactly-once (DESIGN.md "Kafka"): faust flushes the
producer (changelog and ledger messages) before it commits an offset, so the table may run ahead
of the committed offset but never behind it. A redelivered input then finds its seq applied and
re-emits its stored answer; one whose state write was lost with the process (while its answer got
out) is adjudicated again from the older state, to the same answer, since the core is
deterministic. Either way the sink drops what it already wrote. The processor writes a message's
family states before any epoch fact that follows them, and all of a partition's writes go to one
changelog partition in order, so whatever survives is a state the stream really passed through.

Two faust 0.15 faults this module guards against (both seen in the kill tests): its producer
buffer's flush can return with table writes still unsent, so a commit could pass inputs whose
state was then lost (`commits_wait_for_table_writes`); and around a recovery it can drop inbound
messages between the committed offset and what it had already fetched, so every message carries
its position in the partition's stream and the processor refuses one past a gap: the worker
seeks that partition back to its committed offset in its own process (`reseek.Reseeks`), and only
when that fails, or the same gap comes back, leaves its consumer group (so no partition waits
out its session) and starts again in its own process (`exits.leave_group`,
`exits.restart_in_place`).

A partition it leaves assigned but unconsumed after a rebalance (or whose last message it
dropped) is caught by `watchdog.PartitionWatch`: sought back the same way, and the worker starts
again in place if it is still stalled a stall time later; a rebalance of its own that never ends
(nothing assigned or restored for `watchdog.rebalance_limit_s`) starts it again in place too. A
partition with input waiting that no member of the group holds at all (a leader that assigned on
a metadata without the run's topics, just after a broker restart) is caught by
`orphans.OrphanWatch`, on the same timer: the worker asks the group to rebalance, and starts
again in place after three rebalances that left it so.

Two of its shutdown and logging habits are bounded here too: a stop request ends the process
within `STOP_GRACE_S` even with no group coordinator to leave (`BoundedStopWorker`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

import faust

from claimsim.adjudication.engine.context import Settings
from claimsim.events.encoding import canonical
from claimsim.events.errors import UserError
from claimsim.events.processes import run_async
from claimsim.events.reference import ReferenceData

from claimsim.adjudication.runtimes.processor import PartitionProcessor
from claimsim.adjudication.runtimes.manifest import recorded_settings
from claimsim.adjudication.runtimes.streaming import datadir as datadirs
from claimsim.adjudication.runtimes.streaming.changelog import BatchedTable, TableWrites
from claimsim.adjudication.runtimes.streaming.collector import Collector
from claimsim.adjudication.runtimes.streaming.commits import (  # noqa: F401 (tests)
    commits_wait_for_table_writes, track_committed_offsets,
)
from claimsim.adjudication.runtimes.streaming import exits, heap
from claimsim.adjudication.runtimes.streaming.exits import (  # noqa: F401 (tests, the runner)
    EXIT_CORE_ERROR, EXIT_GAP, EXIT_STOP_TIMEOUT, GAP_RESTARTS_ENV, MAX_GAP_RESTARTS, STOP_GRACE_S,
    BoundedStopWorker, hard_exit, leave_group, restart_in_place,
)
from claimsim.adjudication.runtimes.streaming.faults import blind_fault, blind_first_assignment
from claimsim.adjudication.runtimes.streaming.faust_settings import (
    DEFAULT_STORE, RECOVERY_RECORDS, ROCKSDB_OPTIONS, STORES, faust_app, session_timeout,
    widen_producer_buffer,
)
from claimsim.adjudication.runtimes.streaming.fetching import shorten_fetch_wait
from claimsim.adjudication.runtimes.streaming.orphans import OrphanWatch, broker_answers
from claimsim.adjudication.runtimes.streaming.queues import release_blocked_puts
from claimsim.adjudication.runtimes.streaming.reseek import Reseeks, drop_unacked
from claimsim.adjudication.runtimes.streaming.topics import TABLE, RunTopics
from claimsim.adjudication.runtimes.streaming.watchdog import (
    CHECK_S, STALL_S, PartitionWatch, rebalance_limit_s, task_stacks,
)
from claimsim.adjudication.runtimes.streaming.wire import (
    LEDGER_INDEX, dead_letter, encode_ledger_indexed,
)

log = logging.getLogger(__name__)

# Fault injection for tests: `stall` makes this worker process stop consuming at its first message,
# `drop` skips a partition's second message, `blind-assign[@N]`/`blind-metadata[@N]` (faults.py)
# make its first assignment as leader (of N members) leave every partition unassigned (the
# variable is cleared, so the process it starts again in place behaves).
FAULT_ENV = "CLAIMSIM_WORKER_FAULT"


def build_app(topics: RunTopics, bootstrap: str, partitions: int, reference: ReferenceData,
              settings: Settings, *, commit_interval: float = 1.0, datadir: Path | None = None,
              store: str = "memory", cache_families: int | None = None) -> faust.App:
    """The faust app for one run: its agent, table and topics (nothing starts until a Worker runs it).

    `store="memory"` keeps the table in memory (faust still creates a data directory, empty
    folders only); `store="rocksdb"` keeps it in RocksDB files under `datadir` (each worker
    process has its own, default `datadir.for_process`: two workers of a run would otherwise
    open the same partition's files as it moves between them). `cache_families` bounds the
    decoded family states the processor keeps (None: every family the worker has seen); with RocksDB the worker's memory is then bounded by it.
    """
    # Long: the agent, the rebalance hook and the partition watch below close over
    # one processor, its table writes, the committed offsets and the watch; apart, each would
    # take all of them as arguments.
    if store not in STORES:
        raise UserError(f"--store {store!r}: one of {', '.join(STORES)}")
    app = faust_app(topics, bootstrap, partitions, store=store,
                    commit_interval=commit_interval, datadir=datadir)
    inbound = app.topic(topics.inbound, partitions=partitions, key_type=bytes, value_type=bytes)
    ledger = app.topic(topics.ledger, partitions=partitions, key_type=bytes, value_type=bytes)
    dead = app.topic(topics.dead_letter, partitions=1, key_type=bytes, value_type=bytes)
    table = app.tables.add(BatchedTable(app, name=TABLE, partitions=partitions, key_type=bytes,
                                        value_type=bytes, beacon=app.tables.beacon,
                                        options=dict(ROCKSDB_OPTIONS),
                                        recovery_buffer_size=RECOVERY_RECORDS))
    writes = TableWrites(table)  # the processor's store: one changelog record per message
    processor = PartitionProcessor(reference, settings, cache_families=cache_families)
    collector = app.claimsim_collector = Collector()  # the cyclic GC off the family states
    app.claimsim_processor = processor  # for tests (agent.test_context) and diagnostics
    app.claimsim_table = table
    app.claimsim_restart_on_gap = False  # run_worker: a real process, restarted in place

    install_commit_guard = commits_wait_for_table_writes(app, table)
    committed = track_committed_offsets(app, topics.inbound)
    watch = app.claimsim_watch = PartitionWatch(topics.inbound)
    table.claimsim_on_restore = watch.moved  # a restored changelog batch is progress too

    fault = os.environ.pop(FAULT_ENV, None)
    if blind_fault(fault):
        blind_first_assignment(app, topics.prefix, *blind_fault(fault))
    stall = fault == "stall"
    stuck = fault == "stuck-rebalance"  # as stall, with faust's rebalancing flag left set
    drop = fault == "drop"  # the injected fault: one message skipped, as faust can drop one

    def _forget_partition_caches() -> None:  # after a seek: rebuilt from the table (a rebalance's)
        processor.reset()
        collector.thaw()

    reseeks = app.claimsim_reseeks = Reseeks(topics.inbound, committed, _forget_partition_caches)
    orphans = app.claimsim_orphans = OrphanWatch(topics.inbound, partitions)

    @app.agent(inbound, concurrency=1, name="adjudicator")
    async def adjudicator(stream):
        nonlocal stall, stuck, drop
        # Before the first event: no offset can be committed until this agent acks one.
        install_commit_guard()
        widen_producer_buffer(app)
        async for event in stream.events():
            msg = event.message
            if stall or stuck:  # the injected faults: assigned, fetched, never consumed
                app.rebalancing = app.rebalancing or stuck  # a rebalance that never ends
                stall = stuck = False
                await asyncio.sleep(3600)
            if drop and msg.offset == 1:  # a partition's second message: the third finds a gap
                drop = False
                log.warning("fault injected: %s[%d]@%d dropped", msg.topic, msg.partition,
                            msg.offset)
                drop_unacked(app, msg)
                continue
            writes.prune(msg.partition, committed.get(msg.partition))
            try:
                outcome = processor.process(msg.partition, event.value, writes)
                ledger_values = encode_ledger_indexed(outcome.ledger)
            except Exception as e:
                log.exception("adjudication failed on %s[%d]@%d; stopping the worker",
                              msg.topic, msg.partition, msg.offset)
                fut = await dead.send(value=canonical(dead_letter(
                    f"adjudication failed: {type(e).__name__}: {e}", event.value,
                    topic=msg.topic, partition=msg.partition, offset=msg.offset)))
                await fut
                await leave_group(app)
                hard_exit(EXIT_CORE_ERROR)  # no commit: the message is redelivered on restart
            if outcome.gap is not None:
                # Nothing of this message applied or acked: seek its partition back, else start
                # the worker again from the committed offset.
                if await reseeks.gap(app, msg, *outcome.gap):
                    continue
                await exits.start_again(app)
            writes.send(msg.partition, msg.offset, outcome.end)
            watch.processed(msg.partition, msg.offset)
            reseeks.processed(msg.partition)
            for value, index in ledger_values:
                await ledger.send(value=value, partition=msg.partition,
                                  headers=[(LEDGER_INDEX, index)])
            collector.answered(len(outcome.ledger))
            for reason, raw in outcome.dead:
                log.warning("dead letter from %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, reason)
                await dead.send(value=canonical(dead_letter(
                    reason, raw, topic=msg.topic, partition=msg.partition, offset=msg.offset)))
            await writes.ebb()  # the message's answers are out; its state may wait its turn

    # A rebalance may hand a partition to another worker and back: drop every cache then, so
    # state is always rebuilt from the table as recovered from its changelog.
    async def _rebalanced(sender, *args, **kwargs):
        _forget_partition_caches()
        writes.forget()
        committed.clear()
        watch.reassigned()
        reseeks.reassigned()

    app.on_partitions_revoked.connect(_rebalanced)
    app.on_partitions_assigned.connect(_rebalanced)

    rebalance_limit = rebalance_limit_s(session_timeout())
    release_blocked_puts()  # faust's queues cleared on a rebalance release a waiting delivery

    @app.timer(CHECK_S, name="claimsim.partition_watch")
    async def _watch_partitions():
        collector.tick()  # an idle worker's cycles (run_worker's collector collects by itself)
        heap.trim()  # the free pages inside the C heap back to the system (heap.py)
        stuck = watch.rebalance_stalled(app, rebalance_limit)
        if stuck and not await broker_answers(app):  # nothing can move: judged from its return
            watch.moved()
        elif stuck:
            log.error("this worker has been rebalancing for %.0f s with no partition assigned and"
                      " no changelog restored; starting it again. %s", stuck, _stall_report(app))
            await exits.start_again(app)
        try:
            waiting = await watch.check(app)
        except Exception as e:  # a broker away: its outage is reported elsewhere
            log.debug("partition watch skipped: %s", e)
            # Nothing can move while the broker is away: judge from its return, not from
            # before (a load test's restart-broker made the watch fire the second it was back).
            watch.moved()
            return
        if waiting:
            log.error("%s partition(s) %s hold %s message(s) past what this worker processed and"
                      " none of them has moved for %.0f s (faust can leave a partition unconsumed"
                      " after a rebalance); seeking them back to the committed offset",
                      topics.inbound, sorted(waiting), sorted(waiting.values()), STALL_S)
            if await reseeks.stalled(app, waiting):
                watch.moved()  # judged again a whole stall time from now
                return
            await exits.start_again(app)
        elif not await orphans.check(app):  # partitions no member holds, rebalances failed
            await exits.start_again(app)

    app.claimsim_agent = adjudicator
    return app


def _stall_report(app: faust.App) -> str:
    """faust's rebalance and recovery state and where every task waits (this loop's, then the
    consumer thread's), for a worker's log before it starts again."""
    recovery, consumer = app.tables.recovery, app.consumer

    def named(tps) -> list:
        return sorted((tp.topic[-9:], tp.partition) for tp in tps or ())

    state = (f"generation {app.consumer_generation_id}, in recovery {app.in_recovery},"
             f" recovery completed {recovery.completed.is_set()}, flow active"
             f" {consumer.flow_active}, assignment {named(consumer.assignment())}, fetching"
             f" {named(getattr(consumer, '_active_partitions', None))}, paused"
             f" {named(getattr(consumer, '_paused_partitions', None))}, held back (buffer full)"
             f" {named(getattr(consumer, '_buffered_partitions', None))}, recovery's highwaters"
             f" {dict(recovery.active_highwaters)} and offsets {dict(recovery.active_offsets)}")
    loop = getattr(getattr(consumer, "_thread", None), "thread_loop", None)
    thread_tasks = task_stacks(loop=loop) if loop is not None else "  -"
    return f"faust: {state}. Its tasks:\n{task_stacks()}\nconsumer thread's tasks:\n{thread_tasks}"


def run_worker(run_dir: Path | str, bootstrap: str, prefix: str, *, partitions: int | None = None,
               loglevel: str = "warning", commit_interval: float = 1.0,
               log_file: Path | str | None = None, store: str = DEFAULT_STORE,
               cache_families: int | None = None) -> None:
    """Run a worker until it is stopped (SIGTERM/SIGINT). Blocks; exits the process at the end.
    Every log record goes to `log_file` (plain text); stderr gets one line per Kafka outage and
    the worker's own warnings (`outages.OutageReporter`). faust's data directory (a RocksDB
    table's files) is this process's own, `claimsim-faust/<prefix>-<pid>` under the temp
    directory, removed when the worker exits; one a worker killed with -9 left is removed by
    the next worker to start, or by the runner that started it (`datadir.sweep`)."""
    import atexit
    from claimsim.adjudication.runtimes.streaming.outages import OutageReporter, default_log_path
    from claimsim.adjudication.runtimes.streaming.topics import (existing_partitions,
                                                                 partition_count, wait_for_broker)

    heap.fix_mmap_threshold()  # before anything large is allocated
    run_dir = Path(run_dir)
    try:
        reference = ReferenceData.load(run_dir)
    except FileNotFoundError as e:
        raise UserError(str(e)) from None
    settings = recorded_settings(run_dir, reference)
    topics = RunTopics(prefix)
    waited = run_async(wait_for_broker(bootstrap, say=lambda m: print(f"claimsim worker: {m}",
                                                                          file=sys.stderr)))
    if waited > 1:
        print(f"claimsim worker: the broker answered after {waited:.1f} s", file=sys.stderr)
    if partitions is None:
        partitions = run_async(partition_count(bootstrap, topics.inbound))
    else:  # a count other than the topic's would crash on its first unknown partition
        actual = run_async(existing_partitions(bootstrap, topics.inbound))
        if actual is not None and actual != partitions:
            raise UserError(f"--partitions {partitions}: the run's inbound topic {topics.inbound}"
                            f" has {actual}; give {actual}, or leave --partitions out (it is"
                            " read from the topic)")
    datadirs.sweep()  # what workers killed with -9 left behind
    datadir = exits.OWN_DATADIR = datadirs.for_process(prefix)
    datadir.mkdir(parents=True, exist_ok=True)
    atexit.register(datadirs.remove, datadir)
    app = build_app(topics, bootstrap, partitions, reference, settings,
                    commit_interval=commit_interval, datadir=datadir, store=store,
                    cache_families=cache_families or None)
    app.claimsim_restart_on_gap = True
    shorten_fetch_wait()  # this process's only app
    app.claimsim_collector.start()  # this process collects cycles itself (collector.py)
    log_file = Path(log_file) if log_file else default_log_path(prefix)
    app.conf.loghandlers = [OutageReporter(log_file)]
    worker = BoundedStopWorker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False,
                               logfile=str(log_file))
    if not sys.stdout.isatty():
        worker.spinner = None  # its cursor codes would land in a log file
    # aiokafka builds a debug record per message sent unless told otherwise (~4 % of a run).
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    worker.execute_from_commandline()
