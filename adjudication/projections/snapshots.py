"""The monthly payment snapshot (DOMAIN.md §7) per payer x practice x month, as of a ledger seq or
a simulation date: member months, each prospective payment type, FFS paid by service date and by
paid date, capitation offsets, member cost share, shadow FFS, observed leakage, adjustments for
earlier months and the net. A pure function of the PayerState at that position, so the same
position reproduces it byte for byte; a later position shows the adjustments.

Definitions we chose where DOMAIN.md leaves room (each is a figure's name in `figures`):
- `shadow_ffs`: on capitated lines, plan paid + capitation offset + (shadow allowed − allowed when
  positive, the PCF flat-fee gap): what FFS would have paid with the same cost share.
- `claim_adjustments`: plan paid in the month on voids and replacements of claims serviced in an
  earlier month (included in `ffs_paid_by_paid_date`).
- `leakage_*`: qualifying primary-care lines (by primary-care clinicians) of members attributed to
  the practice on the service date, and FFS plan paid elsewhere on the practice's capitated
  services for them, by service month.
- `member_cost_share`: what members owe (cost share less the QMB part Medicaid pays), and
  `medicaid_cost_share` beside it, so the two add up to the lines' PR amounts.
- `net` = prospective paid for the month + prospective adjustments paid in it + FFS paid in it.
- `pba_flat_fee`: PCF's performance adjustment on the flat fees paid in the epoch a boundary
  closes, in the month of that boundary (the month it is paid in); present only when paid.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from claimsim.events.envelope import new_event
from claimsim.events.ledger import PaymentSnapshot
from claimsim.events.money import BP_ONE, div_round_half_up
from claimsim.events.programs import PaymentKind

from claimsim.adjudication.projections.fold.timelines import S_ACTIVE, S_REASON
from claimsim.adjudication.projections.money import MoneyTotals
from claimsim.adjudication.projections.status import is_active

if TYPE_CHECKING:
    from claimsim.adjudication.projections.state import PayerState

# Every snapshot names these kinds (0 when not paid). PCF's performance adjustment on flat fees
# only where one was paid for the month: snapshots of runs without one keep the bytes they had.
PBA_FLAT_FEE = PaymentKind.PBA_FLAT_FEE.value
PAYMENT_KINDS = tuple(k.value for k in PaymentKind if k is not PaymentKind.PBA_FLAT_FEE)
SNAPSHOT_BATCH = 4096  # snapshot events the run clock records at a time


def member_month_counts(state: PayerState, payer: str, month: str) -> dict[str, int]:
    """Members eligible and attributed on the month's first day, counted per practice."""
    return state.member_months(payer, [month + "-01"])[0]


def month_counts(state: PayerState, keys: list[tuple[str, str, str]]
                 ) -> dict[tuple[str, str], dict[str, int]]:
    """`member_month_counts` of every (payer, month) among `keys` (payer, practice, month): each
    payer's months counted in one pass over its members (`PayerState.member_months`)."""
    months_of: dict[str, set[str]] = {}
    for payer, _, month in keys:
        months_of.setdefault(payer, set()).add(month)
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for payer, months in months_of.items():
        ordered = sorted(months)
        for month, found in zip(ordered, state.member_months(payer, [m + "-01" for m in ordered])):
            counts[(payer, month)] = found
    return counts


