"""The user's main commands: `claimsim run [SCENARIO]`, `claimsim scenarios` and
`claimsim whatif SCENARIO --vary KEY=V1,V2 ...` (DESIGN.md "CLI"). Argument parsing and printing
only; the work is in `run` and `whatif`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

from claimsim.events.errors import UserError

DEFAULT_RUNS = Path("runs")


def add_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run", help="run a scenario: simulate, adjudicate, attribute and pay it epoch by epoch, report",
        description="Run a scenario (a built-in name or a TOML file; none: the default region) on the"
                    " run clock, print a summary per practice and payer, and write the three logs,"
                    " CSV/Parquet tables and PNG charts. The flags below override the scenario.")
    p.add_argument("scenario", nargs="?", default=None, metavar="SCENARIO",
                   help="built-in name (claimsim scenarios) or path to a .toml file")
    p.add_argument("--out", default=None, metavar="RUN_DIR",
                   help="a new or empty directory (default runs/<scenario>)")
    p.add_argument("--signing-key", metavar="FILE", default=None,
                   help="an Ed25519 private key (claimsim audit keygen): sign the ledger's heads")
    p.add_argument("--runtime", choices=("embedded", "kafka"), default=None,
                   help="adjudication runtime (default: the scenario's, embedded)")
    p.add_argument("--partitions", type=int, default=1,
                   help="Kafka runtime: partitions of the run's topics (default 1)")
    p.add_argument("--bootstrap", default=None,
                   help="Kafka runtime: bootstrap servers (default $KAFKA_BOOTSTRAP_SERVERS; one of the two is required)")
    p.add_argument("--members", type=int, default=None, help="initial members")
    p.add_argument("--months", type=int, default=None, help="months of services")
    p.add_argument("--seed", type=int, default=None, help="random seed")
    p.add_argument("--start", default=None, help="first day, a month start (YYYY-MM-01)")
    p.add_argument("--baseline-months", type=int, default=None,
                   help="months paid as if nobody were attributed")
    p.add_argument("--cadence-months", type=int, default=None,
                   help="months between attribution runs (3: quarterly)")
    p.add_argument("--minimum-attributed", type=int, default=None, metavar="N",
                   help="every program's minimum volume")
    p.add_argument("--quality-source", choices=("drawn", "claims"), default=None,
                   help="where PBIP retention and the PCF performance adjustment take the quality"
                        " score from: the reported (drawn) score, or claims (AWV rate, HbA1c"
                        " testing; adds simulated HbA1c tests)")
    p.add_argument("--history", default=None, metavar="RUN_DIR",
                   help="an ingested run (claimsim ingest): pay its claims under the scenario's"
                        " payers and programs instead of simulating (practices by TIN)")
    p.add_argument("--resume", action="store_true",
                   help="finish a run that was interrupted in RUN_DIR (same scenario and flags):"
                        " the steps that did not finish are redone")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_run)


def add_scenarios(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scenarios", help="list the built-in scenarios (or print the file reference)")
    p.add_argument("--reference", action="store_true",
                   help="print the scenario file reference (markdown) instead")
    p.add_argument("--show", metavar="NAME", default=None, help="print a built-in scenario's TOML")
    p.set_defaults(func=cmd_scenarios)


def add_whatif(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "whatif", help="run a scenario at every combination of --vary values, with replicates",
        description="Each point is the scenario with the varied keys changed; replicate r uses"
                    " seed + r at every point (common random numbers). Prints means (± half the"
                    " 95 % interval) and writes whatif.csv/.parquet, replicates.csv/.parquet,"
                    " whatif.png and index.html.")
    p.add_argument("scenario", metavar="SCENARIO", help="built-in name or path to a .toml file")
    p.add_argument("--vary", action="append", required=True, metavar="KEY=V1,V2,...",
                   help="a dotted path into the scenario and its values, e.g."
                        " programs.cpcplus_t2.hybrid_bp=0,2500,4000,6500 (repeat for a grid)")
    p.add_argument("--replicates", type=int, default=1, help="seeds per point (default 1)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="a new or empty directory (default runs/whatif-<scenario>); with"
                        " --resume, the folder of the sweep to go on with")
    p.add_argument("--jobs", type=int, default=None,
                   help="parallel runs (default: one per CPU it may use)")
    p.add_argument("--members", type=int, default=None, help="override the scenario's members")
    p.add_argument("--months", type=int, default=None, help="override the scenario's months")
    p.add_argument("--seed", type=int, default=None, help="base seed (replicate r: seed + r)")
    p.add_argument("--keep-logs", action="store_true", help="keep each run's input/truth/ledger")
    p.add_argument("--history", default=None, metavar="RUN_DIR",
                   help="an ingested run: every point pays its claims instead of simulating")
    p.add_argument("--yes", action="store_true",
                   help="start even a sweep past the size limits (more than"
                        " 1,000 runs or 50 million member-months)")
    p.add_argument("--resume", action="store_true",
                   help="go on with the sweep that stopped part way in --out (the same command):"
                        " finished runs are kept, the others run again")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_whatif)


# -- run -------------------------------------------------------------------------------------------
def _scenario_data(name: str | None) -> tuple[dict[str, Any], str]:
    from claimsim.scenarios.spec import load

    if name is None:
        return {}, "default region"
    _, data, origin = load(name)
    return data, origin


def run_overrides(args: argparse.Namespace, data: dict[str, Any]) -> dict[str, Any]:
    """The scenario as written, with the command line's overrides (each checked with the flag's
    name in the message)."""
    from claimsim.events.programs import ProgramKind
    from claimsim.scenarios.vary import with_value

    data = dict(data)
    for name in ("members", "months", "seed"):
        value = getattr(args, name)
        if value is not None:
            if name != "seed" and value < 1:
                raise UserError(f"--{name} must be at least 1")
            if name == "months" and value > 24:
                raise UserError("--months must be between 1 and 24")
            data[name] = value
    if args.start is not None:
        try:
            start = dt.date.fromisoformat(args.start)
        except ValueError:
            raise UserError(f"--start: not an ISO date: {args.start!r}") from None
        if start.day != 1:
            raise UserError(f"--start must be the first day of a month, got {start}")
        data["start"] = start
    months = data.get("months", 12)
    if args.baseline_months is not None:
        if not 1 <= args.baseline_months < months:
            raise UserError("--baseline-months must be at least 1 and less than --months")
        data = with_value(data, "clock.baseline_months", args.baseline_months)
    if args.cadence_months is not None:
        if not 1 <= args.cadence_months <= 12:
            raise UserError("--cadence-months must be between 1 and 12")
        data = with_value(data, "clock.cadence_months", args.cadence_months)
    if getattr(args, "quality_source", None) is not None:
        data = with_value(data, "clock.projections.quality_source", args.quality_source)
    if args.minimum_attributed is not None:
        if args.minimum_attributed < 0:
            raise UserError("--minimum-attributed must be at least 0")
        for kind in ProgramKind:
            data = with_value(data, f"region.programs.{kind.value}.minimum_attributed",
                              args.minimum_attributed)
    return data


RUN_FLAGS = ("members", "months", "seed", "start", "baseline_months", "cadence_months",
             "quality_source", "minimum_attributed")


def with_flags(origin: str, args: argparse.Namespace, names: tuple[str, ...]) -> str:
    """`origin` naming the flags given (`demo.toml with --seed -1`), so an error a flag caused
    is not laid at the scenario file's door."""
    given = [f"--{n.replace('_', '-')} {v}" for n in names
             if (v := getattr(args, n, None)) is not None]
    return f"{origin} with {', '.join(given)}" if given else origin


