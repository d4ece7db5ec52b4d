"""Reports of a paid run: a short summary table (per payer x program) printed by `claimsim run`,
and CSV files in RUN_DIR/reports/ a user can open: the monthly snapshots, the summary, the final
attribution lists, year-end reconciliation and attribution accuracy against the truth log.

Everything here reads projections (PayerState) and the truth log; nothing is written to a log.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from tqdm import tqdm

from claimsim.events.log import read

from claimsim.adjudication.audit.tables import (ATTRIBUTION_COLUMNS, accuracy_rows,
                                                each_attribution_run, iter_attribution_rows,
                                                snapshot_rows, table, true_pcps, write_csv)
from claimsim.adjudication.projections.reconciliation import year_figures
from claimsim.adjudication.projections.state import PayerState

from claimsim.scenarios.tables import ledger_scan, ratio_bp

REPORTS = "reports"
SUMMARY_FIGURES = ("member_months", "prospective_total", "prospective_adjustments",
                   "ffs_paid_by_service_date", "capitation_offsets", "member_cost_share",
                   "medicaid_cost_share", "shadow_ffs", "leakage_cost", "net")
IDS = ["payer_id", "practice_id"]


def _program(state: PayerState, payer: str, practice: str, month: str) -> str:
    contract = state.reference.contract_on(payer, practice, dt.date.fromisoformat(month + "-01"))
    return contract.program.kind.value if contract else "ffs"


def summary_rows(state: PayerState, snapshots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Snapshot figures summed per payer x program (a practice's program in each month)."""
    totals: dict[tuple[str, str], dict[str, int]] = {}
    for row in snapshots:
        key = (row["payer_id"], _program(state, row["payer_id"], row["practice_id"], row["month"]))
        agg = totals.setdefault(key, dict.fromkeys(SUMMARY_FIGURES, 0))
        for name in SUMMARY_FIGURES:
            agg[name] += row[name]
    return [{"payer_id": p, "program": prog, **agg} for (p, prog), agg in sorted(totals.items())]


def reconciliation_rows(state: PayerState, years: list[int]) -> list[dict[str, Any]]:
    rows = []
    keys = sorted({tuple(k.split("|")[:2]) for k in state.paid_original})
    for year in years:
        for payer, practice in keys:
            row = year_figures(state, payer, practice, year)
            prospective = row.pop("prospective")
            rows.append({**row, **{f"paid_{k}": v for k, v in prospective.items()}})
    return rows


