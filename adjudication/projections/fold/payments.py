"""The fold's payments concern (ledger): prospective payments by the month they pay for (per
member and in total, originals and adjustments apart), the basis each original was computed on,
PBIP recoupments made at reconciliation, and the snapshots already taken.
"""

from __future__ import annotations

from sys import intern
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from claimsim.adjudication.projections.state import PayerState

KEYS = ("paid", "paid_original", "paid_basis", "adjusted_in", "adjusted_for", "snapshots",
        "reconciled")


def reset(state: PayerState) -> None:
    state.paid: dict[str, dict[str, dict[str, int]]] = {}  # "payer|practice|month" -> kind -> member -> cents
    state.paid_original: dict[str, dict[str, int]] = {}  # "payer|practice|month" -> kind -> cents
    state.paid_basis: dict[str, dict[str, dict]] = {}  # "payer|practice|month" -> kind -> basis
    state.adjusted_in: dict[str, dict[str, int]] = {}  # "payer|practice|paying month" -> kind -> cents
    state.adjusted_for: dict[str, dict[str, int]] = {}  # "payer|practice|adjusted month" -> kind -> cents
    state.snapshots: dict[str, int] = {}  # "payer|practice|month" -> seq of the last snapshot
    state.reconciled: dict[str, int] = {}  # "payer|practice|year" -> PBIP recouped (cents)


def payment(state: PayerState, env: dict[str, Any]) -> None:
    d = env["data"]
    kind, amount = d["kind"], d["amount"]
    detail = d.get("detail") or {}
    pair = f"{d['payer_id']}|{d['practice_id']}"
    target = d.get("adjusts_month") or d["month"]
    key = f"{pair}|{target}"
    members = state.paid.setdefault(key, {}).setdefault(kind, {})
    for member, cents in detail.get("members", {}).items():
        total = members.get(member, 0) + cents
        if total:
            members[intern(member)] = total  # one copy of each id across months and kinds
        else:
            members.pop(member, None)
    year = detail.get("reconciliation")
    if year is not None:
        state.reconciled[f"{pair}|{year}"] = -amount
    if d.get("adjusts_month"):
        for book, k in ((state.adjusted_in, f"{pair}|{d['month']}"), (state.adjusted_for, key)):
            row = book.setdefault(k, {})
            row[kind] = row.get(kind, 0) + amount
    else:
        row = state.paid_original.setdefault(key, {})
        row[kind] = row.get(kind, 0) + amount
        basis = detail.get("basis")
        if basis is not None:
            state.paid_basis.setdefault(key, {})[kind] = basis


def snapshot(state: PayerState, env: dict[str, Any]) -> None:
    d = env["data"]
    state.snapshots[f"{d['payer_id']}|{d['practice_id']}|{d['month']}"] = env["seq"]


LEDGER_HANDLERS = {
    "payment.prospective": payment,
    "snapshot.taken": snapshot,
}
