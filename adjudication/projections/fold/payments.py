"""The fold's payments concern (ledger): prospective payments by the month they pay for (per
member and in total, originals and adjustments apart), the basis each original was computed on,
PBIP recoupments made at reconciliation, and the snapshots already taken.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from sys import intern
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from claimsim.adjudication.projections.state import PayerState

KEYS = ("paid", "paid_original", "paid_basis", "adjusted_in", "adjusted_for", "snapshots",
        "reconciled")


def reset(state: PayerState) -> None:
    state.paid = MemberPayments()  # "payer|practice|month" -> kind -> member -> cents
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
    state.paid.add(key, kind, detail.get("members", {}))
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


class MemberCents:
    """member -> cents of one payment kind for one practice-month: the ids sorted in a tuple and
    the cents in a 64-bit array beside them (16 bytes a member, not a dict entry and an int
    object: the fold keeps every month's for the whole run, for the true-up)."""

    __slots__ = ("ids", "cents")

    def __init__(self, cents: dict[str, int]):
        self.ids = tuple(sorted(cents))
        self.cents = array("q", (cents[m] for m in self.ids))

    def get(self, member: str, default: int = 0) -> int:
        i = bisect_left(self.ids, member)
        return self.cents[i] if i < len(self.ids) and self.ids[i] == member else default

    def to_dict(self) -> dict[str, int]:
        return dict(zip(self.ids, self.cents))


class MemberPayments:
    """"payer|practice|month" -> payment kind -> member -> cents paid for that month (originals
    and adjustments summed; a member whose cents net to 0 is dropped). Reads go through
    `cents`; `[key]` and `to_json` give the JSON a checkpoint holds."""

    __slots__ = ("_by_key",)

    # A checkpoint writes this many practice-months per piece: a key holds every member paid
    # for it (about 750 on average at 1,000,000 members, 3,000,000 member amounts in 4,096 keys,
    # which decoded and encoded at once were the closing checkpoint's 156 MiB peak).
    PIECE_KEYS = 16

    def __init__(self) -> None:
        self._by_key: dict[str, dict[str, MemberCents]] = {}

    def add(self, key: str, kind: str, members: dict[str, int]) -> None:
        kinds = self._by_key.setdefault(key, {})
        old = kinds.get(kind)
        merged = {} if old is None else old.to_dict()
        for member, cents in members.items():
            total = merged.get(member, 0) + cents
            if total:
                merged[intern(member)] = total  # one copy of each id across months and kinds
            else:
                merged.pop(member, None)
        kinds[kind] = MemberCents(merged)

    def cents(self, key: str, kind: str, member: str) -> int:
        found = self._by_key.get(key, {}).get(kind)
        return 0 if found is None else found.get(member)

    def members(self, key: str, kind: str) -> tuple[str, ...]:
        """The members paid anything of `kind` in the practice-month `key`, in id order."""
        found = self._by_key.get(key, {}).get(kind)
        return () if found is None else found.ids

    def __getitem__(self, key: str) -> dict[str, dict[str, int]]:
        return {kind: mc.to_dict() for kind, mc in self._by_key[key].items()}

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self):
        return iter(self._by_key)

    def to_json(self) -> dict[str, dict[str, dict[str, int]]]:
        return {key: self[key] for key in self._by_key}

    def load(self, data: dict[str, dict[str, dict[str, int]]]) -> None:
        self._by_key.clear()
        for key, kinds in data.items():
            for kind, members in kinds.items():
                self.add(key, kind, members)
