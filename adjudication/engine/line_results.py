"""The line results the ledger carries (the fields of `events.ledger.LineResult`, as plain dicts
built in the hot path), their CARC adjustments, and their negation for reversals.

A reversal is the original's lines with every amount negated (an 835's claim status 22): the
same line numbers, codes and units, so summing a claim and its reversal gives exactly zero.
"""

from __future__ import annotations

from typing import Any, Final

from claimsim.events.codes import QMB_REMARKS

from claimsim.adjudication.engine.validation import Line

_AMOUNTS: Final = ("billed", "allowed", "plan_paid", "cost_share", "deductible", "coinsurance", "copay",
            "cap_offset", "sequestration", "shadow_allowed", "medicaid_cost_share")


def line_result(  # positional in the hot path: keyword calls cost more per line
    line: Line,
    member_id: str,
    allowed: int,
    plan_paid: int,
    deductible: int,
    coinsurance: int,
    copay: int,
    cap_offset: int,
    sequestration: int,
    shadow_allowed: int,
    medicaid_cost_share: int,
    status: str,
    program: str,
    attributed: bool,
    capitated: bool,
    adjustments: list[dict[str, Any]],
    remarks: list[str],
) -> dict[str, Any]:
    # Long: one store per key, spelled out (a loop over pairs would build the pairs per line).
    # Keys in sorted order, as every dict of a ledger answer is built: the canonical encoding
    # sorts them, and a dict already in order is the cheapest to sort (the stores below only
    # replace values, so their order does not move a key). Built as a copy of
    # `_LINE_KEYS` (the copy clones its hash table whole) whose values are then replaced where
    # they differ: a store into the dict costs ~190 instructions, and most lines have several
    # amounts of zero and no program, which the copy already holds.
    out = _LINE_KEYS.copy()
    out["adjustments"] = adjustments
    cost_share = deductible + coinsurance + copay
    if cost_share:
        # A line's cost share is most often one part alone, and a line wholly within the
        # deductible has it all as its allowed: the equal amounts share one int object (each
        # other store of an amount boxes it anew, an allocation freed with the line).
        share: object = cost_share
        out["cost_share"] = share
        if allowed:
            out["allowed"] = share if allowed == cost_share else allowed
        if coinsurance:
            out["coinsurance"] = share if coinsurance == cost_share else coinsurance
        if copay:
            out["copay"] = share if copay == cost_share else copay
        if deductible:
            out["deductible"] = share if deductible == cost_share else deductible
        if medicaid_cost_share:
            out["medicaid_cost_share"] = (share if medicaid_cost_share == cost_share
                                          else medicaid_cost_share)
    else:
        if allowed:
            out["allowed"] = allowed
        if medicaid_cost_share:
            out["medicaid_cost_share"] = medicaid_cost_share
    if attributed:
        out["attributed"] = True
    out["billed"] = line.billed
    if cap_offset:
        out["cap_offset"] = cap_offset
    if capitated:
        out["capitated"] = True
    out["diagnoses"] = diagnoses_list(line.diagnoses)
    if line.line_no != 1:
        out["line_no"] = line.line_no
    out["member_id"] = member_id
    if plan_paid:
        out["plan_paid"] = plan_paid
    out["procedure"] = line.procedure
    if program != "ffs":
        out["program"] = program
    if remarks:  # else the copy's shared empty list (nobody mutates a line result)
        out["remarks"] = remarks
    if sequestration:
        out["sequestration"] = sequestration
    out["service_date"] = line.day_iso
    if shadow_allowed:
        out["shadow_allowed"] = shadow_allowed
    if status != "paid":
        out["status"] = status
    if line.units != 1:
        out["units"] = line.units
    return out


# The remarks of a line that has none: one shared list (`line_result`).
NO_REMARKS: Final[list[str]] = []
# A line result's keys in sorted order, and the values `line_result` leaves as they are
# (None: always replaced; a claim's first line and a line of one unit keep the 1s).
_LINE_KEYS: Final[dict[str, Any]] = {
    "adjustments": None, "allowed": 0, "attributed": False, "billed": None, "cap_offset": 0,
    "capitated": False, "coinsurance": 0, "copay": 0, "cost_share": 0, "deductible": 0,
    "diagnoses": None, "line_no": 1, "medicaid_cost_share": 0, "member_id": None,
    "plan_paid": 0, "procedure": None, "program": "ffs", "remarks": NO_REMARKS, "sequestration": 0,
    "service_date": None, "shadow_allowed": 0, "status": "paid", "units": 1,
}


