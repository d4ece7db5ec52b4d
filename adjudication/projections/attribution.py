"""Attribution (DOMAIN.md §6): who each member's primary-care practice is, as of a boundary date.

Voluntary alignment first; then the program pre-steps (PCF: the practice of the most recent
AWV/IPPE; CPC+: the practice billing chronic care management), each applying only when that
practice holds that program with the member's payer; then the plurality of qualifying primary-care
visits by primary-care clinicians over the lookback. Ties: most recent visit, then larger allowed,
then lower practice id. A run emits `attribution.assigned` for every member whose practice changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from claimsim.events.envelope import new_event
from claimsim.events.ledger import AttributionAssigned, AttributionCorrected

from claimsim.events.calendar import add_months

if TYPE_CHECKING:
    from claimsim.adjudication.projections.state import PayerState


@dataclass(frozen=True)
class Attribution:
    member_id: str
    practice_id: str | None
    basis: str  # voluntary | awv | ccm | plurality | none
    visits: int = 0  # qualifying visits at that practice in the lookback
    last_visit: str | None = None


@dataclass(frozen=True)
class AttributionRun:
    """One run's result for one payer: every eligible member's attribution, the changes to log,
    and the practice lists (who, and why) the LAN blueprint asks payers to share."""

    payer_id: str
    as_of: str
    members: dict[str, Attribution]
    changes: list[dict[str, Any]]  # attribution.assigned events, ready to append

    def practice_lists(self) -> dict[str, list[Attribution]]:
        lists: dict[str, list[Attribution]] = {}
        for mid in sorted(self.members):
            a = self.members[mid]
            if a.practice_id is not None:
                lists.setdefault(a.practice_id, []).append(a)
        return lists

    def counts(self) -> dict[str, int]:
        return {p: len(ms) for p, ms in self.practice_lists().items()}


def _voluntary(state: PayerState, mid: str, payer: str, as_of: str) -> str | None:
    choice = None
    for effective, practice, p in state.alignments.get(mid, ()):
        if p == payer and effective <= as_of:
            choice = practice  # the latest declaration in log order wins
    return choice


def _program_kind(state: PayerState, payer: str, practice: str, as_of: str) -> str | None:
    import datetime as dt

    contract = state.reference.contract_on(payer, practice, dt.date.fromisoformat(as_of))
    return None if contract is None else contract.program.kind.value


def attribute_member(state: PayerState, mid: str, payer: str, as_of: str) -> Attribution:
    """One eligible member's attribution as of `as_of` (visits in [as_of − lookback, as_of))."""
    practice = _voluntary(state, mid, payer, as_of)
    since = add_months(as_of, -state.settings.attribution_lookback_months)
    per_practice: dict[str, list] = {}  # practice -> [visits, last visit, allowed]
    last_awv: tuple[str, str] | None = None  # (date, practice)
    last_ccm: tuple[str, str] | None = None
    for key, (n_qual, n_awv, n_ccm, allowed) in state.visit_days(mid).items():
        p, day = key.split("|")
        if not since <= day < as_of:
            continue
        if n_qual > 0:
            agg = per_practice.setdefault(p, [0, "", 0])
            agg[0] += 1
            agg[1] = max(agg[1], day)
            agg[2] += allowed
        if n_awv > 0 and _later(day, p, last_awv):
            last_awv = (day, p)
        if n_ccm > 0 and _later(day, p, last_ccm):
            last_ccm = (day, p)

    def found(p: str, basis: str) -> Attribution:
        agg = per_practice.get(p, [0, None, 0])
        return Attribution(mid, p, basis, agg[0], agg[1] or None)

    if practice is not None:
        return found(practice, "voluntary")
    pre_steps = {k.value: v for k, v in state.settings.pre_steps.items()}
    for step, last in (("awv", last_awv), ("ccm", last_ccm)):
        if last is not None and pre_steps.get(_program_kind(state, payer, last[1], as_of)) == step:
            return found(last[1], step)
    best: tuple | None = None
    winner = None
    for p in sorted(per_practice):  # strict > keeps the lower id on a full tie
        visits, last, allowed = per_practice[p]
        if best is None or (visits, last, allowed) > best:
            best, winner = (visits, last, allowed), p
    if winner is None:
        return Attribution(mid, None, "none")
    return found(winner, "plurality")


def _later(day: str, practice: str, last: tuple[str, str] | None) -> bool:
    """Latest date wins; on the same date the lower practice id (our deterministic choice)."""
    return last is None or day > last[0] or (day == last[0] and practice < last[1])


def attribute(state: PayerState, payer: str, as_of: str, *, cause: int | None = None) -> AttributionRun:
    """Attribute every member eligible with the payer on `as_of`, effective from `as_of`.

    A member who is no longer eligible, or no longer has a practice, but is attributed now gets an
    event with practice None.
    """
    members: dict[str, Attribution] = {}
    changes: list[dict[str, Any]] = []
    for mid in state.payer_members(payer):
        if state.eligible_on(mid, payer, as_of):
            a = attribute_member(state, mid, payer, as_of)
        elif state.members[mid]["payer"] != payer:
            continue  # now another payer's member: that payer's run decides their practice
        else:
            a = Attribution(mid, None, "none")
        if a.practice_id is not None:
            members[mid] = a
        current = state.attributed_on(mid, as_of)
        if current != a.practice_id:
            m = state.members[mid]
            event = AttributionAssigned(
                member_id=mid, subscriber_id=m["sub"], payer_id=payer, practice_id=a.practice_id,
                effective=as_of, basis=a.basis, visits=a.visits, last_visit=a.last_visit)
            changes.append(new_event(event, at=as_of, key=m["sub"], cause=cause))
    return AttributionRun(payer, as_of, members, changes)


def correction(state: PayerState, member_id: str, to_practice: str | None, effective: str,
               reason: str, *, at: str, cause: int | None = None) -> dict[str, Any]:
    """An `attribution.corrected` event moving a member to `to_practice` from `effective` on."""
    m = state.members[member_id]
    event = AttributionCorrected(
        member_id=member_id, subscriber_id=m["sub"], payer_id=m["payer"],
        from_practice=state.attributed_on(member_id, effective), to_practice=to_practice,
        effective=effective, reason=reason)
    return new_event(event, at=at, key=m["sub"], cause=cause)


def retroactive_alignments(state: PayerState, payer: str, since: str, as_of: str,
                           *, cause: int | None = None) -> list[dict[str, Any]]:
    """Voluntary alignments declared with an effective date before the boundary at which they are
    first seen become corrections from that date (the member's stated choice wins for the past
    months too; DOMAIN.md §6 "Misattribution correction"). `since` is the previous boundary."""
    out = []
    for mid in sorted(state.alignments):
        for effective, practice, p in state.alignments[mid]:
            if p != payer or not (since <= effective < as_of):
                continue
            if state.attributed_on(mid, effective) != practice and state.members.get(mid):
                out.append(correction(state, mid, practice, effective, "voluntary alignment",
                                      at=as_of, cause=cause))
    return out


def accuracy(run: AttributionRun, true_pcp: dict[str, str | None]) -> tuple[int, int]:
    """(members attributed to their true PCP, members with a known true PCP) — simulator only."""
    hits = total = 0
    for mid, truth in true_pcp.items():
        if truth is None:
            continue
        total += 1
        a = run.members.get(mid)
        hits += a is not None and a.practice_id == truth
    return hits, total
