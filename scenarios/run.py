"""Running one scenario end to end, `claimsim run SCENARIO` as a library call: simulate its
region, pay it epoch by epoch with the run clock, then write the reports (the projections' CSVs, the
practice x payer table as CSV and Parquet, the checks against the ledger, a PNG chart) and
return the summary a user reads.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from claimsim.events.calendar import add_months
from claimsim.events.log import last_envelope
from claimsim.events.money import div_round_half_up, dollars

from claimsim.scenarios import aligned_charts, charts, html_report, tables
from claimsim.scenarios.aligned_report import start_aligned
from claimsim.scenarios.aligned_report import text as aligned_text
from claimsim.scenarios.child import in_child
from claimsim.scenarios.region import simulate_scenario
from claimsim.scenarios.report import REPORT_STEPS, REPORTS, ReportSteps, write_reports
from claimsim.scenarios.run_state import checkpoint_at_end, unmark_paid
from claimsim.scenarios.runclock import (ClockResult, Plan, embedded_runtime, kafka_runtime, pay,
                                         save_checkpoint)
from claimsim.scenarios.spec import Scenario


@dataclass
class ScenarioResult:
    run_dir: Path
    clock: ClockResult
    rows: list[dict[str, Any]]  # practice x payer, over the window
    checks: list[dict[str, Any]]  # report totals vs the ledger
    files: list[Path]
    aligned: dict[str, list[dict[str, Any]]]  # the aligned-payer tables (scenarios.aligned_report)

    @property
    def window(self) -> tables.Window:
        return tables.Window.of(self.clock.plan)


def run_scenario(scenario: Scenario, out: Path | str, *, progress: bool = False,
                 charts_too: bool = True, kafka=None, signer=None,
                 simulated: bool = False, simulate_apart: bool = False) -> ScenarioResult:
    """Simulate, pay (on the scenario's runtime) and report `scenario` into the fresh directory
    `out`. `kafka`: a `streaming.runtime.KafkaOptions`, broker and partitions for the Kafka runtime
    (default: the environment's). `simulated`: `out` already holds this scenario's finished
    simulation (a resumed run). `simulate_apart`: simulate in a child process (`claimsim run`)."""
    out = Path(out)
    if not simulated and simulate_apart:
        simulate_in_child(scenario, out, progress=progress)
    elif not simulated:
        simulate_scenario(scenario, out, progress=progress)
    return pay_and_report(scenario, out, months=scenario.months, progress=progress,
                          charts_too=charts_too, kafka=kafka, signer=signer)


def pay_and_report(scenario: Scenario, out: Path, *, months: int, progress: bool = False,
                   charts_too: bool = True, kafka=None, signer=None) -> ScenarioResult:
    """Pay a prepared run directory (simulated, or history under the scenario's programs) on the
    scenario's runtime, epoch by epoch, and write its reports. `signer`: an
    `events.signing.Signer` whose key signs the ledger's heads."""
    runtime = kafka_runtime(kafka) if scenario.runtime == "kafka" else embedded_runtime
    clock = pay(out, settings=scenario.clock, months=months, progress=progress, runtime=runtime,
                signer=signer)
    return write_run_reports(scenario, out, clock, charts_too=charts_too, progress=progress)


def report_paid(scenario: Scenario, out: Path, *, progress: bool = False,
                charts_too: bool = True) -> ScenarioResult:
    """The reports of a run whose payment finished (`run_state.paid_in_full`: its checkpoint
    names the ledger's last entry) and whose reports did not: the payer state rebuilt by folding
    the ledger from seq 0 (`audit.run_dir.fold`, what `audit verify` compares the checkpoint
    with; the ledger is not adjudicated again), then the reports an uninterrupted run writes.
    The checkpoint itself is not read back: at a million members it is some 0.6 GB of JSON,
    several GB decoded, where the fold keeps the state packed. A run stopped while it wrote the
    checkpoint (`run_state.PAID_MARK`), or whose checkpoint names another entry than the
    ledger's last, gets it from the fold: the bytes the payment would have written (`audit
    verify` holds a checkpoint to the fold's state, piece by piece)."""
    from claimsim.adjudication.audit.run_dir import fold

    ledger = out / "ledger"
    last = last_envelope(ledger)
    entries = 0 if last is None else last["seq"] + 1
    bar = tqdm(total=entries, unit="entry", file=sys.stderr, disable=not progress,
               mininterval=0.5, desc="folding the ledger")
    with bar:
        state = fold(out, on_progress=bar.update)
    if last is not None and not checkpoint_at_end(out):  # stopped while written, or edited
        save_checkpoint(out, state, last["seq"], last["hash"])
    unmark_paid(out)
    clock = ClockResult(out, Plan.load(out), state, entries)
    return write_run_reports(scenario, out, clock, charts_too=charts_too, progress=progress)


RUN_STEPS = 5  # the calls of `step` in `write_run_reports` past `write_reports`, charts included


def write_run_reports(scenario: Scenario, out: Path, clock: ClockResult, *,
                      charts_too: bool = True, progress: bool = False) -> ScenarioResult:
    """Every report of a paid run into `out/reports`, checks.csv last (`run_state.REPORT_LAST`),
    with a bar over the steps when `progress`."""
    plan = clock.plan
    window = tables.Window.of(plan)
    years = list(range(int(plan.start[:4]), int(add_months(plan.service_end, -1)[:4]) + 1))
    reports = out / REPORTS
    # The aligned-payer facts are folded first, at a payer's scale in a child process on the
    # other core while this one writes the reports before them (`aligned_report.AlignedJob`).
    with ReportSteps(progress, REPORT_STEPS + RUN_STEPS - (0 if charts_too else 1)) as step, \
            start_aligned(out, clock.state, window.as_of, years) as aligned_job:
        written = write_reports(out, clock.state, accuracy_as_of=window.as_of, years=years,
                                step=step)
        files = written.files
        step("practices.csv, practices.parquet")
        rows = tables.practice_rows(out, clock.state, plan)
        step("checks against the ledger")
        checks = tables.reconciliation(out, clock.state)
        files += tables.write_both(reports, "practices", rows)
        # checks.csv is written last of all (below): its being there says the run is complete
        # (`run_state.REPORT_LAST`), so a run stopped while it reports is resumed, not taken as
        # done.
        files.append(reports / "checks.csv")
        step("aligned-payer reports")
        aligned_files, aligned = aligned_job.finish()
        files += aligned_files
        if charts_too:
            step("charts and index.html")
            files += _charts_and_page(scenario, reports, clock.state, window, rows, aligned,
                                      written, checks)
        step("checks.csv")
        tables.write_csv(reports / "checks.csv", checks)
    return ScenarioResult(out, clock, rows, checks, files, aligned)


def _charts_and_page(scenario: Scenario, reports: Path, state, window: tables.Window,
                     rows: list[dict[str, Any]], aligned: dict[str, list[dict[str, Any]]],
                     written, checks: list[dict[str, Any]]) -> list[Path]:
    """The run's PNG charts and its HTML report (index.html), which shows them."""
    span = f"{window.months[0]}..{window.months[-1]}" if window.months else ""
    made = [
        (charts.practice_revenue(reports / "practice_revenue.png", rows,
                                 title=f"{scenario.scenario}: revenue by practice, {span}"),
         "Revenue of each primary-care practice from all payers over the program period:"
         " FFS paid and prospective payments, with the practice's programs under its id"
         f" (past {charts.MAX_BARS} practices, those with the most revenue)."),
        (charts.practice_leakage(reports / "practice_leakage.png", rows,
                                 title=f"{scenario.scenario}: leakage cost by practice, {span}"),
         "Leakage cost per primary-care practice: observed in claims (capitated services paid"
         " elsewhere) beside the true cost of its avoidable referrals (simulator truth; past"
         f" {charts.MAX_BARS} practices, those with the most leakage cost)."),
        (aligned_charts.aligned_measures(reports / "aligned_measures.png", aligned,
                                         title=f"{scenario.scenario}: primary-care share and APM mix"),
         "What aligned payers report (DOMAIN.md section 9): each payer's primary-care share of"
         " total medical expense, and its dollars by LAN APM category."),
    ]
    page = html_report.run_report(
        reports, scenario=scenario.scenario, span=span or "(no program months)",
        as_of=window.as_of, payers=by_payer(rows),
        practices=[{**r, "status": practice_status(state, r, window.as_of)} for r in rows],
        accuracy=written.accuracy, checks=checks, reconciliation=written.reconciliation,
        charts=made)
    return [*(path for path, _ in made), page]


def simulate_in_child(scenario: Scenario, out: Path, *, progress: bool = False) -> None:
    """`simulate_scenario` in a forked child process, its errors raised here. The simulator's own
    peak (about 1 GB at 1,000,000 members: the population, the claims in their submission lag)
    then goes back to the operating system before the payer side starts, instead of staying in
    this process's heap under the adjudicator and the projections; the logs it writes are the
    same bytes. The child dies with this process (Linux's parent-death signal)."""
    in_child(simulate_scenario, scenario, out, progress, fresh=False)


def practice_status(state, row: dict[str, Any], as_of: str) -> str:
    """A practice's status with a payer at `as_of`: its program in force, an FFS fallback under
    the program's minimum volume (DOMAIN.md §4), or FFS (no program)."""
    if row["program"] == "ffs":
        return "FFS"
    entry = state.status_on(row["payer_id"], row["practice_id"], as_of)
    if entry is None or entry[1]:
        return "active"
    return f"FFS fallback ({entry[4]})" if entry[4] else "FFS fallback"


# -- the readable summary ---------------------------------------------------------------------------
def by_practice(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Primary-care practices with every payer added up (DOMAIN.md §8: what a practice receives
    from all payers together), then one row for every other practice."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        key = r["practice_id"] if r["practice_kind"] == "primary_care" else "(other practices)"
        groups.setdefault(key, []).append(r)
    out = []
    for key, members in sorted(groups.items(), key=lambda kv: (kv[0].startswith("("), kv[0])):
        programs = sorted({r["program"] for r in members if r["member_months"]}) or ["ffs"]
        out.append({"practice": key, "programs": "/".join(programs), **tables.total(members),
                    **_risk(members)})
    return out


def by_payer(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r["payer_id"], []).append(r)
    return [{"payer": k, **tables.total(v), **_risk(v)} for k, v in sorted(groups.items())]


def _risk(rows: list[dict[str, Any]]) -> dict[str, int | None]:
    n = sum(r["attributed"] for r in rows)
    return {name: None if any(r[name] is None for r in rows) else
            (sum(r[name] * r["attributed"] for r in rows) // n if n else 0)
            for name in ("risk_observed_milli", "risk_true_milli")}


SUMMARY_COLUMNS = (
    ("member_months", "member months", "n"), ("prospective", "prospective", "$"),
    ("ffs_paid", "FFS paid", "$"), ("prospective_share_bp", "% prosp.", "%"),
    ("avoidable_referrals", "leakage true (refs)", "n"),
    ("leakage_rate_observed_bp", "leakage obs. %", "%"),
    ("leakage_cost_true", "leak. cost true", "$"), ("leakage_cost_observed", "leak. cost obs.", "$"),
    ("member_cost_share", "member cost share", "$"),
    ("medicaid_cost_share", "Medicaid (QMB) cost share", "$"),
    ("attribution_accuracy_bp", "attr. acc. %", "%"),
    ("risk_observed_milli", "risk obs.", "r"), ("risk_true_milli", "risk true", "r"),
)


# A percentage's parts in a summary row: printed from them, rounded once to a tenth of a per cent
# (from the row's rounded basis points it was rounded twice: 109/159 = 68.55 % printed 68.5).
PERCENT_PARTS = {"prospective_share_bp": ("prospective", "net_revenue"),
                 "leakage_rate_observed_bp": ("leakage_visits", "qualifying_visits"),
                 "attribution_accuracy_bp": ("true_panel_attributed", "true_panel")}


def _percent(row: dict[str, Any], name: str) -> str | None:
    part, whole = (row.get(k) for k in PERCENT_PARTS.get(name, ("", "")))
    if part is None or whole is None:
        return None
    tenths = div_round_half_up(part * 1000, whole) if whole > 0 else 0
    return f"{tenths / 10:.1f}"


def _cell(value: int | None, kind: str) -> str:
    if value is None:
        return "n/a"
    if kind == "$":
        return dollars(value)
    if kind == "%":
        return f"{value / 100:.1f}"
    if kind == "r":
        return f"{value / 1000:.2f}"
    return f"{value:,}"


def text_table(rows: list[dict[str, Any]], first: tuple[str, ...]) -> str:
    header = [*first, *(label for _, label, _ in SUMMARY_COLUMNS)]
    body = [[str(r[c]) for c in first]
            + [(kind == "%" and r[name] is not None and _percent(r, name)) or _cell(r[name], kind)
               for name, _, kind in SUMMARY_COLUMNS]
            for r in rows]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    n = len(first)
    lines = ["  ".join(c.ljust(w) if i < n else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
             for row in [header, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


NAMED_PER_PROGRAM = 6  # practices named in the warning per program; the rest are counted


def minimum_volume_warning(rows: list[dict[str, Any]], state: Any) -> str | None:
    """One warning naming the practices whose program fell back to FFS for lack of attributed
    members in some paid epoch, by program, with the setting that decides it (a hybrid % that
    "does nothing" in a small run is usually this). A program names its first
    `NAMED_PER_PROGRAM` practices and counts the rest (a large region can have hundreds, one per
    small payer panel); `reports/practices.csv` has them all."""
    below: dict[str, dict[str, int]] = {}
    for r in rows:
        if r.get("epochs_below_minimum"):
            counts = below.setdefault(r["program"], {})
            counts[r["practice_id"]] = max(counts.get(r["practice_id"], 0), r["epochs_below_minimum"])
    if not below:
        return None
    minimum = {c.program.kind.value: c.program.minimum_attributed for c in state.reference.contracts}
    parts = []
    for program, counts in sorted(below.items()):
        named = sorted(counts.items())[:NAMED_PER_PROGRAM]
        listed = ", ".join(f"{p} ({n} epoch{'s' if n > 1 else ''})" for p, n in named)
        more = len(counts) - len(named)
        parts.append(f"{program} (minimum {minimum.get(program, '?')}): {listed}"
                     + (f" and {more:,} more ({len(counts):,} practices)" if more else ""))
    return ("warning: practices below minimum volume were paid FFS (no hybrid, no prospective"
            " payments) in some epochs: " + "; ".join(parts) + ". The setting is"
            " region.programs.<program>.minimum_attributed (or --minimum-attributed N);"
            " reports/practices.csv marks them in epochs_below_minimum.")


def summary_text(result: ScenarioResult) -> str:
    w = result.window
    span = f"{w.months[0]}..{w.months[-1]}" if w.months else "(no program months)"
    bad = [c["check"] for c in result.checks if not c["ok"]]
    text = [f"program period {span} (attribution and risk as of {w.as_of})", "",
            text_table(by_practice(result.rows), ("practice", "programs")), "",
            text_table(by_payer(result.rows), ("payer",)), "",
            aligned_text(result.aligned), "",
            "checks against the ledger: " + ("all reconcile" if not bad else "MISMATCH: " + "; ".join(bad))]
    if not tables.has_truth(result.run_dir):
        text.append(f"true leakage, attribution accuracy and true risk (n/a): {tables.NOT_AVAILABLE}")
    warning = minimum_volume_warning(result.rows, result.clock.state)
    if warning:
        text += ["", warning]
    return "\n".join(text)