def diagnoses_list(dx: tuple[str, ...]) -> list[str]:
    """A line's diagnoses as the ledger line holds them: a list, as decoding gives it back (a
    stored answer re-emitted from the family store equals the one first given), one shared
    list per distinct combination (nobody mutates a line result)."""
    found = _DX_LISTS.get(dx)
    if found is None:
        found = list(dx)
        if len(_DX_LISTS) < 100_000:
            _DX_LISTS[dx] = found
    return found


_DX_LISTS: Final[dict[tuple[str, ...], list[str]]] = {}


def paid_adjustments(billed: int, allowed: int, offset: int, ded: int, coins: int, copay: int,
                     sequestration: int) -> list[dict[str, Any]]:
    """The paid line's CARC adjustments: CO-45 over the allowed, CO-24 capitation offset,
    PR-1/2/3 cost share, CO-253 sequestration; billed − their sum = plan paid. A QMB member's PR
    amounts stay (as a Medicare remittance shows them): `qmb_remarks` says the member owes none.

    Each adjustment is one shared dict per (CARC, amount) (`_adjustment`), as a line's diagnoses are
    one shared list: amounts repeat (copays, deductibles, the excess over a fee), and a lookup
    by amount costs a fraction of building the 3-key dict (and of freeing it after the answer is
    encoded). Nobody mutates a line result: `negated` builds new adjustments."""
    adjustments = []
    if billed > allowed:
        adjustments.append(_adjustment(_CO45, billed - allowed, "45", "CO"))
    if offset:
        adjustments.append(_adjustment(_CO24, offset, "24", "CO"))
    if ded:
        adjustments.append(_adjustment(_PR1, ded, "1", "PR"))
    if coins:
        adjustments.append(_adjustment(_PR2, coins, "2", "PR"))
    if copay:
        adjustments.append(_adjustment(_PR3, copay, "3", "PR"))
    if sequestration:
        adjustments.append(_adjustment(_CO253, sequestration, "253", "CO"))
    return adjustments


def _adjustment(cache: dict[int, dict[str, Any]], amount: int, carc: str, group: str
                ) -> dict[str, Any]:
    """The adjustment of `amount` under its CARC: the shared one from the CARC's cache, else a
    new one (keys sorted, as `line_result` says why), kept there while the cache holds fewer
    than `_SHARED_PER_CARC` amounts."""
    adjustment = cache.get(amount)
    if adjustment is None:
        adjustment = {"amount": amount, "carc": carc, "group": group}
        if len(cache) < _SHARED_PER_CARC:
            cache[amount] = adjustment
    return adjustment


# A paid line's adjustments by amount, one cache per CARC (`paid_adjustments`).
_SHARED_PER_CARC: Final = 10_000
_CO45: Final[dict[int, dict[str, Any]]] = {}
_CO24: Final[dict[int, dict[str, Any]]] = {}
_PR1: Final[dict[int, dict[str, Any]]] = {}
_PR2: Final[dict[int, dict[str, Any]]] = {}
_PR3: Final[dict[int, dict[str, Any]]] = {}
_CO253: Final[dict[int, dict[str, Any]]] = {}


def qmb_remarks(ded: int, coins: int, copay: int) -> list[str]:
    """A QMB member's line: one remark per PR adjustment it carries (N781 deductible, N782
    coinsurance, N783 copay), saying the amount may not be collected from the member."""
    return [QMB_REMARKS[carc] for carc, amount in (("1", ded), ("2", coins), ("3", copay)) if amount]


def denied_line(
    line: Line,
    member_id: str,
    group: str,
    carc: str,
    *,
    remark: str | None = None,
    program: str = "ffs",
    attributed: bool = False,
) -> dict[str, Any]:
    """A line denied in full: nothing allowed, the whole charge adjusted under `group`-`carc`."""
    return line_result(
        line, member_id, 0, 0, 0, 0, 0, 0, 0, 0, 0, "denied", program, attributed, False,
        [{"amount": line.billed, "carc": carc, "group": group}], [remark] if remark else [],
    )


def negated(line: dict[str, Any]) -> dict[str, Any]:
    """The reversal of a line: every amount (and every adjustment amount) negated."""
    out = dict(line)
    for name in _AMOUNTS:
        out[name] = -line[name]
    out["adjustments"] = [
        {"amount": -a["amount"], "carc": a["carc"], "group": a["group"]} for a in line["adjustments"]
    ]
    return out
