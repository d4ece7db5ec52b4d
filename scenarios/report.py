"""Reports of a paid run: a short summary table (per payer x program) printed by `claimsim run`,
and CSV files in RUN_DIR/reports/ a user can open: the monthly snapshots, the summary, the final
attribution lists, year-end reconciliation and attribution accuracy against the truth log.

Everything here reads projections (PayerState) and the truth log; nothing is written to a log.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

from claimsim.events.log import read
from claimsim.events.money import dollars

from claimsim.adjudication.attribution import attribute
from claimsim.adjudication.reconciliation import year_figures
from claimsim.adjudication.snapshots import figures, member_month_counts, snapshot_keys
from claimsim.adjudication.snapshots_state import PayerState

REPORTS = "reports"
SUMMARY_FIGURES = ("member_months", "prospective_total", "prospective_adjustments",
                   "ffs_paid_by_service_date", "capitation_offsets", "member_cost_share",
                   "shadow_ffs", "leakage_cost", "net")


def snapshot_rows(state: PayerState) -> list[dict[str, Any]]:
    rows, counts = [], {}
    for payer, practice, month in snapshot_keys(state):
        if (payer, month) not in counts:
            counts[(payer, month)] = member_month_counts(state, payer, month)
        rows.append({"payer_id": payer, "practice_id": practice, "month": month,
                     **figures(state, payer, practice, month, counts[(payer, month)])})
    return rows


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


def true_pcps(run_dir: Path, as_of: str) -> dict[str, str | None]:
    """Each member's true PCP on `as_of`, from the truth log (simulator-only knowledge)."""
    truth: dict[str, str | None] = {}
    truth_dir = Path(run_dir) / "truth"
    if not truth_dir.is_dir():
        return truth
    for env in read(truth_dir):
        d = env["data"]
        if env["type"] == "truth.member":
            truth[d["member_id"]] = d["true_pcp"]
        elif env["type"] == "truth.pcp_changed" and str(d["effective"]) <= as_of:
            truth[d["member_id"]] = d["to_practice"]
    return truth


def accuracy_rows(state: PayerState, truth: dict[str, str | None], as_of: str) -> list[dict[str, Any]]:
    """Per payer: members eligible on `as_of` with a known true PCP, how many are attributed to it,
    how many to another practice, and how many to none."""
    rows = []
    for payer in sorted(p.payer_id for p in state.reference.payers):
        known = hits = other = 0
        for mid in state.payer_members(payer):
            pcp = truth.get(mid)
            if pcp is None or not state.eligible_on(mid, payer, as_of):
                continue
            known += 1
            got = state.attributed_on(mid, as_of)
            hits += got == pcp
            other += got is not None and got != pcp
        rows.append({"payer_id": payer, "as_of": as_of, "members": known, "true_pcp": hits,
                     "other_practice": other, "unattributed": known - hits - other,
                     "accuracy_bp": (hits * 10_000 // known) if known else 0})
    return rows


def attribution_rows(state: PayerState, as_of: str) -> list[dict[str, Any]]:
    rows = []
    for payer in sorted(p.payer_id for p in state.reference.payers):
        for practice, members in attribute(state, payer, as_of).practice_lists().items():
            for a in members:
                rows.append({"payer_id": payer, "practice_id": practice, "member_id": a.member_id,
                             "basis": a.basis, "visits": a.visits, "last_visit": a.last_visit or ""})
    return sorted(rows, key=lambda r: (r["payer_id"], r["practice_id"], r["member_id"]))


def reconciliation_rows(state: PayerState, years: list[int]) -> list[dict[str, Any]]:
    rows = []
    keys = sorted({tuple(k.split("|")[:2]) for k in state.paid_original})
    for year in years:
        for payer, practice in keys:
            row = year_figures(state, payer, practice, year)
            prospective = row.pop("prospective")
            rows.append({**row, **{f"paid_{k}": v for k, v in prospective.items()}})
    return rows


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fields: list[str] = []
    for row in rows:
        fields += [k for k in row if k not in fields]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields or ["empty"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def table(rows: list[dict[str, Any]], columns: list[str], money: set[str]) -> str:
    """A plain aligned text table; money columns in dollars."""
    cells = [[dollars(r[c]) if c in money else f"{r[c]:,}" if isinstance(r[c], int) else str(r[c])
              for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(columns, widths)))]
    for row in cells:
        lines.append("  ".join(v.ljust(w) if i < 2 else v.rjust(w)
                               for i, (v, w) in enumerate(zip(row, widths))))
    return "\n".join(lines)


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