def leakage_rows(run_dir: Path, state: PayerState, snapshots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Observed leakage (claims the payer sees) beside the truth (the simulator's referrals and
    whether each was avoidable), per payer x primary-care practice over the run. The cost of an
    avoidable referral is the plan paid on the claim it produced."""
    truth_dir = Path(run_dir) / "truth"
    referrals = _referrals(truth_dir)
    paid = _plan_paid(run_dir, {r.claim_id for r in referrals if r.avoidable and r.claim_id})
    rows: dict[tuple[str, str], dict[str, int]] = {}
    for r in snapshots:
        if r["qualifying_visits"] or r["leakage_cost"]:
            agg = rows.setdefault((r["payer_id"], r["practice_id"]), dict.fromkeys(
                ("qualifying_visits", "leakage_visits", "leakage_cost", "referrals",
                 "avoidable_referrals", "avoidable_cost"), 0))
            for k in ("qualifying_visits", "leakage_visits", "leakage_cost"):
                agg[k] += r[k]
    for ref in referrals:
        member = state.members.get(ref.member_id)
        if member is None:
            continue
        agg = rows.setdefault((member["payer"], ref.from_practice), dict.fromkeys(
            ("qualifying_visits", "leakage_visits", "leakage_cost", "referrals",
             "avoidable_referrals", "avoidable_cost"), 0))
        agg["referrals"] += 1
        if ref.avoidable:
            agg["avoidable_referrals"] += 1
            agg["avoidable_cost"] += paid.get(ref.claim_id or "", 0)
    out = [{"payer_id": p, "practice_id": pr, **v,
            "leakage_rate_bp": ratio_bp(v["leakage_visits"], v["qualifying_visits"])}
           for (p, pr), v in sorted(rows.items())]
    if not truth_dir.is_dir():  # an ingested run: the simulator's referrals are unknown
        for row in out:
            row.update(dict.fromkeys(("referrals", "avoidable_referrals", "avoidable_cost")))
    return out


class Referral(NamedTuple):
    """A referral as the truth log records it (simulator-only knowledge)."""

    member_id: str
    from_practice: str
    avoidable: bool
    claim_id: str | None  # the claim the referred visit produced


def _referrals(truth_dir: Path) -> list[Referral]:
    """Every referral of the truth log, in log order (none for an ingested run): read once, for
    both the counts and the claims whose plan paid the avoidable ones cost."""
    if not truth_dir.is_dir():
        return []
    return [Referral(d["member_id"], d["from_practice"], bool(d["avoidable"]), d.get("claim_id"))
            for env in read(truth_dir) if env["type"] == "truth.referral" for d in (env["data"],)]


def _plan_paid(run_dir: Path, claims: set[str]) -> dict[str, int]:
    """What the plan paid on each of `claims` (its last adjudication in the ledger). Only those:
    a dict of every claim would hold millions of entries at a payer's scale."""
    return ledger_scan(run_dir, claims).last_paid if claims else {}


@dataclass
class Written:
    text: str  # the summary to print
    files: list[Path]
    accuracy: list[dict[str, Any]]  # attribution accuracy per payer
    reconciliation: list[dict[str, Any]]  # year-end reconciliation per payer x practice x year


class ReportSteps:
    """A progress bar over a run's report steps (at a million members they take minutes): call
    it with the name of each step as it starts, inside its `with` block."""

    def __init__(self, progress: bool, total: int):
        self.bar = tqdm(total=total, unit="step", file=sys.stderr, disable=not progress,
                        bar_format="reports {n_fmt}/{total_fmt} [{elapsed}] {desc}")
        self.started = False

    def __call__(self, what: str) -> None:
        if self.started:
            self.bar.update(1)
        self.started = True
        self.bar.set_description_str(what)

    def __enter__(self) -> ReportSteps:
        return self

    def __exit__(self, kind, *exc) -> None:
        if kind is None:  # every step done (a run without truth has one step fewer)
            self.bar.update(self.bar.total - self.bar.n)
        self.bar.close()


REPORT_STEPS = 4  # the calls of `step` in `write_reports` (3 for a run without truth)


def write_reports(run_dir: Path, state: PayerState, *, accuracy_as_of: str,
                  years: list[int], step: Callable[[str], None] = lambda what: None) -> Written:
    """Write every CSV report; returns what the caller prints and puts in the HTML report.
    `step(name)`: a step begins (`ReportSteps`)."""
    out = Path(run_dir) / REPORTS
    step("snapshots, summary and reconciliation")
    snaps = snapshot_rows(state)
    summary = summary_rows(state, snaps)
    reconciliation = reconciliation_rows(state, years)
    files = [
        write_csv(out / "snapshots.csv", snaps, columns=[*IDS, "month"]),
        write_csv(out / "summary.csv", summary, columns=["payer_id", "program", *SUMMARY_FIGURES]),
    ]
    step("attribution.csv")
    files.append(write_csv(out / "attribution.csv", iter_attribution_rows(each_attribution_run(
        state, accuracy_as_of)), columns=ATTRIBUTION_COLUMNS, only_columns=True))
    files.append(write_csv(out / "reconciliation.csv", reconciliation, columns=[*IDS, "year"]))
    step("leakage.csv")
    files.append(write_csv(out / "leakage.csv", leakage_rows(run_dir, state, snaps), columns=IDS))
    text = table(summary, ["payer_id", "program", *SUMMARY_FIGURES], set(SUMMARY_FIGURES) - {"member_months"})
    if not (Path(run_dir) / "truth").is_dir():
        return Written(text + "\n\nattribution accuracy: not available for ingested runs", files, [],
                       reconciliation)
    step("attribution_accuracy.csv")
    accuracy = accuracy_rows(state, true_pcps(run_dir, accuracy_as_of), accuracy_as_of)
    files.insert(4, write_csv(out / "attribution_accuracy.csv", accuracy, columns=["payer_id", "as_of"]))
    text += "\n\nattribution accuracy as of " + accuracy_as_of + ": " + ", ".join(
        f"{r['payer_id']} {r['true_pcp']:,}/{r['members']:,} ({r['accuracy_bp'] / 100:.1f} %)"
        for r in accuracy)
    return Written(text, files, accuracy, reconciliation)
