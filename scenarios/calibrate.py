"""`claimsim calibrate SCENARIO`: simulate a scenario and compare its utilization with the
calibration table (`events.calibration`), row by row, with the relative error.

The measurement reads only events, as a payer would (enrollment and claims from the input log;
the true PCP and referrals from the truth log), so it works on a live simulation (sinks) or a
finished run directory alike. A row fails when it is off by more than the tolerance (a setting,
default 10 %); the command exits 1 when any row fails, 2 on a user error.

Choices where DOMAIN.md is silent: a scenario smaller than `MIN_MEMBERS` is simulated at that size
with its own rates (a 3,000-member demo has ~400 Medicare Advantage members: sampling error alone
would put ED visits 7 % off, and children's cells are smaller still), and the report says so;
claims count once per claim id (duplicates, replacements and voids are the same service), by the
member's age band at the run's start.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claimsim.events.calibration import (
    CELLS,
    SOURCES,
    TARGETS,
    AgeBand,
    Metric,
    Target,
    age_band,
)
from claimsim.events.codes import PROCEDURE_GROUPS, ProcedureGroup
from claimsim.events.errors import UserError
from claimsim.events.plans import LineOfBusiness

MIN_MEMBERS = 50_000
DEFAULT_TOLERANCE_BP = 1000

_OFFICE_EM = frozenset({ProcedureGroup.PC_EM, ProcedureGroup.SPECIALIST_EM})
_GROUP = {code: group for code, group in PROCEDURE_GROUPS.items()}


@dataclass(slots=True)
class CellCounts:
    """What one line of business x age band produced (counts, member-days)."""

    member_days: int = 0
    claims: int = 0
    lines: int = 0
    pcp_em: int = 0
    own_pcp_em: int = 0
    specialist_em: int = 0
    ed: int = 0
    facility_em: int = 0
    lab: int = 0
    imaging: int = 0
    referrals: int = 0

    def value(self, metric: Metric) -> float:
        years = self.member_days / 365.25
        office = self.pcp_em + self.specialist_em
        per = {
            Metric.CLAIMS: (self.claims, years),
            Metric.PCP_EM: (self.pcp_em, years),
            Metric.SPECIALIST_EM: (self.specialist_em, years),
            Metric.ED: (self.ed, years),
            Metric.FACILITY_EM: (self.facility_em, years),
            Metric.LAB_PER_VISIT: (self.lab, office),
            Metric.IMAGING_PER_VISIT: (self.imaging, office),
            Metric.OWN_PCP_SHARE: (self.own_pcp_em, self.pcp_em),
            Metric.REFERRALS: (self.referrals, self.pcp_em),
            Metric.LINES_PER_CLAIM: (self.lines, self.claims),
        }[metric]
        return per[0] / per[1] if per[1] else 0.0


@dataclass
class Measurement:
    """Folds input and truth events into counts per cell (feed it events in any interleaving)."""

    start: dt.date
    service_end: dt.date
    lob_of_payer: dict[str, LineOfBusiness]
    cells: dict[tuple[LineOfBusiness, AgeBand], CellCounts] = field(default_factory=dict)
    _cell_of: dict[str, tuple[LineOfBusiness, AgeBand]] = field(default_factory=dict)
    _span: dict[str, list[dt.date]] = field(default_factory=dict)  # member -> [start, end+1]
    _pcp: dict[str, tuple[list[str], list[str | None]]] = field(default_factory=dict)
    _seen: set[str] = field(default_factory=set)
    _referrals: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))

    def input(self, event: dict[str, Any]) -> None:
        kind, data = event["type"], event["data"]
        if kind == "claim.submitted":
            self._claim(data["claim"])
        elif kind == "member.enrolled":
            birth = dt.date.fromisoformat(str(data["birth_date"]))
            age = self.start.year - birth.year - ((self.start.month, self.start.day)
                                                  < (birth.month, birth.day))
            lob = self.lob_of_payer[data["payer_id"]]
            self._cell_of[data["member_id"]] = (lob, age_band(max(0, age)))
            end = data.get("end")
            self._span[data["member_id"]] = [
                dt.date.fromisoformat(str(data["start"])),
                dt.date.fromisoformat(str(end)) + dt.timedelta(days=1) if end else self.service_end]
        elif kind == "member.terminated" and data["member_id"] in self._span:
            self._span[data["member_id"]][1] = dt.date.fromisoformat(str(data["end"])) \
                + dt.timedelta(days=1)

    def truth(self, event: dict[str, Any]) -> None:
        kind, data = event["type"], event["data"]
        if kind == "truth.member":
            self._pcp.setdefault(data["member_id"], ([""], [data["true_pcp"]]))
        elif kind == "truth.pcp_changed":
            dates, pcps = self._pcp.setdefault(data["member_id"], ([""], [None]))
            dates.append(str(data["effective"]))
            pcps.append(data["to_practice"])
        elif (kind == "truth.referral" and data["to_practice"].startswith("SP")
              and not data["avoidable"]):
            # Counted per member and resolved to a cell in `finish` (truth may run ahead).
            self._referrals[data["member_id"]] += 1

    def _counts(self, cell: tuple[LineOfBusiness, AgeBand]) -> CellCounts:
        counts = self.cells.get(cell)
        if counts is None:
            counts = self.cells[cell] = CellCounts()
        return counts

    def _claim(self, claim: dict[str, Any]) -> None:
        cid, lines = claim.get("claim_id"), claim.get("lines")
        if claim.get("frequency") != "1" or cid in self._seen or not isinstance(lines, list):
            return
        cell = self._cell_of.get(claim.get("member_id"))
        if cell is None:
            return
        self._seen.add(cid)
        c = self._counts(cell)
        c.claims += 1
        c.lines += len(lines)
        tin = str(claim.get("billing_tin"))
        for line in lines:
            group = _GROUP.get(line.get("procedure")) if isinstance(line, dict) else None
            if group in _OFFICE_EM:
                if tin.startswith("PC"):
                    c.pcp_em += 1
                    if tin == self._pcp_on(claim["member_id"], str(line.get("service_date"))):
                        c.own_pcp_em += 1
                elif tin.startswith("SP"):
                    c.specialist_em += 1
            elif group is ProcedureGroup.ED:
                c.ed += 1
            elif group is ProcedureGroup.FACILITY_EM:
                c.facility_em += 1
            elif group is ProcedureGroup.LAB:
                c.lab += 1
            elif group is ProcedureGroup.IMAGING:
                c.imaging += 1

    def _pcp_on(self, member: str, day: str) -> str | None:
        dates, pcps = self._pcp.get(member, ([""], [None]))
        return pcps[bisect_right(dates, day) - 1]

    def finish(self) -> None:
        """Member-days inside the service window, per cell (call once, after every event)."""
        for member, (lo, hi) in self._span.items():
            days = (min(hi, self.service_end) - max(lo, self.start)).days
            if days > 0:
                self._counts(self._cell_of[member]).member_days += days
        for member, n in self._referrals.items():
            if member in self._cell_of:
                self._counts(self._cell_of[member]).referrals += n


@dataclass(frozen=True, slots=True)
class Row:
    target: Target
    simulated: float
    member_years: float

    @property
    def error(self) -> float:
        return (self.simulated - self.target.value) / self.target.value

    def ok(self, tolerance_bp: int) -> bool:
        return round(abs(self.error) * 10_000, 6) <= tolerance_bp  # 10.0 % is within 10 %


def rows(measured: Measurement) -> list[Row]:
    out = []
    for t in TARGETS:
        counts = measured.cells.get((t.lob, t.band), CellCounts())
        out.append(Row(t, counts.value(t.metric), counts.member_days / 365.25))
    return out


def measure_config(config, progress: bool = False) -> Measurement:
    """Simulate `config` (no adjudication) and measure it as it runs."""
    from claimsim.simulator.model import simulate
    from claimsim.simulator.region import PAYER_IDS, horizon

    measured = Measurement(config.start, horizon(config)[0],
                           {payer: lob for lob, payer in PAYER_IDS.items()})
    simulate(config, measured.input, measured.truth, progress=progress)
    measured.finish()
    return measured


def measure_run_dir(run_dir: Path, start: dt.date, service_end: dt.date) -> Measurement:
    """Measure a finished run directory (its input/ and truth/ logs)."""
    from claimsim.events.log import read
    from claimsim.simulator.region import PAYER_IDS

    measured = Measurement(start, service_end, {payer: lob for lob, payer in PAYER_IDS.items()})
    for event in read(run_dir / "truth"):  # first: a claim needs the member's true PCP
        measured.truth(event)
    for event in read(run_dir / "input"):
        measured.input(event)
    measured.finish()
    return measured


def write_csv(path: Path, table: list[Row], tolerance_bp: int) -> None:
    """The calibration table through the reports' one CSV writer (LF, a header always)."""
    from claimsim.adjudication.audit.tables import write_csv as write_table

    columns = ["line_of_business", "age_band", "metric", "target", "simulated", "relative_error",
               "within_tolerance", "member_years", "basis", "sources"]
    rows = []
    for r in table:
        t = r.target
        rows.append(dict(zip(columns, [
            t.lob.value, t.band.value, t.metric.value, f"{t.value:.3f}", f"{r.simulated:.3f}",
            f"{r.error:+.4f}", r.ok(tolerance_bp), f"{r.member_years:.0f}", t.basis,
            ";".join(t.sources)])))
    write_table(path, rows, columns=columns)


