"""Tables a user can read and CSV files they can open, built from the projections: the monthly
snapshots, the attribution lists, and attribution accuracy against the simulator's truth log (an
audit and report view only: nothing the payer side decides ever reads the truth log).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from sys import intern
from typing import Any

from claimsim.events.files import whole_or_absent
from claimsim.events.log import read
from claimsim.events.money import dollars

from claimsim.adjudication.projections.attribution import AttributionRun, attribute
from claimsim.adjudication.projections.snapshots import (PAYMENT_KINDS, PBA_FLAT_FEE, figures,
                                                         month_counts, snapshot_keys)
from claimsim.adjudication.projections.state import PayerState


def snapshot_rows(state: PayerState) -> list[dict[str, Any]]:
    """The snapshots' table: every row with every payment kind's column (a snapshot event names
    the performance adjustment on flat fees only where one was paid)."""
    keys = snapshot_keys(state)
    counts = month_counts(state, keys)
    return [{"payer_id": payer, "practice_id": practice, "month": month,
             **every_kind(figures(state, payer, practice, month, counts[(payer, month)]))}
            for payer, practice, month in keys]


def every_kind(found: dict[str, int]) -> dict[str, int]:
    """A snapshot's figures with `pba_flat_fee` (0 when absent) after the other kinds."""
    if PBA_FLAT_FEE in found:
        return found
    out: dict[str, int] = {}
    for name, value in found.items():
        out[name] = value
        if name == PAYMENT_KINDS[-1]:
            out[PBA_FLAT_FEE] = 0
    return out


def true_pcps(run_dir: Path, as_of: str) -> dict[str, str | None]:
    """Each member's true PCP on `as_of`, from the truth log (simulator-only knowledge)."""
    truth: dict[str, str | None] = {}
    truth_dir = Path(run_dir) / "truth"
    if not truth_dir.is_dir():
        return truth
    # Ids interned: the keys are then the payer state's own member id strings (it interns them)
    # and a practice's id one string, not one per decoded event (a million members' map).
    for env in read(truth_dir):
        d = env["data"]
        if env["type"] == "truth.member":
            truth[intern(d["member_id"])] = _interned(d["true_pcp"])
        elif env["type"] == "truth.pcp_changed" and str(d["effective"]) <= as_of:
            truth[intern(d["member_id"])] = _interned(d["to_practice"])
    return truth


def _interned(value: str | None) -> str | None:
    return value if value is None else intern(value)


def accuracy_rows(state: PayerState, truth: dict[str, str | None], as_of: str,
                  attributed: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Per payer: members eligible on `as_of` with a known true PCP, how many are attributed to it,
    how many to another practice, and how many to none. Attributed as the ledger says on `as_of`,
    or as `attributed` says (member -> practice; a member not in it is attributed to none)."""
    rows = []
    for payer in sorted(p.payer_id for p in state.reference.payers):
        known = hits = other = 0
        for mid in state.payer_members(payer):
            pcp = truth.get(mid)
            if pcp is None or not state.eligible_on(mid, payer, as_of):
                continue
            known += 1
            got = state.attributed_on(mid, as_of) if attributed is None else attributed.get(mid)
            hits += got == pcp
            other += got is not None and got != pcp
        rows.append({"payer_id": payer, "as_of": as_of, "members": known, "true_pcp": hits,
                     "other_practice": other, "unattributed": known - hits - other,
                     "accuracy_bp": (hits * 10_000 // known) if known else 0})
    return rows


ATTRIBUTION_COLUMNS = ["payer_id", "practice_id", "member_id", "basis", "visits", "last_visit"]


def attribution_runs(state: PayerState, as_of: str) -> list[AttributionRun]:
    """Every payer's attribution of its members as of `as_of`, in payer id order (the changes a
    run clock would record are not built: these are for reports)."""
    return list(each_attribution_run(state, as_of))


def each_attribution_run(state: PayerState, as_of: str) -> Iterator[AttributionRun]:
    """`attribution_runs` one payer at a time, each run made when the previous one has been
    used: a reader that goes through them once holds one payer's members, not every payer's."""
    for payer in sorted(p.payer_id for p in state.reference.payers):
        yield attribute(state, payer, as_of, record_changes=False)


def iter_attribution_rows(runs: Iterable[AttributionRun]) -> Iterator[dict[str, Any]]:
    """The practice lists' rows in (payer, practice, member) order, made one at a time (a
    million-member run's list is written without holding every row)."""
    for run in runs:
        lists = run.practice_lists()  # each list in member order
        for practice in sorted(lists):
            for a in lists[practice]:
                yield {"payer_id": run.payer_id, "practice_id": practice, "member_id": a.member_id,
                       "basis": a.basis, "visits": a.visits, "last_visit": a.last_visit or ""}
        del run, lists  # before `runs` makes the next one (a generator's run is then freed first)


