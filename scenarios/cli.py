"""`claimsim run`: simulate the default region into RUN_DIR and pay it epoch by epoch on the
embedded runtime (the run clock), then print a summary and write reports/ (DESIGN.md "CLI")."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from claimsim.events.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    """`claimsim run`; when the scenario layer (F6: `scenario_cli`) is present, it provides `run`
    with scenario files on top of these same flags, plus `scenarios` and `whatif`."""
    try:
        from claimsim.scenarios import scenario_cli
    except ModuleNotFoundError as e:
        if e.name != "claimsim.scenarios.scenario_cli":
            raise
        scenario_cli = None
    hooks = ("add_run", "add_scenarios", "add_whatif")
    if scenario_cli is not None and all(hasattr(scenario_cli, h) for h in hooks):
        for hook in hooks:
            getattr(scenario_cli, hook)(sub)
        return
    register_run(sub)


def register_run(sub: argparse._SubParsersAction) -> None:
    """The run clock's own `claimsim run` over the default region (no scenario files)."""
    p = sub.add_parser("run", help="simulate, adjudicate, attribute and pay a region epoch by epoch")
    p.add_argument("--members", type=int, default=10_000, help="initial members (default 10000)")
    p.add_argument("--months", type=int, default=12, help="months of services (default 12)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--start", default="2025-01-01", help="first day, a month start (default 2025-01-01)")
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="a new or empty directory")
    p.add_argument("--baseline-months", type=int, default=None,
                   help="months paid as if nobody were attributed (default min(12, months // 2))")
    p.add_argument("--cadence-months", type=int, default=3,
                   help="months between attribution runs (default 3: quarterly)")
    p.add_argument("--minimum-attributed", type=int, default=None, metavar="N",
                   help="every program's minimum volume (default: each program's own, 125)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_run)


def sim_config(args: argparse.Namespace):
    from claimsim.events.programs import ProgramKind, ProgramSettings
    from claimsim.simulator.config import RegionConfig, SimConfig

    try:
        start = dt.date.fromisoformat(args.start)
    except ValueError:
        raise UserError(f"--start: not an ISO date: {args.start!r}") from None
    if start.day != 1:
        raise UserError(f"--start must be the first day of a month, got {start}")
    for name in ("members", "months"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name} must be at least 1")
    if not 1 <= args.months <= 24:
        raise UserError("--months must be between 1 and 24")
    region = RegionConfig()
    if args.minimum_attributed is not None:
        if args.minimum_attributed < 0:
            raise UserError("--minimum-attributed must be at least 0")
        region = RegionConfig(programs={
            kind: ProgramSettings(kind=kind, minimum_attributed=args.minimum_attributed)
            for kind in ProgramKind})
    return SimConfig(members=args.members, months=args.months, seed=args.seed, start=start,
                     region=region)


def cmd_run(args: argparse.Namespace) -> int:
    from claimsim.simulator.run_dir import check_empty_run_dir

    from claimsim.scenarios.report import write_reports
    from claimsim.scenarios.runclock import ClockSettings, run

    config = sim_config(args)
    if args.baseline_months is not None and not 1 <= args.baseline_months < args.months:
        raise UserError("--baseline-months must be at least 1 and less than --months")
    if not 1 <= args.cadence_months <= 12:
        raise UserError("--cadence-months must be between 1 and 12")
    out = Path(args.out)
    check_empty_run_dir(out)
    settings = ClockSettings(baseline_months=args.baseline_months,
                             cadence_months=args.cadence_months)
    began = time.perf_counter()
    result = run(config, out, settings=settings,
                 progress=not args.no_progress and sys.stderr.isatty())
    plan = result.plan
    paid = [b for b in plan.boundaries if b < plan.service_end]
    as_of = paid[-1] if paid else plan.boundaries[-1]
    years = list(range(int(plan.start[:4]), int(plan.service_end[:4]) + (plan.service_end[5:] != "01-01")))
    text, files = write_reports(out, result.state, accuracy_as_of=as_of, years=years)
    print(text)
    print(f"\nepochs: baseline to {plan.boundaries[0]}, boundaries {', '.join(plan.boundaries)};"
          f" ledger {result.ledger_events:,} events; {time.perf_counter() - began:.1f} s")
    print("reports: " + ", ".join(str(f) for f in files))
    return 0
