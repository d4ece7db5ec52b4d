"""Practice status at an epoch boundary (DOMAIN.md §4 "Minimum volume"): each practice holding a
program contract with a payer is active for the epoch only with at least the program's
`minimum_attributed` members; otherwise the payer treats it as FFS (no offsets on its claims, no
prospective payments), and the `practice.status` event says why. PCF practices also get their
risk group here, from their attributed members' average observed risk.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from claimsim.events.envelope import new_event
from claimsim.events.ledger import PracticeStatus
from claimsim.events.programs import ProgramKind

from claimsim.adjudication.projections.fold.timelines import S_ACTIVE
from claimsim.adjudication.projections.risk import average_risk, pcf_risk_group

if TYPE_CHECKING:
    from claimsim.adjudication.projections.attribution import AttributionRun
    from claimsim.adjudication.projections.state import PayerState

MINIMUM_VOLUME = "minimum volume"


def practice_statuses(state: PayerState, run: AttributionRun, *,
                      cause: int | None = None) -> list[dict[str, Any]]:
    """`practice.status` events, effective from the run's date, for every practice with a
    program (not FFS) contract with the run's payer on that date, in practice id order."""
    payer, as_of = run.payer_id, run.as_of
    day = dt.date.fromisoformat(as_of)
    lists = run.practice_lists()
    facts = state.facts_on(payer, as_of)
    events = []
    for practice in sorted(p.practice_id for p in state.reference.practices):
        contract = state.reference.contract_on(payer, practice, day)
        if contract is None or contract.program.kind is ProgramKind.FFS:
            continue
        program = contract.program
        members = [a.member_id for a in lists.get(practice, ())]
        active = len(members) >= program.minimum_attributed
        group = None
        if program.kind is ProgramKind.PCF:
            group = pcf_risk_group(average_risk(facts, members), state.settings.pcf_group_bounds_milli)
        reason = "" if active else (
            f"{MINIMUM_VOLUME}: {len(members)} attributed, {program.minimum_attributed} required")
        event = PracticeStatus(payer_id=payer, practice_id=practice, program=program.kind,
                               effective=as_of, active=active, attributed=len(members),
                               risk_group=group, reason=reason)
        events.append(new_event(event, at=as_of, key=practice, cause=cause))
    return events


def is_active(state: PayerState, payer: str, practice: str, day: str) -> bool:
    """Whether the practice's program is in force on `day` (no status yet: active, as adjudication
    assumes; the baseline has no attributed members, so nothing is paid then anyway)."""
    entry = state.status_on(payer, practice, day)
    return True if entry is None else bool(entry[S_ACTIVE])
