"""The payer's money rows (one per payer x practice x month, kept in `PayerState.money`) and the
one read-only view of them, `MoneyTotals`, that snapshots, reconciliation and the report tables
share instead of reading the rows' positions.

A row is a list of ints, not a dict or a NamedTuple, because the fold adds to it for every claim
line and a checkpoint stores it as it is; `M_*` name its positions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

# Positions in a money row. M_COST_SHARE is what members owe (the lines' cost share less the
# part Medicaid pays for QMB members, DOMAIN.md §5); M_MEDICAID_COST_SHARE is that part.
M_FFS_SERVICE, M_FFS_PAID, M_OFFSETS, M_COST_SHARE, M_SHADOW, M_CLAIM_ADJ = range(6)
M_LEAK_VISITS, M_ALL_VISITS, M_LEAK_COST, M_ALLOWED, M_SEQUESTRATION = range(6, 11)
M_MEDICAID_COST_SHARE = 11
MONEY_WIDTH = 12


class MoneyTotals(NamedTuple):
    """A money row, or the sum of several, by name (cents; visits are counts). Fields are in row
    order, so `MoneyTotals(*row)` reads one row."""

    ffs_by_service_date: int = 0  # plan paid on lines serviced in the month
    ffs_by_paid_date: int = 0  # plan paid on lines paid in the month
    offsets: int = 0  # capitation offsets
    cost_share: int = 0  # member cost share: what members owe
    shadow_ffs: int = 0  # what capitated lines would have paid as FFS
    claim_adjustments: int = 0  # plan paid in the month for lines serviced in an earlier month
    leakage_visits: int = 0  # the practice's attributed members' qualifying visits elsewhere
    qualifying_visits: int = 0  # the practice's attributed members' qualifying visits anywhere
    leakage_cost: int = 0  # plan paid elsewhere for services the practice's program capitates
    allowed: int = 0
    sequestration: int = 0
    medicaid_cost_share: int = 0  # QMB members' cost share, which Medicaid pays


def new_row() -> list[int]:
    return [0] * MONEY_WIDTH


def row_of(money: dict[str, list[int]], payer: str, practice: str, month: str) -> list[int]:
    """The money row of payer x practice x month, created empty when missing."""
    key = f"{payer}|{practice}|{month}"
    row = money.get(key)
    if row is None:
        row = money[key] = [0] * MONEY_WIDTH
    return row


def sum_rows(rows: Iterable[list[int]]) -> MoneyTotals:
    total = [0] * MONEY_WIDTH
    for row in rows:
        for i, v in enumerate(row):
            total[i] += v
    return MoneyTotals(*total)


def money_totals(money: dict[str, list[int]], *, prefix: str = "",
                 months: Iterable[str] | None = None) -> MoneyTotals:
    """Σ of the rows whose "payer|practice|month" key starts with `prefix` (and whose month is in
    `months`, when given): `money_totals(state.money)` is the whole run."""
    wanted = None if months is None else set(months)
    return sum_rows(row for key, row in money.items() if key.startswith(prefix)
                    and (wanted is None or key.rsplit("|", 1)[1] in wanted))


def money_by_practice(money: dict[str, list[int]],
                      months: Iterable[str] | None = None) -> dict[tuple[str, str], MoneyTotals]:
    """`money_totals` per (payer, practice), over `months` when given, in key order."""
    wanted = None if months is None else set(months)
    rows: dict[tuple[str, str], list[list[int]]] = {}
    for key in sorted(money):
        payer, practice, month = key.split("|")
        if wanted is None or month in wanted:
            rows.setdefault((payer, practice), []).append(money[key])
    return {k: sum_rows(v) for k, v in rows.items()}