# -- the one CSV writer, and the names its columns carry ----------------------------------------
# Report columns use DOMAIN.md's words, one name per concept, and say their unit: money is integer
# cents (`_cents`), rates basis points (`_bp`), risk scores thousandths (`_milli`); the rest are
# ids, dates, counts and flags. Ledger event fields keep their own names; only reports rename.
SAME_CONCEPT = {
    "cap_offset": "capitation_offset", "capitation_offsets": "capitation_offset",
    "offsets": "capitation_offset", "leakage_cost": "leakage_cost_observed",
    "prospective_total": "prospective", "avoidable_cost": "leakage_cost_true",
    "leakage_rate_bp": "leakage_rate_observed_bp", "accuracy_bp": "attribution_accuracy_bp",
}
MONEY_FIGURES = frozenset({
    "billed", "allowed", "plan_paid", "member_cost_share", "medicaid_cost_share",
    "capitation_offset", "sequestration", "shadow_ffs", "prospective", "prospective_adjustments",
    "ffs_paid", "ffs_paid_by_service_date", "ffs_paid_by_paid_date", "claim_adjustments",
    "leakage_cost_observed", "leakage_cost_true", "avoidable_cost", "net", "net_revenue",
    "payer_spend", "cmf", "cpcp", "pbp", "esp", "ppcp", "pbip", "pba_flat_fee", "pbip_paid",
    "pbip_kept", "pbip_recouped", "prospective_minus_shadow_ffs", "plan_paid_plus_offset", "amount",
})
# Suffixes of derived columns (what-if intervals and paired differences): the unit goes last.
_VARIANTS = ("_diff_lo", "_diff_hi", "_diff", "_lo", "_hi")


def column_name(key: str) -> str:
    """The report column for a figure: its one name, with `_cents` on money."""
    base, variant = key, ""
    for suffix in _VARIANTS:
        if key.endswith(suffix) and key.removesuffix(suffix) in MONEY_FIGURES | set(SAME_CONCEPT):
            base, variant = key.removesuffix(suffix), suffix
            break
    if base.startswith("paid_") and base.removeprefix("paid_") in MONEY_FIGURES:
        base = base.removeprefix("paid_")  # reconciliation's prospective paid by kind
    base = SAME_CONCEPT.get(base, base)
    return base + variant + ("_cents" if base in MONEY_FIGURES else "")


def report_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with their report column names (for CSV and Parquet alike)."""
    return [{column_name(k): v for k, v in row.items()} for row in rows]


@contextmanager
def csv_batches(path: Path, columns: list[str]) -> Iterator[Callable[[Iterable[dict[str, Any]]], None]]:
    """`write_csv(only_columns=True)` a batch of rows at a time, for a table made in parts (the
    header, then each batch as it comes). Written beside `path` and moved there at the end, so
    the table is whole or absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with whole_or_absent(path) as part:
        with open(part, "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow([column_name(c) for c in columns])
            yield lambda rows: writer.writerows([row[c] for c in columns] for row in rows)


def write_csv(path: Path, rows: Iterable[dict[str, Any]], *, columns: list[str] | None = None,
              only_columns: bool = False) -> Path:
    """The one CSV writer of every report: LF line endings, and always a header, so an empty table
    is still a table (its `columns` name the header when there are no rows to take it from).
    Rows are a list, read twice (for the header, then the rows), and renamed a row at a time; with
    `only_columns` the header is exactly `columns`, other keys are left out, and rows may be any
    iterable, read once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fields: list[str] = [column_name(c) for c in columns or ()]
    if only_columns:
        if not columns:
            raise ValueError(f"{path}: only_columns needs its columns")
        with csv_batches(path, columns) as write:
            write(rows)
        return path
    names: dict[str, str] = {}  # row key -> its column (column_name, once per key)
    for row in rows:
        for k in row:
            if k not in names:
                names[k] = column_name(k)
        fields += [names[k] for k in row if names[k] not in fields]
    if not fields:
        raise ValueError(f"{path}: an empty table needs its columns for the header")
    with whole_or_absent(path) as part:
        with open(part, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows({names[k]: v for k, v in row.items()} for row in rows)
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