def format_table(table: list[Row], tolerance_bp: int) -> str:
    head = (f"{'line of business':<19} {'age':<8} {'metric':<27} {'target':>8} {'simulated':>9}"
            f" {'error':>7}  check")
    out = [head, "-" * len(head)]
    for r in table:
        t = r.target
        out.append(f"{t.lob.value:<19} {t.band.value:<8} {t.metric.value:<27} {t.value:>8.3f}"
                   f" {r.simulated:>9.3f} {r.error:>+7.1%}"
                   f"  {'ok' if r.ok(tolerance_bp) else 'OFF'}")
    return "\n".join(out)


def targets_markdown() -> str:
    """The calibration table as markdown (docs/calibration.md embeds it; a test keeps it current)."""
    out = ["| line of business | age band | metric | target | basis | sources |",
           "| --- | --- | --- | ---: | --- | --- |"]
    for t in TARGETS:
        out.append(f"| {t.lob.value} | {t.band.value} | `{t.metric.value}` | {t.value:g} |"
                   f" {t.basis} | {', '.join(t.sources)} |")
    out += ["", "| source | data year | citation |", "| --- | --- | --- |"]
    for s in SOURCES.values():
        out.append(f"| `{s.key}` | {s.year} | [{s.citation}]({s.url}) |")
    return "\n".join(out) + "\n"


