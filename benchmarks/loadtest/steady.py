"""Steady-state throughput of the Kafka runtime, closed loop, in one sitting: for each
(partitions, workers) the workers are started and wait until all of them are in the consumer
group, the whole run is published (the producer's CPU per input), the workers adjudicate it and
the sink writes the ledger (claims/s between the first and the last answer, and CPU per claim of
each worker, the sink and the broker over that span); then the sink
alone re-reads the finished ledger topic into a fresh ledger (its own ceiling); and the same
published input through the plain-aiokafka loop of `bench_streaming` (the same processor over a
dict, no faust, no changelog) as the baseline. Every ledger is checked byte-identical to the
embedded runtime's.

    python -m claimsim.benchmarks.loadtest.steady RUN_DIR --partitions 4,8 --workers 1,2,4 \\
        --out DIR [--bootstrap HOST:PORT] [--broker-pid PID]

Writes `steady.csv` in DIR and prints a table. CPU is read from /proc (user + system); the
broker's only with `--broker-pid` or `KAFKA_DATA_DIR` (a broker others use counts their work too).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from claimsim.adjudication.runtimes.streaming.producer import (
    DEFAULT_BATCH, last_input_seq, plan_stream, publish,
)
from claimsim.adjudication.runtimes.streaming.runner import spawn_worker, stop_worker
from claimsim.adjudication.runtimes.streaming.sink import LedgerSink, drain
from claimsim.adjudication.runtimes.streaming.topics import (
    RunTopics, bootstrap_from_env, create_topics, delete_topics, new_prefix, wait_for_members,
)
from claimsim.events.log import read

from claimsim.benchmarks.loadtest.cpu import broker_pid, cpu_seconds
from claimsim.benchmarks.loadtest.verdict import compare_ledgers, copy_run, embedded_reference


@dataclass
class Row:
    runtime: str  # faust | plain-aiokafka | sink-alone
    partitions: int
    workers: int
    claims: int
    inputs: int
    claims_per_s: float  # between the first and the last answer the sink wrote
    producer_us: float  # CPU per claim (publishing happens before, alone)
    worker_us: float  # CPU per claim, all workers summed, first to last answer
    sink_us: float
    broker_us: float | None
    identical: bool
    worker_peak_rss_mb: float = 0.0  # the largest worker's peak resident memory (VmHWM)


class _Clock:
    """The sink's progress hook: when the first and last answers were written, and the worker
    and broker CPU at the first one (workers start, join and recover before it)."""

    def __init__(self, pids: list[int], broker: int | None):
        self.pids, self.broker = pids, broker
        self.first = self.last = None
        self.cpu0: dict[int, float] = {}

    def update(self, n: int) -> None:
        now = time.monotonic()
        if self.first is None:
            self.first = now
            self.cpu0 = {p: cpu_seconds(p) or 0.0 for p in [*self.pids, self.broker] if p}
        self.last = now

    def spent(self, pid: int | None) -> float | None:
        if not pid or pid not in self.cpu0:
            return None
        return (cpu_seconds(pid) or 0.0) - self.cpu0[pid]


def _claims(run_dir: Path, until_seq: int | None) -> tuple[int, int]:
    inputs = last_input_seq(run_dir, until_seq=until_seq) + 1
    claims = sum(1 for item in plan_stream(run_dir, until_seq=until_seq)
                 if item.envelope["type"] == "claim.submitted")
    return inputs, claims


def _fresh(path: Path) -> Path:
    """`path`, or `path-2`, `path-3`, ... when a repeated row (`--workers 2,1,2`) made it."""
    n, fresh = 1, path
    while fresh.exists():
        n += 1
        fresh = path.with_name(f"{path.name}-{n}")
    return fresh


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


UNTIL: dict[str, int | None] = {"seq": None}  # --until-seq: the stream's end (None: the whole run)


async def _publish(bootstrap: str, topics: RunTopics, work: Path, partitions: int) -> float:
    await create_topics(bootstrap, topics, partitions)  # a no-op on topics that exist
    t0 = time.process_time()
    await publish(bootstrap, topics.inbound, plan_stream(work, until_seq=UNTIL["seq"]), partitions,
                  DEFAULT_BATCH)
    return time.process_time() - t0


async def _sink(sink: LedgerSink, bootstrap: str, topics: RunTopics, partitions: int, last: int,
                clock: _Clock, check=None) -> float:
    t0 = time.process_time()
    await drain(sink, bootstrap, topics.ledger, partitions, last, progress=clock, idle_check=check)
    return time.process_time() - t0


def faust_row(run_dir: Path, out: Path, bootstrap: str, partitions: int, workers: int,
              broker: int | None, reference: Path, counts: tuple[int, int],
              worker_args: tuple[str, ...] = ()) -> list[Row]:
    inputs, claims = counts
    topics = RunTopics(new_prefix("steady"))
    work = copy_run(run_dir, _fresh(out / f"run-faust-{partitions}p-{workers}w"))
    procs = []
    try:
        with LedgerSink(work) as sink:  # writes the manifest the workers read
            # Every worker in the group before the first input: the steady state, not the
            # rebalances of workers joining one by one while the others have started.
            asyncio.run(create_topics(bootstrap, topics, partitions))
            procs = [spawn_worker(work, bootstrap, topics.prefix, partitions, i, log_dir=out,
                                  **({"extra_args": worker_args} if worker_args else {}))[0]
                     for i in range(workers)]
            if not asyncio.run(wait_for_members(bootstrap, topics, workers)):
                print(f"  ({workers} workers not all in the group after 60 s: publishing anyway)")
            producer_cpu = asyncio.run(_publish(bootstrap, topics, work, partitions))
            clock = _Clock([p.pid for p in procs], broker)

            def check() -> None:
                if all(p.poll() is not None for p in procs):
                    raise RuntimeError(f"every worker stopped; see {out}")

            sink_cpu = asyncio.run(_sink(sink, bootstrap, topics, partitions, inputs - 1, clock, check))
            worker_cpu = sum(clock.spent(p.pid) or 0.0 for p in procs)
            broker_cpu = clock.spent(broker)
            rss = max(peak_rss_mb(p.pid) for p in procs)
        row = Row("faust", partitions, workers, claims, inputs,
                  claims / max(clock.last - clock.first, 1e-3), producer_cpu * 1e6 / claims,
                  worker_cpu * 1e6 / claims, sink_cpu * 1e6 / claims,
                  None if broker_cpu is None else broker_cpu * 1e6 / claims,
                  compare_ledgers(work / "ledger", reference).identical, rss)
        for p in procs:
            stop_worker(p)
        procs = []
        if workers == 1:  # the sink alone, on the ledger topic this run filled
            alone = copy_run(run_dir, _fresh(out / f"run-sink-{partitions}p"))
            with LedgerSink(alone) as sink:
                clock2 = _Clock([], broker)
                t0 = time.monotonic()
                cpu = asyncio.run(_sink(sink, bootstrap, topics, partitions, inputs - 1, clock2))
                wall = time.monotonic() - t0
            sink_row = Row("sink-alone", partitions, 0, claims, inputs, claims / wall, 0.0, 0.0,
                           cpu * 1e6 / claims, None,
                           compare_ledgers(alone / "ledger", reference).identical)
            return [row, sink_row]
        return [row]
    finally:
        for p in procs:
            stop_worker(p)
        asyncio.run(delete_topics(bootstrap, topics))


def plain_row(run_dir: Path, out: Path, bootstrap: str, partitions: int, broker: int | None,
              reference: Path, counts: tuple[int, int]) -> Row:
    """The baseline in a process of its own (so its CPU is its own), beside the same sink."""
    inputs, claims = counts
    topics = RunTopics(new_prefix("steady-plain"))
    work = copy_run(run_dir, _fresh(out / f"run-plain-{partitions}p"))
    try:
        with LedgerSink(work) as sink:
            producer_cpu = asyncio.run(_publish(bootstrap, topics, work, partitions))
            proc = subprocess.Popen(
                [sys.executable, "-m", "claimsim.benchmarks.loadtest.steady", "--baseline",
                 str(work), topics.prefix, str(inputs)],
                env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}, stdout=subprocess.PIPE)
            clock = _Clock([proc.pid], broker)
            sink_cpu = asyncio.run(_sink(sink, bootstrap, topics, partitions, inputs - 1, clock))
            broker_cpu = clock.spent(broker)
            spent = json.loads(proc.communicate(timeout=120)[0])
        worker_cpu = spent["cpu_end"] - spent["cpu_start"]
        return Row("plain-aiokafka", partitions, 1, claims, inputs,
                   claims / max(clock.last - clock.first, 1e-3), producer_cpu * 1e6 / claims,
                   worker_cpu * 1e6 / claims, sink_cpu * 1e6 / claims,
                   None if broker_cpu is None else broker_cpu * 1e6 / claims,
                   compare_ledgers(work / "ledger", reference).identical)
    finally:
        asyncio.run(delete_topics(bootstrap, topics))


def _baseline(run_dir: str, prefix: str, want: int) -> None:
    from claimsim.benchmarks.bench_streaming import plain_aiokafka_adjudicator

    start = time.process_time()  # after the imports, as the faust worker's first answer is
    asyncio.run(plain_aiokafka_adjudicator(Path(run_dir), RunTopics(prefix), want, changelog=False))
    print(json.dumps({"cpu_start": start, "cpu_end": time.process_time()}))


def table(rows: list[Row]) -> str:
    out = [f"{'runtime':<15} {'parts':>5} {'workers':>7} {'claims/s':>9} {'producer':>9}"
           f" {'workers':>8} {'sink':>6} {'broker':>7} {'w+s':>6} {'RSS MB':>7}  identical",
           "  (CPU in us per claim; claims/s between the first and the last answer)"]
    for r in rows:
        broker = "-" if r.broker_us is None else f"{r.broker_us:,.0f}"
        out.append(f"{r.runtime:<15} {r.partitions:>5} {r.workers:>7} {r.claims_per_s:>9,.0f}"
                   f" {r.producer_us:>9,.0f} {r.worker_us:>8,.0f} {r.sink_us:>6,.0f} {broker:>7}"
                   f" {r.worker_us + r.sink_us:>6,.0f} {r.worker_peak_rss_mb:>7,.0f}"
                   f"  {'yes' if r.identical else 'NO'}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--baseline":
        _baseline(*argv[1:3], int(argv[3]))
        return 0
    p = argparse.ArgumentParser(prog="python -m claimsim.benchmarks.loadtest.steady")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--partitions", default="4,8")
    p.add_argument("--workers", default="1,2,4")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--bootstrap")
    p.add_argument("--broker-pid", type=int)
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--worker-args", default="", help="extra worker options, e.g. '--store memory'")
    p.add_argument("--no-sink-alone", action="store_true")
    p.add_argument("--until-seq", type=int, default=None, help="publish inputs before this seq only")
    args = p.parse_args(argv)
    bootstrap = bootstrap_from_env(args.bootstrap)
    args.out.mkdir(parents=True, exist_ok=True)
    broker = broker_pid(args.broker_pid)
    UNTIL["seq"] = args.until_seq
    counts = _claims(args.run_dir, args.until_seq)
    reference = embedded_reference(args.run_dir, args.out / "embedded", until_seq=counts[0])
    rows: list[Row] = []
    for partitions in (int(x) for x in args.partitions.split(",")):
        if not args.no_baseline:
            rows.append(plain_row(args.run_dir, args.out, bootstrap, partitions, broker,
                                  reference, counts))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
        for workers in (int(x) for x in args.workers.split(",")):
            for row in faust_row(args.run_dir, args.out, bootstrap, partitions, workers, broker,
                                 reference, counts, tuple(args.worker_args.split())):
                if row.runtime == "sink-alone" and args.no_sink_alone:
                    continue
                rows.append(row)
                print(table([row]).splitlines()[-1], f"(load {os.getloadavg()[0]:.1f})", flush=True)
    with open(args.out / "steady.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([fl.name for fl in fields(Row)])
        for r in rows:
            w.writerow(list(asdict(r).values()))
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
