"""`claimsim simulate`: build the default region and simulate it into a fresh run directory."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

from claimsim.events.errors import UserError
from claimsim.simulator.config import SimConfig
from claimsim.simulator.model import Summary
from claimsim.simulator.run_dir import check_empty_run_dir, simulate_to_dir


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate",
                       help="simulate a region's members, visits and claims into RUN_DIR")
    p.add_argument("--members", type=int, default=10_000, help="initial members (default 10000)")
    p.add_argument("--months", type=int, default=12, help="months of services (default 12)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--start", default="2025-01-01",
                   help="first day, a month start (default 2025-01-01)")
    p.add_argument("--runout-months", type=int, default=3,
                   help="months after the last one in which claims still arrive (default 3)")
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="a new or empty directory")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_simulate)


def _config(args: argparse.Namespace) -> SimConfig:
    try:
        start = dt.date.fromisoformat(args.start)
    except ValueError:
        raise UserError(f"--start: not an ISO date: {args.start!r}") from None
    for name in ("members", "months"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name} must be at least 1")
    if start.day != 1:
        raise UserError(f"--start must be the first day of a month, got {start}")
    return SimConfig(members=args.members, months=args.months, seed=args.seed, start=start,
                     runout_months=args.runout_months)


FAULT_KINDS = ("duplicate", "replacement", "void", "malformed", "late")


def summary_table(summary: Summary) -> str:
    s, faults = summary, summary.faults_by_kind
    rows = [
        ("members (initial / ever)", f"{s.members:,} / {s.members_ever:,}"),
        ("families ever (new / terminated)",
         f"{s.families_ever:,} ({s.new_families:,} / {s.terminated_families:,})"),
        ("member months", f"{s.member_months:,}"),
        ("visits", f"{sum(s.visits.values()):,}"),
        ("claims submitted", f"{s.claims:,}"),
        *((f"  faults: {kind}", f"{faults.get(kind, 0):,}") for kind in FAULT_KINDS),
        ("referrals (avoidable / total)", f"{s.avoidable_referrals:,} / {s.referrals:,}"),
        ("input events", f"{sum(s.input_events.values()):,}"),
        ("truth events", f"{sum(s.truth_events.values()):,}"),
        ("service window", f"{s.start} .. {s.service_end} (received until {s.horizon})"),
    ]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)


def cmd_simulate(args: argparse.Namespace) -> int:
    from pathlib import Path

    config = _config(args)
    out = Path(args.out)
    check_empty_run_dir(out)
    began = time.perf_counter()
    summary = simulate_to_dir(config, out, progress=not args.no_progress and sys.stderr.isatty())
    elapsed = time.perf_counter() - began
    print(summary_table(summary))
    print(f"wrote {out}/ (reference.json, run.json, input/, truth/) in {elapsed:.1f} s"
          f" ({summary.claims / max(elapsed, 1e-9):,.0f} claims/s)")
    return 0
