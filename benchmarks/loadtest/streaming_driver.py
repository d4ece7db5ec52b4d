"""The Kafka driver: the harness's producer and sink. Inputs are published to the run's inbound
topic as they fall due (each partition's due inputs in one message), faust workers adjudicate
them, and the ledger sink in this process stamps each answer with the time it appends it.

Faults: `kill-worker` (SIGKILL the oldest live worker; the driver, which reaps it, removes it
from the consumer group at once, as the runner does any worker it started that died, and its
partitions move to the others), `add-worker` (start one more; its recovery counts from when the
group is stable with it, `Fault.landed`), `kill-sink` (drop the sink with its reorder
buffer unwritten and open a new one on the ledger, which resumes after the last answer written and
re-reads the ledger topic from the position the old one saved after its last ledger write, as a
restarted sink process does), `restart-broker`
(stop and start the broker that `scripts/kafka/` manages for `KAFKA_DATA_DIR`: only a broker of
your own, never a shared one).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from claimsim.adjudication.runtimes.streaming import datadir
from claimsim.adjudication.runtimes.streaming.producer import InboundBatcher, plan_stream
from claimsim.adjudication.runtimes.streaming.runner import (
    DeadWorkers, last_log_line, spawn_worker, stop_worker,
)
from claimsim.adjudication.runtimes.streaming.security import client_options
from claimsim.adjudication.runtimes.streaming.sink import LedgerSink, ResumePoint, ledger_consumer
from claimsim.adjudication.runtimes.streaming.topics import (
    RunTopics, bootstrap_from_env, create_topics, delete_topics, new_prefix, wait_for_members,
)
from claimsim.adjudication.runtimes.streaming.wire import ledger_entries
from claimsim.events.errors import UserError

from claimsim.benchmarks.loadtest.cpu import CpuAccount, broker_pid, reap
from claimsim.benchmarks.loadtest.measure import Fault, Timings

log = logging.getLogger(__name__)
MESSAGE_ITEMS = 200  # inputs per inbound message at most (the runner's batch)
READY_TIMEOUT = 90.0
BROKER_LOST_S = 120.0  # an outage this long stops the test (a restart takes seconds)
SCRIPTS = Path(__file__).resolve().parents[2] / "scripts" / "kafka"


class KafkaDriver:
    """Inputs due are batched per partition (`producer.InboundBatcher`, up to MESSAGE_ITEMS a
    message); a partition's partial message goes out once its first input has waited
    `linger_s` (as a producer's linger): a message per partition per loop tick (a few inputs at
    a few thousand a second) cost the worker its per-message work (faust's event, a changelog
    record, a ledger message) for every two or three inputs."""

    name = "kafka"
    linger_s = 0.02

    def __init__(self, work: Path, timings: Timings, clock, topics: RunTopics, bootstrap: str,
                 partitions: int, log_dir: Path):
        self.work, self.timings, self.clock = work, timings, clock
        self.topics, self.bootstrap, self.partitions = topics, bootstrap, partitions
        self.log_dir = log_dir
        self.broker_pid: int | None = None  # --broker-pid (else KAFKA_DATA_DIR's pid file)
        self.answered = 0
        self.dead_letters = 0
        self.workers: list[subprocess.Popen] = []
        self._spawned = 0
        self._names: dict[int, str] = {}  # worker pid -> its name in the CPU breakdown
        self._logs: dict[int, Path] = {}  # worker pid -> its log (stderr; `.detail.log` beside it)
        self._killed: set[int] = set()  # pids a kill-worker fault killed (not "exited by itself")
        self.cpu = CpuAccount()
        self.cpu.watch("producer+sink", os.getpid())
        self._items = plan_stream(work)
        self._head = None
        self._batcher = InboundBatcher(partitions, MESSAGE_ITEMS)
        self._waiting_since: float | None = None  # when the oldest unsent input was offered
        self._producer: AIOKafkaProducer | None = None
        self._sink: LedgerSink | None = None
        self._sink_task: asyncio.Task | None = None
        self._dead = DeadWorkers(bootstrap, topics)  # dead workers' removals from the group
        self._sink_marks: dict[str, float] = {}  # when the latest sink seeked, read, appended
        self._sink_fault: tuple[Fault, float] | None = None  # a kill-sink awaiting its timings
        self._joins: list[asyncio.Task] = []  # added workers' watches for their rebalance
        self.outages = None  # this process's OutageReporter (`route_client_logs`), when routed

    @classmethod
    async def start(cls, work: Path, timings: Timings, clock, *, partitions: int, workers: int,
                    bootstrap: str | None, log_dir: Path) -> KafkaDriver:
        if partitions < 1 or workers < 1:
            raise UserError("--partitions and --workers must be at least 1")
        bootstrap = bootstrap_from_env(bootstrap)
        self = cls(work, timings, clock, RunTopics(new_prefix("loadtest")), bootstrap,
                   partitions, log_dir)
        self._sink = LedgerSink(work)  # writes the run manifest the workers read
        await create_topics(bootstrap, self.topics, partitions)
        for _ in range(workers):
            self._spawn()
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=1, acks="all",
                                          **client_options(),
                                          max_batch_size=1 << 20, max_request_size=4 << 20)
        await self._producer.start()
        await self._wait_ready(workers)
        self._sink_task = asyncio.create_task(self._consume())
        return self

    def _spawn(self) -> None:
        proc, log_path = spawn_worker(self.work, self.bootstrap, self.topics.prefix,
                                      self.partitions, self._spawned, log_dir=self.log_dir)
        self._logs[proc.pid] = log_path
        self._names[proc.pid] = name = f"worker-{self._spawned}"  # never reused: its CPU is its own
        self.cpu.watch(name, proc.pid)
        self._spawned += 1
        self.workers.append(proc)

    def _reap(self, proc: subprocess.Popen, block: bool = False) -> int | None:
        """`proc`'s exit status once it has ended (None while it runs), its CPU banked first."""
        seconds = reap(proc, block)
        if seconds is not None:
            self.cpu.ended(self._names[proc.pid], seconds)
        return proc.returncode

    async def _wait_ready(self, members: int) -> None:
        """Until the workers' group is stable with every worker in it (the test starts then)."""
        def all_stopped() -> bool:
            return all(self._reap(p) is not None for p in self.workers)

        if await wait_for_members(self.bootstrap, self.topics, members, READY_TIMEOUT,
                                  give_up=all_stopped):
            return
        if all_stopped():
            raise UserError(f"every worker stopped while starting; see {self.log_dir}")
        raise UserError(f"the workers did not join their group within {READY_TIMEOUT:.0f} s")

    async def offer(self, upto: int) -> None:
        """Publish every input below `upto` not yet published (and the facts before them)."""
        send = self._producer.send
        topic = self.topics.inbound
        while True:
            item = self._head if self._head is not None else next(self._items, None)
            if item is None:
                break
            if item.kind == "input" and item.envelope["seq"] >= upto:
                self._head = item
                break
            self._head = None
            for p, key, value in self._batcher.add(item):
                await send(topic, value, key=key.encode() if key else None, partition=p)
        if self._waiting_since is None and self._batcher.pending():
            self._waiting_since = self.clock()
        await self._flush_lingered()

    async def _flush_lingered(self, force: bool = False) -> None:
        """Send every partial message once the oldest input in them has waited `linger_s`."""
        since = self._waiting_since
        if since is None or not (force or self.clock() - since >= self.linger_s):
            return
        for p, key, value in self._batcher.flush():
            await self._producer.send(self.topics.inbound, value,
                                      key=key.encode() if key else None, partition=p)
        self._waiting_since = None

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds so far by process: this one (producer and sink), every worker started
        (`worker-N` in start order; a killed one's up to its death), the broker (every pid it
        had, when `restart-broker` restarted it)."""
        for proc in self.workers:
            self._reap(proc)
        broker = broker_pid(self.broker_pid)
        if broker:
            self.cpu.watch("broker", broker)
        return self.cpu.seconds()

    async def pump(self) -> list[Fault]:
        """Send what has lingered, remove dead workers from the group, and say which workers
        exited that no fault killed (a `worker-exited` event each: the load test's table and
        summary show it beside the faults, with its recovery time)."""
        from claimsim.adjudication.runtimes.streaming.app import EXIT_GAP

        await self._flush_lingered()
        exited = []
        for proc in list(self.workers):
            code = self._reap(proc)
            if code is None:
                continue
            # A worker that died cannot leave its group: remove it now, as the runner does,
            # rather than hold every partition for its session (members.evict_dead).
            self.workers.remove(proc)
            self._dead.evict([proc])
            if proc.pid in self._killed:
                continue
            name = self._names[proc.pid]
            log_path = self._logs[proc.pid]
            detail = (f"{name} (pid {proc.pid}) exited by itself with code {code}; {log_path.name}"
                      f" ends: {last_log_line(log_path)} (detail in {log_path.stem}.detail.log)")
            if code == EXIT_GAP:  # resumes from the committed offset
                self._spawn()
                successor = self._names[self.workers[-1].pid]
                detail += f"; it stopped on a gap in its input, {successor} started"
            log.warning("%s", detail)
            exited.append(Fault("worker-exited", self.clock(), detail))
        lost = self.outages.open_for() if self.outages is not None else 0.0
        if lost >= BROKER_LOST_S:
            raise UserError(f"the broker at {self.bootstrap} has not answered for {lost:.0f} s"
                            f" (last answered input {self.answered - 1}); the load test stops"
                            f" (detail in {self.outages.log_path})")
        if exited and not self.workers:
            raise UserError(f"every worker stopped (last answered input {self.answered - 1}): "
                            + "; ".join(f.detail for f in exited))
        if self._sink_task is not None and self._sink_task.done():
            self._sink_task.result()  # a sink that failed stops the test with its error
        return exited

    async def _consume(self) -> None:
        import time

        consumer = ledger_consumer(self.bootstrap)
        await consumer.start()
        try:
            ledger = self.topics.ledger
            tps = [TopicPartition(ledger, p) for p in range(self.partitions)]
            consumer.assign(tps + [TopicPartition(self.topics.dead_letter, 0)])
            sink, appended = self._sink, self.timings.appended
            resume = ResumePoint(self.work, ledger)  # a restarted sink reads from here on
            await resume.seek(consumer, self.partitions, sink.last_cause)
            await consumer.seek_to_beginning(TopicPartition(self.topics.dead_letter, 0))
            marks = self._sink_marks
            marks["seeked"] = self.clock()
            while True:
                batches = await consumer.getmany(timeout_ms=20, max_records=5000)
                if batches and "first_read" not in marks:
                    marks["first_read"] = self.clock()
                    marks["records"] = sum(len(r) for r in batches.values())
                for tp, records in batches.items():
                    if tp.topic != ledger:
                        self.dead_letters += len(records)
                        for r in records:
                            log.warning("dead letter: %s", orjson.loads(r.value).get("reason"))
                        continue
                    before = sink.last_cause
                    for record in records:
                        entries = ledger_entries(record.value, record.headers)
                        resume.read_causes(tp.partition, record.offset,
                                           max((c for c, _ in entries), default=None))
                        sink.offer_encoded(entries)
                    if sink.last_cause > before:
                        appended[before + 1:sink.last_cause + 1] = self.clock()
                        self.answered = sink.last_cause + 1
                        marks.setdefault("first_append", self.clock())
                        self._describe_sink_fault()
                resume.save(sink.last_cause, now=time.monotonic())
        finally:
            await consumer.stop()

    async def fault(self, name: str) -> Fault:
        at = self.clock()
        if name == "kill-worker":
            live = [p for p in self.workers if self._reap(p) is None]
            if not live:
                return Fault(name, at, "no live worker to kill")
            self._killed.add(live[0].pid)
            live[0].send_signal(signal.SIGKILL)
            self._reap(live[0], block=True)  # its CPU up to its death
            datadir.sweep()  # the faust data directory it could not remove
            # pump() finds it dead, as it would any worker that died, and removes it.
            return Fault(name, at, f"SIGKILL worker pid {live[0].pid}")
        if name == "add-worker":
            self._spawn()
            fault = Fault(name, at, f"started worker pid {self.workers[-1].pid}")
            self._joins.append(asyncio.create_task(self._joined(fault, self.workers[-1].pid)))
            return fault
        if name == "kill-sink":
            await self._stop_sink()
            self._sink = LedgerSink(self.work)  # resumes after the last answer written
            opened = self.clock() - at
            self._sink_marks = {}
            self._sink_task = asyncio.create_task(self._consume())
            fault = Fault(name, at, "sink dropped with its reorder buffer; a new one resumed"
                                    " (and appended nothing since)")
            self._sink_fault = (fault, opened)
            return fault
        if name == "restart-broker":
            self.cpu_seconds()  # the broker's CPU before the stop: kept under its name
            took = await asyncio.to_thread(restart_own_broker, self.bootstrap, self.cpu.seconds)
            return Fault(name, at, f"broker stopped and started again in {took:.1f} s")
        raise UserError(f"unknown fault {name!r}")

    async def _joined(self, fault: Fault, pid: int) -> None:
        """Mark when an added worker's rebalance landed: the group stable with it a member
        (`Fault.landed`, from which its recovery is measured; the group is left as it was
        until then, so a recovery counted from the start would only say the others kept up)."""
        from claimsim.adjudication.runtimes.streaming.members import member_ids_by_pid
        from claimsim.adjudication.runtimes.streaming.topics import _admin

        admin = await _admin(self.bootstrap)
        try:
            while True:
                try:
                    (group,) = (await admin.describe_consumer_groups(
                        [self.topics.app_id]))[0].groups
                    state, members = group[2], group[5]
                except (KafkaError, OSError, ValueError):  # the coordinator moving, a broker away
                    state, members = "", []
                if state == "Stable" and member_ids_by_pid(members, {pid}):
                    fault.landed = self.clock()
                    later = fault.landed - fault.at
                    fault.detail += f"; in a stable group with it {later:.1f} s later"
                    return
                await asyncio.sleep(0.1)
        finally:
            await admin.close()

    def _describe_sink_fault(self) -> None:
        """Once the new sink has appended: where its time went, from the fault (opening the
        ledger, seeking to the resume point, the first ledger records read, the first append),
        so a slow recovery says whether the sink or the workers upstream of it held it up."""
        if self._sink_fault is None:
            return
        (fault, opened), m = self._sink_fault, self._sink_marks

        def rel(key: str) -> str:
            return f"{m[key] - fault.at:.2f} s" if key in m else "never"

        fault.detail = (f"sink dropped with its reorder buffer; a new one opened in {opened:.2f} s,"
                        f" seeked at {rel('seeked')}, first records read at {rel('first_read')}"
                        f" ({m.get('records', 0)}), first answer appended at {rel('first_append')}")
        self._sink_fault = None

    async def _stop_sink(self) -> None:
        if self._sink_task is not None:
            self._sink_task.cancel()
            try:
                await self._sink_task
            except (asyncio.CancelledError, Exception):
                pass
            self._sink_task = None
        if self._sink is not None:
            self._sink.close()
            self._sink = None

    async def close(self) -> None:
        for task in self._joins:  # an added worker that never joined: its fault says so
            task.cancel()
        await asyncio.gather(*self._joins, return_exceptions=True)
        await self._stop_sink()
        await self._dead.settle()
        for proc in self.workers:
            stop_worker(proc)
        if self._producer is not None:
            await self._producer.stop()
        await delete_topics(self.bootstrap, self.topics)


def restart_own_broker(bootstrap: str, sample=None) -> float:
    """Stop and start the broker `scripts/kafka/` runs for `KAFKA_DATA_DIR` (which must be set,
    and the broker must be the one at `bootstrap`): never the shared default broker. `sample`
    is called every 0.1 s while it stops (the CPU account sees the broker until it exits)."""
    import time

    data_dir, port = os.environ.get("KAFKA_DATA_DIR"), os.environ.get("KAFKA_PORT")
    if not data_dir or not port or not bootstrap.endswith(f":{port}"):
        raise UserError("restart-broker restarts a broker of your own: start one with"
                        " KAFKA_DATA_DIR, KAFKA_PORT and KAFKA_CONTROLLER_PORT set"
                        " (scripts/kafka/start.sh), and point --bootstrap at it")
    t0 = time.monotonic()
    for script in ("stop.sh", "start.sh"):
        proc = subprocess.Popen(["bash", str(SCRIPTS / script)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        while sample is not None and script == "stop.sh" and proc.poll() is None:
            sample()
            time.sleep(0.1)
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise UserError(f"scripts/kafka/{script} failed: {err.strip().splitlines()[-1:]}")
    return time.monotonic() - t0
