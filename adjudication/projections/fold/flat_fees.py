"""The fold's flat-fee concern (ledger claim entries and epoch boundaries): PCF's flat visit fee
lines (a PCF practice's qualifying E&M lines for its attributed members: `allowed = min(billed,
flat fee)`, DOMAIN.md §4) paid since the last epoch boundary, per payer x practice, member and
service month, which the boundary's performance adjustment on flat fees is figured from
(`projections.flat_fee_performance`).

`fold.claims` books each line (reversal lines with their negative plan paid) as it folds it; an
`epoch.boundary` hands what was booked since the previous boundary to `flat_fees_due` and starts
afresh, so the boundary's steps read exactly the lines between the two `epoch.boundary` entries.
"""

from __future__ import annotations

from sys import intern
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from claimsim.adjudication.projections.state import PayerState

# Checkpointed: the lines since the last boundary (none at a run's end, normally: the closing
# boundary takes them), and then left out (`PayerState.state`), so a checkpoint is what it was
# before this concern and one written before it still verifies. `flat_fees_due` is not state:
# the boundary's steps read it right after the boundary is folded, and a checkpoint is never a
# starting point for them.
KEYS = ("flat_fees",)
OMITTED_EMPTY = KEYS

# The book of one payer x practice, flat_fees["payer|practice"] =
#   {"seqs": [first ledger seq, last ledger seq] of the entries holding its lines,
#    "months": {service month: {"plan_paid": cents, "lines": n, "reversal_lines": n}},
#    "members": {member: {service month: plan paid (cents)}}}


def reset(state: PayerState) -> None:
    # "payer|practice" -> the book since the last boundary; the book handed over at the last one
    state.flat_fees: dict[str, dict[str, Any]] = {}
    state.flat_fees_due: dict[str, dict[str, Any]] = {}


def book(state: PayerState, payer: str, practice: str, member: str, month: str, plan_paid: int,
         sign: int) -> None:
    """One flat-fee line of the ledger entry being folded (its seq: `state.last_seq`), serviced
    in `month`; `sign` -1 on a reversal line (its plan paid is already negative)."""
    key = f"{payer}|{practice}"
    seq = state.last_seq
    entry = state.flat_fees.get(key)
    if entry is None:
        entry = state.flat_fees[key] = {"seqs": [seq, seq], "months": {}, "members": {}}
    entry["seqs"][1] = seq
    # The ids and months interned: the state's own strings, not one per decoded entry.
    month = intern(month)
    m = entry["months"].get(month)
    if m is None:
        m = entry["months"][month] = {"plan_paid": 0, "lines": 0, "reversal_lines": 0}
    m["plan_paid"] += plan_paid
    m["lines" if sign > 0 else "reversal_lines"] += 1
    paid = entry["members"].get(member)
    if paid is None:
        paid = entry["members"][intern(member)] = {}
    paid[month] = paid.get(month, 0) + plan_paid


def close(state: PayerState) -> None:
    """At an `epoch.boundary`: the lines booked since the previous one fall due."""
    state.flat_fees_due, state.flat_fees = state.flat_fees, {}
