"""`claimsim demo`: the README's main job. A small built-in region simulated, adjudicated on the
embedded runtime, every log verified, and a summary table printed and written as CSV.

It is the front door, so it only composes what the packages already do: the simulator writes
the run directory, the run clock pays it epoch by epoch (attribution, practice status,
prospective payments, snapshots), and the table below is a projection of the ledger.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from claimsim.events.errors import UserError
from claimsim.events.signing import Signer
from claimsim.events.log import read
from claimsim.events.log_verify import verify
from claimsim.events.money import dollars
from claimsim.events.projection import ProjectionRunner
from claimsim.events.reference import ReferenceData

from claimsim.adjudication.audit.tables import write_csv

DEFAULT_OUT = Path("runs/demo")
LOGS = ("input", "truth", "ledger")
# Line money summed per payer x program: member cost share is what members owe (the lines' cost
# share less the QMB part Medicaid pays, DOMAIN.md §5), with Medicaid's part beside it.
MONEY = ("allowed", "plan_paid", "member_cost_share", "medicaid_cost_share", "cap_offset",
         "sequestration")


@dataclass
class ProgramTotals:
    lines: int = 0
    shadow_lines: int = 0
    denied_lines: int = 0
    money: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MONEY, 0))
    prospective: int = 0


class LedgerSummary:
    """Totals per payer x program over adjudicated lines (reversals net out)."""

    name = "demo_summary"

    def __init__(self, reference: ReferenceData):
        self.reference = reference
        self.totals: dict[tuple[str, str], ProgramTotals] = {}
        self.rejections: dict[str, int] = {}
        self.counts: dict[str, int] = {}

    def apply(self, env: dict[str, Any]) -> None:
        kind = env["type"]
        self.counts[kind] = self.counts.get(kind, 0) + 1
        data = env["data"]
        if kind == "claim.rejected":
            self.rejections[data["reason"]] = self.rejections.get(data["reason"], 0) + 1
            return
        payer = data.get("payer_id")
        if kind == "payment.prospective":
            first_day = dt.date.fromisoformat(data["month"] + "-01")
            contract = self.reference.contract_on(data["payer_id"], data["practice_id"], first_day)
            program = contract.program.kind.value if contract else "ffs"
            self.totals.setdefault((payer, program), ProgramTotals()).prospective += data["amount"]
            return
        if kind not in ("claim.adjudicated", "claim.reversed"):
            return
        for sign, lines in ((1, data.get("lines", ())), (-1, data.get("reversed_lines", ()))):
            for line in lines:
                totals = self.totals.setdefault((payer, line["program"]), ProgramTotals())
                totals.lines += sign
                totals.shadow_lines += sign * (line["status"] == "shadow")
                totals.denied_lines += sign * (line["status"] == "denied")
                money = totals.money
                money["allowed"] += line["allowed"]
                money["plan_paid"] += line["plan_paid"]
                money["member_cost_share"] += line["cost_share"] - line["medicaid_cost_share"]
                money["medicaid_cost_share"] += line["medicaid_cost_share"]
                money["cap_offset"] += line["cap_offset"]
                money["sequestration"] += line["sequestration"]

    def state(self) -> Any:  # the demo never checkpoints; the Projection protocol asks for it
        return None

    def restore(self, state: Any) -> None:
        raise NotImplementedError("the demo summary is always rebuilt from seq 0")

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for (payer, program), t in sorted(self.totals.items()):
            out.append({"payer_id": payer, "program": program, "lines": t.lines,
                        "shadow_lines": t.shadow_lines, "denied_lines": t.denied_lines, **t.money,
                        "prospective": t.prospective})
        return out


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="the main job: simulate, adjudicate, verify and summarise a small region")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"run directory (default {DEFAULT_OUT})")
    p.add_argument("--members", type=int, default=None, help="initial members (the scenario's: 3000)")
    p.add_argument("--months", type=int, default=None, help="months of care (the scenario's: 12)")
    p.add_argument("--seed", type=int, default=None, help="random seed (the scenario's: 7)")
    p.add_argument("--signing-key", metavar="FILE", default=None,
                   help="an Ed25519 private key (claimsim audit keygen): sign the ledger's heads")
    p.add_argument("--force", action="store_true", help="replace an existing run directory (only ever a claimsim run: its run.json)")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from claimsim.scenarios.run import run_scenario
    from claimsim.scenarios.spec import load, with_overrides

    from claimsim.scenarios.run_state import Stage, inspect_run, not_a_run, replace_run

    out: Path = args.out
    state = inspect_run(out)
    if state.stage is Stage.FOREIGN:
        raise not_a_run(state)  # --force or not: only ever replace a claimsim run
    if state.stage is not Stage.ABSENT and not args.force:
        raise UserError(f"{out}: already holds a run; pass --force to replace it or --out"
                        " elsewhere")
    # The built-in `demo` scenario (scenarios/builtin/demo.toml): every program, a minimum volume
    # scaled to the region's size; the flags override its size and seed. Every flag is checked
    # (and the key read) before `--force` removes the run it replaces.
    _, data, origin = load("demo")
    scenario = with_overrides(data, origin, members=args.members, months=args.months, seed=args.seed)
    signer = Signer.from_file(args.signing_key) if args.signing_key else None
    if state.stage is not Stage.ABSENT:
        replace_run(out)
    print(f"claimsim demo: {scenario.members:,} members, {scenario.months} months, seed {scenario.seed}"
          f" -> {out}", file=sys.stderr)
    result = run_scenario(scenario, out, progress=sys.stderr.isatty(), signer=signer)
    plan = result.clock.plan
    files = result.files

    checks = {name: verify(out / name) for name in LOGS}
    for name, check in checks.items():
        if not check.ok:
            raise UserError(f"{out / name}: chain broken at seq {check.seq}: {check.message}")

    projection = LedgerSummary(ReferenceData.load(out))
    ProjectionRunner(out / "ledger", projection).run()
    rows = projection.rows()
    reports = out / "reports"
    write_csv(reports / "demo_summary.csv", rows, columns=["payer_id", "program", "lines"])

    _print_summary(out, plan.boundaries, projection, rows, checks, [*files, reports / "demo_summary.csv"])
    return 0


def _print_summary(out: Path, boundaries: list, projection: LedgerSummary, rows: list[dict[str, Any]],
                   checks: dict, files: list[Path]) -> None:
    """What the run did, its table, its logs' checks, its files, and what to try next."""
    summary = orjson.loads((out / "run.json").read_bytes())["summary"]
    claims = projection.counts.get("claim.adjudicated", 0)
    print()
    # `--members` is the population on the first day (whole families, so it may pass by a few);
    # families keep joining, so more members are simulated than asked for: say both
    print(f"Simulated {summary['members_ever']:,} members in {summary['families_ever']:,} families"
          f" ({summary['members']:,} members at the start, then {summary['new_families']:,}"
          " families joining);"
          f" {summary['claims']:,} claims submitted ({sum(summary['faults_by_kind'].values()):,} with"
          f" injected faults); {summary['avoidable_referrals']:,} of {summary['referrals']:,}"
          " referrals avoidable.")
    print(f"Paid in {len(boundaries)} epochs (baseline to {boundaries[0]}): {claims:,} claims"
          f" adjudicated, {projection.counts.get('claim.reversed', 0):,} voided,"
          f" {projection.counts.get('claim.rejected', 0):,} rejected ({_reasons(projection.rejections)}),"
          f" {projection.counts.get('payment.prospective', 0):,} prospective payments,"
          f" {projection.counts.get('snapshot.taken', 0):,} monthly snapshots.")
    print()
    _print_table(rows)
    print()
    for name, check in checks.items():
        print(f"  {name + '/':<8} {check.count:>9,} events, hash chain verified")
    print(f"  reports: {', '.join(str(f) for f in files)}")
    practice = _example_practice(out / "reports" / "practices.csv")
    month = str(boundaries[0])[:7]  # the program period's first month: prospective payments
    print(f"  next: claimsim audit explain payment {out} {practice} {month}   |   claimsim log stats"
          f" {out}/ledger")
    print("  what-if: claimsim scenarios   |   claimsim whatif cpcplus --vary programs.cpcplus_t2.hybrid_bp=0,4000,6500")
    print(f"  open the report (charts, and what each figure means): {out / 'reports' / 'index.html'}")


