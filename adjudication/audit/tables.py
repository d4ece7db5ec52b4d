"""Tables a user can read and CSV files they can open, built from the projections: the monthly
snapshots, the attribution lists, and attribution accuracy against the simulator's truth log (an
audit and report view only: nothing the payer side decides ever reads the truth log).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from claimsim.events.log import read
from claimsim.events.money import dollars

from claimsim.adjudication.projections.attribution import attribute
from claimsim.adjudication.projections.snapshots import figures, member_month_counts, snapshot_keys
from claimsim.adjudication.projections.state import PayerState


def snapshot_rows(state: PayerState) -> list[dict[str, Any]]:
    rows, counts = [], {}
    for payer, practice, month in snapshot_keys(state):
        if (payer, month) not in counts:
            counts[(payer, month)] = member_month_counts(state, payer, month)
        rows.append({"payer_id": payer, "practice_id": practice, "month": month,
                     **figures(state, payer, practice, month, counts[(payer, month)])})
    return rows


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
