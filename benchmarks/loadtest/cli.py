"""`claimsim loadtest RUN_DIR`: the open-loop load test of a runtime, ending with the
byte-identical verdict against the embedded runtime (DESIGN.md "Load testing")."""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
from pathlib import Path

from claimsim.events.errors import UserError

FAULTS = ("kill-worker", "add-worker", "kill-sink", "restart-broker")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("loadtest", help="open-loop load test of a runtime (latency, knee, faults)")
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory (its input/ is offered)")
    p.add_argument("--runtime", choices=("embedded", "kafka"), default="embedded")
    rates = p.add_mutually_exclusive_group(required=True)
    rates.add_argument("--rate", help="comma-separated rates, inputs/s, one step each")
    rates.add_argument("--sweep", action="store_true",
                       help="rates from --sweep-start, times --sweep-factor, until the knee")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per step (default 10)")
    p.add_argument("--sweep-start", type=float, default=500.0)
    p.add_argument("--sweep-factor", type=float, default=2.0)
    p.add_argument("--sweep-steps", type=int, default=8, help="most steps a sweep takes")
    p.add_argument("--arrivals", choices=("fixed", "poisson"), default="fixed")
    p.add_argument("--warmup", type=float, default=0.1,
                   help="fraction of each step excluded from its figures (default 0.1)")
    p.add_argument("--seed", type=int, default=1, help="seed of Poisson arrivals")
    p.add_argument("--fault", default="", help=f"NAME@SECONDSs,... with NAME one of {', '.join(FAULTS)}")
    p.add_argument("--out", type=Path, required=True, help="a new or empty directory for the results")
    p.add_argument("--json", action="store_true", help="also write summary.json")
    p.add_argument("--partitions", type=int, default=4, help="kafka: inbound partitions (default 4)")
    p.add_argument("--workers", type=int, default=1, help="kafka: workers to start (default 1)")
    p.add_argument("--bootstrap", help="kafka: bootstrap servers (default $KAFKA_BOOTSTRAP_SERVERS)")
    p.add_argument("--linger-ms", type=float, default=20.0,
                   help="kafka: longest an offered input waits for more of its partition's to"
                        " share its message (default 20; 0: a message per partition per tick)")
    p.add_argument("--broker-pid", type=int, default=None,
                   help="kafka: the broker's pid, for its CPU per input (default: the pid file"
                        " in $KAFKA_DATA_DIR, if set)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_loadtest)


def parse_rates(text: str) -> list[float]:
    try:
        rates = [float(r) for r in text.split(",") if r.strip()]
    except ValueError:
        raise UserError(f"--rate {text!r}: rates are numbers, comma-separated") from None
    if not rates or not all(0 < r < math.inf for r in rates):  # NaN fails both
        raise UserError(f"--rate {text!r}: give one or more positive, finite rates")
    return rates


def parse_faults(text: str) -> list[tuple[str, float]]:
    faults = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, _, at = part.partition("@")
        if name not in FAULTS:
            raise UserError(f"--fault {part!r}: unknown fault {name!r}; known: {', '.join(FAULTS)}")
        try:
            seconds = float(at.removesuffix("s"))
        except ValueError:
            raise UserError(f"--fault {part!r}: give the time as NAME@SECONDSs, e.g. {name}@60s") from None
        faults.append((name, seconds))
    return faults


def cmd_loadtest(args: argparse.Namespace) -> int:
    from claimsim.benchmarks.loadtest.run import LoadTest
    from claimsim.benchmarks.loadtest.schedule import Arrivals, Step, sweep_rates

    if not 0 < args.duration < math.inf:
        raise UserError("--duration must be a positive, finite number of seconds")
    if args.sweep and not (0 < args.sweep_start < math.inf and 1 < args.sweep_factor < math.inf
                           and args.sweep_steps >= 1):
        raise UserError("--sweep needs --sweep-start above 0, --sweep-factor above 1 (each step"
                        " offers more) and --sweep-steps of 1 or more")
    if not 0 <= args.linger_ms <= 10_000:
        raise UserError("--linger-ms is milliseconds, from 0 to 10000")
    if not 0 <= args.warmup < 1:
        raise UserError("--warmup is a fraction of each step, from 0 up to (not including) 1")
    rates = (sweep_rates(args.sweep_start, args.sweep_factor, args.sweep_steps) if args.sweep
             else parse_rates(args.rate))
    faults = parse_faults(args.fault)
    if faults and args.runtime != "kafka":
        raise UserError("--fault applies to --runtime kafka only")
    test = LoadTest(
        run_dir=args.run_dir, out=args.out, runtime=args.runtime,
        steps=[Step(i, r, args.duration) for i, r in enumerate(rates)],
        arrivals=Arrivals(args.arrivals), warmup=args.warmup, seed=args.seed, faults=faults,
        stop_at_knee=args.sweep, partitions=args.partitions, workers=args.workers,
        bootstrap=args.bootstrap, broker_pid=args.broker_pid, linger_s=args.linger_ms / 1000.0,
        progress=not args.no_progress and sys.stderr.isatty())
    result = asyncio.run(test.run())
    print(result.table)
    print(f"results in {args.out}/ (steps.csv, seconds.csv, latency_vs_rate.png,"
          f" latency_over_time.png{', summary.json' if args.json else ''})")
    if args.json:
        result.write_json()
    print(result.verdict.line())
    return 0 if result.verdict.identical else 1