def _example_practice(practices_csv: Path) -> str:
    """A primary-care practice in a payment program (one `audit explain payment` has most to say
    about), from the report's practices table; `PRACTICE` if it has none."""
    if not practices_csv.exists():
        return "PRACTICE"
    with open(practices_csv, newline="") as f:
        for row in csv.DictReader(f):
            if row["practice_kind"] == "primary_care" and row["program"] != "ffs":
                return row["practice_id"]
    return "PRACTICE"


def _reasons(rejections: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(rejections.items(), key=lambda kv: -kv[1])) or "none"


def _print_table(rows: list[dict[str, Any]]) -> None:
    money = ("allowed", "plan_paid", "member_cost_share", "medicaid_cost_share", "cap_offset",
             "prospective")
    header = ("payer", "program", "lines", "shadow", "allowed", "FFS plan paid",
              "member cost share", "Medicaid (QMB) cost share", "capitation offset", "prospective")
    body = [(r["payer_id"], r["program"], f"{r['lines']:,}", f"{r['shadow_lines']:,}",
             *(dollars(r[k]) for k in money)) for r in rows]
    totals = ("total", "", f"{sum(r['lines'] for r in rows):,}", f"{sum(r['shadow_lines'] for r in rows):,}",
              *(dollars(sum(r[k] for r in rows)) for k in money))
    table = [header, *body, totals]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        if i == len(table) - 1:
            print("  ".join("-" * w for w in widths))
        print("  ".join(c.ljust(w) if j < 2 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths))))