def figures(state: PayerState, payer: str, practice: str, month: str,
            counts: dict[str, int] | None = None) -> dict[str, int]:
    """The snapshot's figures (cents, counts, basis points), named as in DOMAIN.md §7."""
    if counts is None:
        counts = member_month_counts(state, payer, month)
    key = f"{payer}|{practice}|{month}"
    row = state.money.get(key)
    money = MoneyTotals(*row) if row is not None else MoneyTotals()
    original = state.paid_original.get(key, {})
    adjusted = state.adjusted_in.get(key, {})
    out: dict[str, int] = {"member_months": counts.get(practice, 0)}
    for kind in PAYMENT_KINDS:
        out[kind] = original.get(kind, 0)
    if original.get(PBA_FLAT_FEE):
        out[PBA_FLAT_FEE] = original[PBA_FLAT_FEE]
    out["prospective_total"] = sum(original.values())
    out["prospective_adjustments"] = sum(adjusted.values())
    out["ffs_paid_by_service_date"] = money.ffs_by_service_date
    out["ffs_paid_by_paid_date"] = money.ffs_by_paid_date
    out["capitation_offsets"] = money.offsets
    out["member_cost_share"] = money.cost_share  # what members owe
    out["medicaid_cost_share"] = money.medicaid_cost_share  # what Medicaid pays for QMB members
    out["sequestration"] = money.sequestration
    out["shadow_ffs"] = money.shadow_ffs
    out["claim_adjustments"] = money.claim_adjustments
    out["leakage_visits"] = money.leakage_visits
    out["qualifying_visits"] = money.qualifying_visits
    out["leakage_rate_bp"] = (div_round_half_up(money.leakage_visits * BP_ONE, money.qualifying_visits)
                              if money.qualifying_visits > 0 else 0)
    out["leakage_cost"] = money.leakage_cost
    status = state.status_on(payer, practice, month + "-01")
    out["program_active"] = int(is_active(state, payer, practice, month + "-01"))
    out["minimum_volume_fallback"] = int(status is not None and not status[S_ACTIVE]
                                         and str(status[S_REASON]).startswith("minimum volume"))
    out["net"] = out["prospective_total"] + out["prospective_adjustments"] + money.ffs_by_paid_date
    return out


def snapshot_keys(state: PayerState) -> list[tuple[str, str, str]]:
    """Every payer x practice x month with any money or payment, in order."""
    keys = set(state.money) | set(state.paid_original) | set(state.adjusted_in)
    return sorted(tuple(k.split("|")) for k in keys)  # type: ignore[misc]


def snapshot_event(state: PayerState, payer: str, practice: str, month: str, *,
                   cause: int | None = None, counts: dict[str, int] | None = None,
                   position: tuple[int, str] | None = None) -> dict[str, Any]:
    """A `snapshot.taken` event as of the state's position (its last ledger seq and date), or as
    of `position` (such a seq and date) when given."""
    seq, at = (state.last_seq, state.last_at) if position is None else position
    as_of_date = at or f"{month}-01"
    event = PaymentSnapshot(payer_id=payer, practice_id=practice, month=month,
                            as_of_seq=seq, as_of_date=dt.date.fromisoformat(as_of_date),
                            figures=figures(state, payer, practice, month, counts))
    return new_event(event, at=as_of_date, key=practice, cause=cause)


def all_snapshots(state: PayerState, *, months: set[str] | None = None,
                  cause: int | None = None) -> list[dict[str, Any]]:
    """Snapshot events for every key (or only the given months), as of the state's position."""
    return list(_snapshots(state, months, cause, (state.last_seq, state.last_at)))


def snapshot_batches(state: PayerState, *, cause: int | None = None,
                     size: int = SNAPSHOT_BATCH) -> Iterator[list[dict[str, Any]]]:
    """`all_snapshots`, `size` events at a time, each batch made when asked for and every event
    as of the state's position when the first batch was asked for: the caller may fold each
    batch before asking for the next (folding a snapshot moves only the position, and the
    monthly figures read none of what it records). A million-member run has some 64,000
    snapshots, about 2 kB each as event dicts, which the run clock held all at once."""
    batch: list[dict[str, Any]] = []
    for event in _snapshots(state, None, cause, (state.last_seq, state.last_at)):
        batch.append(event)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _snapshots(state: PayerState, months: set[str] | None, cause: int | None,
               position: tuple[int, str]) -> Iterator[dict[str, Any]]:
    keys = [k for k in snapshot_keys(state) if months is None or k[2] in months]
    counts = month_counts(state, keys)
    for p, pr, m in keys:
        yield snapshot_event(state, p, pr, m, cause=cause, counts=counts[(p, m)], position=position)
