"""Ours and its baseline in alternating rounds: `python -m claimsim.benchmarks.paired SUITE`.

`claimsim bench` times all of one benchmark's rounds, then all of its baseline's, and divides the
medians. On this shared 2-core machine the host's speed drifts by a third or more within minutes
(docs/performance.md: the baselines alone moved 61,969-94,060 claims/s in one sitting), so the two
halves of a ratio can be measured on different machines. Here each round of ours runs next to a
round of its baseline (in the order ours, base, base, ours, ... so neither side always runs first),
each pair gives its own ratio (baseline time / ours time: the throughput ratio), and the median of
the pairs' ratios is printed with their range, wall and CPU seconds (`time.process_time`).

The bodies, their setups and the inputs are the pytest suites' own (`bench_adjudication`,
`bench_projections`, `bench_simulator`); only the order of the rounds differs. Every scratch
folder is removed at the end.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

SUITES = ("adjudication", "projections", "simulator")


@dataclass
class Side:
    """One side of a pair: an untimed setup returning the timed body's arguments, and the body."""
    setup: Callable[[], tuple]
    body: Callable[..., Any]


@dataclass
class Pairing:
    unit: str  # what `items` counts (claims, entries)
    items: int
    ours: Side
    base: Side
    what: str  # the line that says what ran


def timed(side: Side) -> tuple[float, float]:
    """(wall, CPU) seconds of one round of `side`'s body (its setup untimed)."""
    args = side.setup()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    side.body(*args)
    return time.perf_counter() - wall0, time.process_time() - cpu0


def alternate(pairing: Pairing, rounds: int, warmup: int, show=print) -> list[tuple]:
    """`rounds` pairs (after `warmup` untimed ones of each side), the sides' order alternating
    (ours first in even pairs). Each pair: (ours wall, ours CPU, base wall, base CPU)."""
    for _ in range(warmup):
        timed(pairing.ours)
        timed(pairing.base)
    pairs = []
    for i in range(rounds):
        if i % 2 == 0:
            ours = timed(pairing.ours)
            base = timed(pairing.base)
        else:
            base = timed(pairing.base)
            ours = timed(pairing.ours)
        pairs.append((*ours, *base))
        show(_row(i + 1, pairs[-1], pairing.items) + ("   ours" if i % 2 == 0 else "   base"))
    return pairs


def _row(n: int, pair: tuple, items: int) -> str:
    ours_wall, ours_cpu, base_wall, base_cpu = pair
    return (f"{n:>5} {items / ours_wall:>14,.0f} {items / ours_cpu:>12,.0f}"
            f" {items / base_wall:>14,.0f} {items / base_cpu:>12,.0f}"
            f" {base_wall / ours_wall:>8.3f}x {base_cpu / ours_cpu:>8.3f}x")


def summary(pairs: list[tuple], items: int, unit: str) -> list[str]:
    """The medians of the pairs' ratios with their ranges, and the medians of each side."""
    wall = [b / o for o, _, b, _ in pairs]
    cpu = [b / o for _, o, _, b in pairs]
    ours_wall = statistics.median(p[0] for p in pairs)
    ours_cpu = statistics.median(p[1] for p in pairs)
    return [
        f"median of {len(pairs)} pairs' ratios: {statistics.median(wall):.3f}x wall"
        f" ({min(wall):.3f}x-{max(wall):.3f}x), {statistics.median(cpu):.3f}x per CPU-second"
        f" ({min(cpu):.3f}x-{max(cpu):.3f}x)",
        f"ours (medians): {items / ours_wall:,.0f} {unit}/s wall,"
        f" {items / ours_cpu:,.0f} {unit} per CPU-second",
    ]


def _adjudication(scratch: Path) -> Pairing:
    from claimsim.benchmarks import bench_adjudication as bench
    from claimsim.native import engine_kind

    run, facts = bench.make_synthetic_run()
    prebuilt = bench.prebuilt_results(run, facts)
    return Pairing(
        "claims", facts["claims"],
        Side(lambda: (bench.ours_setup(run, facts),), bench.ours_body),
        Side(lambda: (run, *bench.baseline_setup(facts, prebuilt)), bench.baseline_body),
        f"adjudication end to end ({engine_kind()} engine), {facts['claims']:,} claims,"
        " beside reading the same input and appending pre-built answers")


def _projections(scratch: Path) -> Pairing:
    from claimsim.benchmarks import bench_projections as bench
    from claimsim.native import kinds

    run = scratch / "run"
    run.mkdir()
    bench.build_run(run)
    n = bench.raw_read(run)
    return Pairing(
        "entries", n, Side(lambda: (run,), bench.replay_projections),
        Side(lambda: (run,), bench.raw_read),
        f"projections replay (fold {kinds()['projections fold']}), {n:,} ledger entries,"
        " beside an orjson read of every line")


def _simulator(scratch: Path) -> Pairing:
    from claimsim.benchmarks import bench_simulator as bench
    from claimsim.native import kinds

    claims, visits, members = bench.run_shape()
    runs = iter(range(1_000_000))
    return Pairing(
        "claims", claims,
        Side(lambda: (scratch / f"sim{next(runs)}", claims), bench.simulate_round),
        Side(lambda: (visits, members), bench.raw_simpy),
        f"simulator writing its logs ({kinds()['simulator']}), {claims:,} claims"
        f" ({visits:,} visits), beside raw SimPy")


PAIRINGS = {"adjudication": _adjudication, "projections": _projections,
            "simulator": _simulator}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m claimsim.benchmarks.paired",
        description="A benchmark and its baseline in alternating rounds, each pair's ratio, and"
                    " their median (the suites' sizes: CLAIMSIM_BENCH_CLAIMS,"
                    " CLAIMSIM_BENCH_LEDGER_EVENTS, CLAIMSIM_BENCH_MEMBERS).")
    parser.add_argument("suite", nargs="+", choices=SUITES)
    parser.add_argument("--rounds", type=int, default=6, help="timed pairs (default 6)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="untimed rounds of each side first (default 1)")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.warmup < 0:
        parser.error("--rounds must be at least 1 and --warmup at least 0")
    for suite in args.suite:
        scratch = Path(tempfile.mkdtemp(prefix=f"claimsim-paired-{suite}-"))
        saved, tempfile.tempdir = tempfile.tempdir, str(scratch)  # the suites' mkdtemp too
        try:
            print(f"{suite}: building the input (untimed) ...", flush=True)
            pairing = PAIRINGS[suite](scratch)
            print(pairing.what, flush=True)
            u = pairing.unit
            print(f"{'pair':>5} {f'ours {u}/s':>14} {'per CPU-s':>12} {f'base {u}/s':>14}"
                  f" {'per CPU-s':>12} {'wall':>9} {'CPU':>9}   first", flush=True)
            pairs = alternate(pairing, args.rounds, args.warmup,
                              show=lambda line: print(line, flush=True))
            for line in summary(pairs, pairing.items, u):
                print(line)
        finally:
            tempfile.tempdir = saved
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