def _signer(path: str | None):
    """The `--signing-key` file's signer (events.signing), or None for an unsigned run."""
    if path is None:
        return None
    from claimsim.events.signing import Signer

    return Signer.from_file(path)


def cmd_run(args: argparse.Namespace) -> int:
    import orjson

    from claimsim.adjudication.runtimes.streaming.runtime import KafkaOptions
    from claimsim.scenarios.run import summary_text
    from claimsim.scenarios.run_state import (Stage, inspect_run, prepare_resume, refuse_existing,
                                              resumes_reports_only)
    from claimsim.scenarios.spec import validate

    data, origin = _scenario_data(args.scenario)
    if args.history is not None:
        _no_simulation_flags(args, ("members", "months", "seed", "start"))
    scenario = validate(run_overrides(args, data), with_flags(origin, args, RUN_FLAGS))
    if args.runtime is not None:
        scenario = scenario.model_copy(update={"runtime": args.runtime})
    suffix = "-history" if args.history is not None else ""
    out = Path(args.out) if args.out else DEFAULT_RUNS / (scenario.scenario + suffix)
    if args.partitions < 1:
        raise UserError("--partitions must be at least 1")
    kafka = KafkaOptions(bootstrap=args.bootstrap, partitions=args.partitions)
    if scenario.runtime == "kafka" and not (args.resume and resumes_reports_only(out)):
        # Before anything is simulated: a run that cannot be paid should not write its input.
        from claimsim.adjudication.runtimes.streaming.topics import bootstrap_from_env, require_broker

        kafka = KafkaOptions(bootstrap=require_broker(bootstrap_from_env(args.bootstrap)),
                             partitions=args.partitions)
        print(f"claimsim run: Kafka broker {kafka.bootstrap}", file=sys.stderr)
    if args.resume:
        history = None if args.history is None else Path(args.history)
        signer = _signer(args.signing_key)
        state = prepare_resume(out, orjson.loads(scenario.model_dump_json()), history,
                               None if signer is None else signer.key_id)
        if state.stage is Stage.COMPLETE:
            raise UserError(f"{out}: the run is already complete; nothing to resume")
    else:
        state = inspect_run(out)
        refuse_existing(state, orjson.loads(scenario.model_dump_json()))
    began = time.perf_counter()
    result = _run_or_resume(args, scenario, out, state, kafka)
    plan = result.clock.plan
    print(summary_text(result))
    print(f"\nepochs: baseline to {plan.boundaries[0]}, boundaries {', '.join(plan.boundaries)};"
          f" ledger {result.clock.ledger_events:,} events; {time.perf_counter() - began:.1f} s")
    print(f"reports: {out / 'reports'}/ ({', '.join(sorted(p.name for p in result.files))})")
    if (out / "reports" / "index.html").exists():
        print(f"open the report (charts, and what each figure means): {out / 'reports' / 'index.html'}")
    return 0


