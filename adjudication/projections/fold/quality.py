"""The fold's claims-based quality concern (ledger claim entries), kept only when the projection
settings take the quality score from claims: each member's HbA1c test lines (DOMAIN.md §9 codes)
by service date, net of reversals, and the dates their claims carried a diabetes diagnosis.
AWV lines need nothing here: the claims concern's visit rows count them.

Choices where DOMAIN.md is silent:
- A test line counts when it is in force and not denied, whatever it paid (a test inside the
  deductible, or a $0 CPT II result code, is still a test).
- A diabetes diagnosis is dated by its claim's last service date (diagnoses are claim-level), on
  any claim the payer adjudicated (denied lines included: the diagnosis is the provider's, not the
  payment's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from claimsim.events.codes import HBA1C_CODES, Condition

from claimsim.adjudication.projections.claim_entry import ClaimLine, claim_data
from claimsim.adjudication.projections.diagnoses import line_conditions

if TYPE_CHECKING:
    from claimsim.adjudication.projections.state import PayerState

DIABETES = Condition.DIABETES.value
# Positions in a test row, hba1c[member][i] = [service date, +1 or -1 (a reversal)].
T_DAY, T_SIGN = range(2)

KEYS = ("hba1c", "diabetes_days")


def reset(state: PayerState) -> None:
    state.hba1c: dict[str, list[list]] = {}  # member -> test rows
    state.diabetes_days: dict[str, list[str]] = {}  # member -> service dates (distinct)


def _tests(state: PayerState, member: str, lines: list[ClaimLine], sign: int) -> None:
    for line in lines:
        if line.procedure in HBA1C_CODES and line.status != "denied":
            state.hba1c.setdefault(member, []).append([line.service_date, sign])


def adjudicated(state: PayerState, env: dict[str, Any]) -> None:
    """Runs before the claims concern's handler, which takes a v1 claim's pending diagnoses."""
    d = claim_data(env["data"], True)
    member = d.member_id
    _tests(state, member, d.reversed_lines, -1)
    _tests(state, member, d.lines, 1)
    lines = d.lines
    if lines and lines[0].diagnoses is not None:  # a v2 entry: its lines carry them
        conds = line_conditions(lines)
    else:  # v1: the submitted claim's, pending until the claims concern's handler takes them
        cause = env["cause"]
        conds = state.pending_dx.get(str(cause)) if cause is not None else None
    if conds and DIABETES in conds and d.lines:
        day = max(line.service_date for line in d.lines)
        days = state.diabetes_days.setdefault(member, [])
        if day not in days:
            days.append(day)


def reversed_(state: PayerState, env: dict[str, Any]) -> None:
    d = claim_data(env["data"], False)
    _tests(state, d.member_id, d.reversed_lines, -1)


def tested_between(state: PayerState, member: str, first: str, last: str) -> bool:
    """Whether the member has an HbA1c test line in force serviced from `first` to `last` (ISO,
    inclusive)."""
    net: dict[str, int] = {}
    for day, sign in state.hba1c.get(member, ()):
        if first <= day <= last:
            net[day] = net.get(day, 0) + sign
    return any(n > 0 for n in net.values())


def diabetic_between(state: PayerState, member: str, first: str, last: str) -> bool:
    """Whether a claim serviced from `first` to `last` (inclusive) carried a diabetes diagnosis."""
    return any(first <= day <= last for day in state.diabetes_days.get(member, ()))


def _then(first, second):
    def both(state: PayerState, env: dict[str, Any]) -> None:
        first(state, env)
        second(state, env)
    return both


def with_quality(handlers: dict[str, Any]) -> dict[str, Any]:
    """The fold's handlers with this concern's run before the claims concern's."""
    return {**handlers, "claim.adjudicated": _then(adjudicated, handlers["claim.adjudicated"]),
            "claim.reversed": _then(reversed_, handlers["claim.reversed"])}
