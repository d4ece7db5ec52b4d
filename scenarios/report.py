"""Reports of a paid run: a short summary table (per payer x program) printed by `claimsim run`,
and CSV files in RUN_DIR/reports/ a user can open: the monthly snapshots, the summary, the final
attribution lists, year-end reconciliation and attribution accuracy against the truth log.

Everything here reads projections (PayerState) and the truth log; nothing is written to a log.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from claimsim.adjudication.audit_tables import (accuracy_rows, attribution_rows, snapshot_rows,
                                                table, true_pcps, write_csv)
from claimsim.adjudication.reconciliation import year_figures
from claimsim.adjudication.snapshots_state import PayerState

REPORTS = "reports"
SUMMARY_FIGURES = ("member_months", "prospective_total", "prospective_adjustments",
                   "ffs_paid_by_service_date", "capitation_offsets", "member_cost_share",
                   "shadow_ffs", "leakage_cost", "net")


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


def write_reports(run_dir: Path, state: PayerState, *, accuracy_as_of: str,
                  years: list[int]) -> tuple[str, list[Path]]:
    """Write every report; returns (the summary text to print, the files written)."""
    out = Path(run_dir) / REPORTS
    snaps = snapshot_rows(state)
    summary = summary_rows(state, snaps)
    accuracy = accuracy_rows(state, true_pcps(run_dir, accuracy_as_of), accuracy_as_of)
    files = [
        write_csv(out / "snapshots.csv", snaps),
        write_csv(out / "summary.csv", summary),
        write_csv(out / "attribution.csv", attribution_rows(state, accuracy_as_of)),
        write_csv(out / "reconciliation.csv", reconciliation_rows(state, years)),
        write_csv(out / "attribution_accuracy.csv", accuracy),
    ]
    text = table(summary, ["payer_id", "program", *SUMMARY_FIGURES], set(SUMMARY_FIGURES) - {"member_months"})
    text += "\n\nattribution accuracy as of " + accuracy_as_of + ": " + ", ".join(
        f"{r['payer_id']} {r['true_pcp']:,}/{r['members']:,} ({r['accuracy_bp'] / 100:.1f} %)"
        for r in accuracy)
    return text, files