def _run_or_resume(args: argparse.Namespace, scenario, out: Path, state, kafka):
    """Simulate (or copy the history) and pay into `out`, or, resumed (`state` SIMULATED: the
    simulation or the history's copy kept), pay it again."""
    from claimsim.scenarios.run import pay_and_report, run_scenario
    from claimsim.scenarios.run_state import Stage

    progress = not args.no_progress and sys.stderr.isatty()
    if state.stage is Stage.PAID:  # paid in full (`run_state.prepare_resume`): reports only
        return _report_paid(args, scenario, out, progress)
    resumed = state.stage is Stage.SIMULATED
    signer = _signer(args.signing_key)
    if args.history is not None:
        kept = " (resumed: the history's copy kept, paying again)" if resumed else ""
        print(f"claimsim run {scenario.scenario} --history {args.history}: {scenario.runtime}"
              f" runtime -> {out}{kept}", file=sys.stderr)
        if resumed:
            return pay_and_report(scenario, out, months=state.info["months"], progress=progress,
                                  kafka=kafka, signer=signer)
        from claimsim.scenarios.history import run_history

        return run_history(scenario, Path(args.history), out, progress=progress, kafka=kafka,
                           signer=signer)
    kept = " (resumed: simulation kept, paying again)" if resumed else ""
    print(f"claimsim run {scenario.scenario}: {scenario.members:,} members, {scenario.months}"
          f" months from {scenario.start}, seed {scenario.seed}, {scenario.runtime} runtime"
          f" -> {out}{kept}", file=sys.stderr)
    return run_scenario(scenario, out, progress=progress, kafka=kafka, signer=signer,
                        simulated=resumed, simulate_apart=True)


def _report_paid(args: argparse.Namespace, scenario, out: Path, progress: bool):
    """`run --resume` of a run stopped after its payment: its reports, from its ledger."""
    from claimsim.scenarios.run import report_paid
    from claimsim.scenarios.run_state import checkpoint_at_end

    checkpoint = "" if checkpoint_at_end(out) else " its checkpoint and"
    print(f"claimsim run {scenario.scenario}: resumed {out}: paid in full; writing{checkpoint} its"
          " reports from the ledger (nothing adjudicated again)", file=sys.stderr)
    if args.signing_key is not None:
        print("claimsim run: --signing-key not used: the ledger is whole and not written again",
              file=sys.stderr)
    return report_paid(scenario, out, progress=progress)