# -- the command ---------------------------------------------------------------------------------
def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="simulate a scenario and compare its utilization with the"
                       " calibration table (per line of business and age band)")
    p.add_argument("scenario", metavar="SCENARIO", help="a built-in scenario or a .toml file")
    p.add_argument("--tolerance-bp", type=int, default=DEFAULT_TOLERANCE_BP,
                   help="largest relative error a row may have, in basis points (default 1000)")
    p.add_argument("--members", type=int, default=None,
                   help=f"members to simulate (default the scenario's, at least {MIN_MEMBERS:,})")
    p.add_argument("--out", type=Path, default=None,
                   help="CSV to write (default calibration-SCENARIO.csv)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from claimsim.scenarios.spec import load, with_overrides

    scenario, data, origin = load(args.scenario)
    if args.tolerance_bp < 0:
        raise UserError(f"--tolerance-bp: must be >= 0, got {args.tolerance_bp}")
    members = args.members if args.members is not None else max(scenario.members, MIN_MEMBERS)
    if members != scenario.members:
        scenario = with_overrides(data, origin, members=members)
    out = args.out or Path(f"calibration-{scenario.scenario}.csv")
    if Path(out).is_dir():
        raise UserError(f"--out {out}: is a folder; name the CSV file to write")
    print(f"claimsim calibrate: {origin}, {members:,} members, {scenario.months} months,"
          f" seed {scenario.seed}; tolerance {args.tolerance_bp / 100:g} %")
    measured = measure_config(scenario, progress=not args.no_progress)
    table = rows(measured)
    print(format_table(table, args.tolerance_bp))
    used = sorted({key for t in TARGETS for key in t.sources})
    print("\nsources:")
    for key in used:
        s = SOURCES[key]
        print(f"  [{key}] {s.citation} ({s.year}) {s.url}")
    write_csv(out, table, args.tolerance_bp)
    off = [r for r in table if not r.ok(args.tolerance_bp)]
    print(f"\n{len(table) - len(off)} of {len(table)} rows within {args.tolerance_bp / 100:g} %;"
          f" wrote {out}")
    if off:
        print(f"calibration FAILED: {len(off)} rows off", file=sys.stderr)
        return 1
    return 0


__all__ = ["CELLS", "Measurement", "Row", "measure_config", "measure_run_dir", "register", "rows"]
