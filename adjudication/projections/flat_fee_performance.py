"""PCF's performance adjustment on flat visit fees (DOMAIN.md §4: "performance adjustment
−10 %..+50 % quarterly on the total primary care payment (PBP and flat fees)"). The PBP's share
rides in its PBPM (`prospective.payment_basis`); the flat fees' share is this prospective
payment, kind `pba_flat_fee`, made at each epoch boundary (`epochs.epoch_steps`) per payer x PCF
practice on the flat-fee lines the ledger holds between the previous boundary and this one
(`fold.flat_fees`).

Choices where DOMAIN.md is silent:
- Each line is adjusted at the `performance_bp` of the PBP paid for its practice, payer and
  service month (0 when none was: a baseline month, a practice inactive or without members that
  month), so a reversal months later is adjusted at its original's rate and undoes its share.
- Base: the line's plan paid, what the payer paid for the visit (after cost share and any
  sequestration): the adjustment scales the payer's payment, not the member's share.
- Rounding: once per member, performance year and rate, `apply_rate(the member's plan paid at
  that rate in that year, rate)`. Keeping years apart lets a payment made in January for
  December's visits count, to the cent, in the year of the visits (`by_year`: the year-end
  reconciliation and the aligned payers' measures by year read it), also the closing boundary's,
  made after the last plan year.
- The payment is for the boundary's month (`month`), like every payment made at a boundary; it is
  not per member month (`member_months` 0) and the attribution true-up leaves it alone
  (`prospective.true_up`): a later change of attribution does not change whose visits were paid.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from claimsim.events.envelope import new_event
from claimsim.events.ledger import ProspectivePayment
from claimsim.events.money import apply_rate
from claimsim.events.programs import PaymentKind

if TYPE_CHECKING:
    from claimsim.adjudication.projections.state import PayerState

PBA_FLAT_FEE = PaymentKind.PBA_FLAT_FEE.value
PBP = PaymentKind.PBP.value


def performance_of(state: PayerState, payer: str, practice: str, month: str) -> int:
    """The performance adjustment (bp) of the PBP paid for the practice's month, 0 if none was."""
    basis = state.paid_basis.get(f"{payer}|{practice}|{month}", {}).get(PBP)
    return (basis.get("performance_bp") or 0) if basis else 0


def by_year(basis: dict[str, Any]) -> dict[str, int]:
    """A `pba_flat_fee` payment's cents by the performance year of the visits it adjusts."""
    out: dict[str, int] = {}
    for rate in basis.get("rates", ()):
        out[rate["year"]] = out.get(rate["year"], 0) + rate["amount"]
    return out


def flat_fee_adjustments(state: PayerState, payer: str, as_of: str, *,
                         cause: int | None = None) -> list[dict[str, Any]]:
    """The payer's `pba_flat_fee` payments at the boundary `as_of`, one per practice whose flat
    fees paid since the previous boundary have a nonzero adjustment, in practice order."""
    events = []
    previous = state.boundaries[-2][1] if len(state.boundaries) > 1 else None
    for key in sorted(state.flat_fees_due):
        p, practice = key.split("|")
        if p != payer:
            continue
        due = state.flat_fees_due[key]
        rates = {month: performance_of(state, payer, practice, month) for month in due["months"]}
        cents: dict[str, int] = {}
        groups: dict[tuple[str, int], list[int]] = {}  # (year, rate) -> [plan paid, amount]
        for member, months in sorted(due["members"].items()):
            paid: dict[tuple[str, int], int] = {}
            for month, amount in months.items():
                group = (month[:4], rates[month])
                paid[group] = paid.get(group, 0) + amount
            total = 0
            for group, base in sorted(paid.items()):
                adjustment = apply_rate(base, group[1])
                total += adjustment
                row = groups.setdefault(group, [0, 0])
                row[0] += base
                row[1] += adjustment
            if total:
                cents[member] = total
        if not cents:
            continue
        basis = {
            "after_boundary": previous, "boundary": as_of,
            "first_seq": due["seqs"][0], "last_seq": due["seqs"][1],
            "months": {month: {**m, "performance_bp": rates[month]}
                       for month, m in sorted(due["months"].items())},
            "rates": [{"year": year, "performance_bp": rate, "plan_paid": base, "amount": amount}
                      for (year, rate), (base, amount) in sorted(groups.items())],
        }
        event = ProspectivePayment(payer_id=payer, practice_id=practice, month=as_of[:7],
                                   kind=PaymentKind.PBA_FLAT_FEE, amount=sum(cents.values()),
                                   member_months=0,
                                   detail={"members": cents, "basis": basis})
        events.append(new_event(event, at=as_of, key=practice, cause=cause))
    return events