def _no_simulation_flags(args: argparse.Namespace, names: tuple[str, ...]) -> None:
    """A history run simulates nothing: the flags that shape a simulation are errors with it."""
    for name in names:
        if getattr(args, name, None) is not None:
            raise UserError(f"--{name} does not apply with --history (the history's claims are paid)")


# -- scenarios --------------------------------------------------------------------------------------
def cmd_scenarios(args: argparse.Namespace) -> int:
    from claimsim.scenarios.spec import builtin_names, builtin_text, describe_builtins

    if args.reference:
        from claimsim.scenarios.reference_doc import reference_markdown

        sys.stdout.write(reference_markdown())
        return 0
    if args.show:
        if args.show not in builtin_names():
            raise UserError(f"{args.show}: not a built-in scenario ({', '.join(builtin_names())})")
        sys.stdout.write(builtin_text(args.show))
        return 0
    rows = describe_builtins()
    width = max(len(n) for n, _ in rows)
    for name, description in rows:
        print(f"{name:<{width}}  {description}")
    print("\nrun one: claimsim run NAME   |   see its file: claimsim scenarios --show NAME"
          "   |   every key: claimsim scenarios --reference")
    return 0


# -- whatif ------------------------------------------------------------------------------------------
def cmd_whatif(args: argparse.Namespace) -> int:
    from claimsim.scenarios import vary, whatif, whatif_report
    from claimsim.scenarios.aligned_report import sweep_text as aligned_sweep_text
    from claimsim.scenarios.spec import validate

    data, origin = _scenario_data(args.scenario)
    history = None
    if args.history is not None:
        from claimsim.scenarios.history import read_history

        _no_simulation_flags(args, ("members", "months", "seed"))
        history = read_history(Path(args.history))
        if args.replicates != 1:
            raise UserError("--replicates: a history run draws nothing at random; use 1")
    for name in ("members", "months"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UserError(f"--{name} must be at least 1")
    data = {**data, **{k: getattr(args, k) for k in ("members", "months", "seed")
                       if getattr(args, k) is not None}}
    scenario = validate(data, with_flags(origin, args, ("members", "months", "seed")))
    axes = [vary.parse_vary(v) for v in args.vary]
    if len({a.path for a in axes}) != len(axes):
        raise UserError("--vary: the same key is varied twice")
    if args.jobs is not None and args.jobs < 1:
        raise UserError("--jobs must be at least 1")
    out = Path(args.out) if args.out else DEFAULT_RUNS / f"whatif-{scenario.scenario}"
    if args.replicates < 1:
        raise UserError("--replicates must be at least 1")
    grid = vary.points(data, axes, origin)
    n = len(grid) * args.replicates
    size = whatif.estimate(grid, args.replicates, history)
    print(f"claimsim whatif {scenario.scenario}: {n:,} runs ({len(grid)} point(s) x {args.replicates:,}"
          f" replicate(s)), about {size.member_months:,} member-months,"
          f" on {whatif.jobs_for(args.jobs, n)} process(es) -> {out}", file=sys.stderr)
    if size.too_big and not args.yes:
        raise UserError(f"{n:,} runs, {size.member_months:,} member-months: past the limits of"
                        f" {whatif.MAX_RUNS:,} runs and {whatif.MAX_MEMBER_MONTHS:,} member-months;"
                        " pass --yes to start it anyway")
    began = time.perf_counter()
    sweep = whatif.run_sweep(scenario, data, axes, out, origin=origin, replicates=args.replicates,
                             jobs=args.jobs, progress=not args.no_progress and sys.stderr.isatty(),
                             keep_logs=args.keep_logs,
                             history=Path(args.history) if args.history else None,
                             resume=args.resume)
    chart_files = whatif_report.write_charts(sweep, out, scenario.scenario)
    files = [*sweep.files, *chart_files,
             whatif_report.write_html(sweep, out, scenario.scenario, chart_files)]
    print(whatif_report.text_table(sweep))
    print("\n" + aligned_sweep_text(sweep.summary, [a.path for a in sweep.axes]))
    print(f"\n{n} runs in {time.perf_counter() - began:.1f} s; files: "
          + ", ".join(str(f) for f in files))
    print(f"open the report (charts, and what each figure means): {out / 'index.html'}")
    return 0
