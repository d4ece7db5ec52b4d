"""Attribution (DOMAIN.md §6): who each member's primary-care practice is, as of a boundary date.

Voluntary alignment first; then the program pre-steps (PCF: the practice of the most recent
AWV/IPPE; CPC+: the practice billing chronic care management), each applying only when that
practice holds that program with the member's payer; then the plurality of qualifying primary-care
visits by primary-care clinicians over the lookback. Ties: most recent visit, then larger allowed,
then lower practice id. A run emits `attribution.assigned` for every member whose practice changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from claimsim.events.envelope import new_event
from claimsim.events.ledger import AttributionAssigned, AttributionCorrected

from claimsim.events.calendar import add_months

CHANGE_BATCH = 4096  # attribution events built and recorded at a time

if TYPE_CHECKING:
    from claimsim.adjudication.projections.state import PayerState


@dataclass(frozen=True, slots=True)
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
    # Each member whose practice changes, with their subscriber (the event's key). The events are
    # built a batch at a time (`change_batches`): a first boundary changes every member, and a
    # million events held at once would be most of a payer-scale run's memory.
    moved: list[tuple[Attribution, str]]
    cause: int | None = None

    @property
    def changes(self) -> list[dict[str, Any]]:
        """Every attribution.assigned event of the run, ready to append."""
        return [self.change_event(a, sub) for a, sub in self.moved]

    def change_batches(self, size: int = CHANGE_BATCH) -> Iterator[list[dict[str, Any]]]:
        """The same events as `changes`, `size` at a time, each batch built when asked for."""
        for start in range(0, len(self.moved), size):
            yield [self.change_event(a, sub) for a, sub in self.moved[start:start + size]]

    def change_event(self, a: Attribution, subscriber: str) -> dict[str, Any]:
        event = AttributionAssigned(
            member_id=a.member_id, subscriber_id=subscriber, payer_id=self.payer_id,
            practice_id=a.practice_id, effective=self.as_of, basis=a.basis, visits=a.visits,
            last_visit=a.last_visit)
        return new_event(event, at=self.as_of, key=subscriber, cause=self.cause)

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


@dataclass(frozen=True)
class PracticeVisits:
    """A practice's qualifying primary-care visits by one member in the lookback window."""

    practice_id: str
    visits: int
    last_visit: str
    allowed: int  # cents, on the counted lines


@dataclass(frozen=True)
class AttributionEvidence:
    """Everything one member's attribution is decided from, as of a date: what a practice
    disputing an attribution asks to see (DOMAIN.md §6)."""

    member_id: str
    payer_id: str
    as_of: str
    since: str  # the lookback window is [since, as_of)
    voluntary: str | None  # the member's latest stated choice, if any
    practices: tuple[PracticeVisits, ...]  # ranked: most visits, latest visit, larger allowed, lower id
    last_awv: tuple[str, str] | None  # (day, practice) of the latest AWV/IPPE in the window
    last_ccm: tuple[str, str] | None  # (day, practice) of the latest chronic care management
    pre_step: tuple[str, str, str] | None  # (step, practice, program) of the pre-step that applies


def member_evidence(state: PayerState, mid: str, payer: str, as_of: str) -> AttributionEvidence:
    """The member's visits per practice in [as_of - lookback, as_of), their latest AWV and CCM,
    their voluntary choice and the program pre-step that applies, if any."""
    return _evidence(state, mid, payer, as_of, *_window(state, as_of))


def _window(state: PayerState, as_of: str) -> tuple[str, dict[str, str]]:
    """(the lookback's first day, program kind -> its pre-step): the same for every member of a
    run, so `attribute` finds them once."""
    return (add_months(as_of, -state.settings.attribution_lookback_months),
            {k.value: v for k, v in state.settings.pre_steps.items()})


def _evidence(state: PayerState, mid: str, payer: str, as_of: str, since: str,
              pre_steps: dict[str, str]) -> AttributionEvidence:
    """`member_evidence`, with its window (`_window`) given."""
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
    pre_step = None
    for step, last in (("awv", last_awv), ("ccm", last_ccm)):
        program = last is not None and _program_kind(state, payer, last[1], as_of)
        if program and pre_steps.get(program) == step:
            pre_step = (step, last[1], program)
            break
    # Ranked by (visits, last visit, allowed) descending, then the lower practice id: sorted by
    # id, then stably by the [visits, last visit, allowed] lists, largest first (a stable sort
    # keeps equal lists in id order, reversed or not; the last visits are ISO days, one length).
    ranked = sorted(per_practice.items())
    if len(ranked) > 1:
        ranked.sort(key=_counts, reverse=True)
    return AttributionEvidence(
        member_id=mid, payer_id=payer, as_of=as_of, since=since,
        voluntary=_voluntary(state, mid, payer, as_of),
        practices=tuple(PracticeVisits(p, v, last, allowed) for p, (v, last, allowed) in ranked),
        last_awv=last_awv, last_ccm=last_ccm, pre_step=pre_step)


def _counts(item: tuple[str, list]) -> list:
    return item[1]


def decide(evidence: AttributionEvidence) -> Attribution:
    """The attribution the evidence gives: voluntary alignment, else the program pre-step, else
    the plurality winner (the first of the ranked practices), else none."""
    visits = {pv.practice_id: pv for pv in evidence.practices}

    def found(p: str, basis: str) -> Attribution:
        pv = visits.get(p)
        return Attribution(evidence.member_id, p, basis, pv.visits if pv else 0,
                           pv.last_visit if pv else None)

    if evidence.voluntary is not None:
        return found(evidence.voluntary, "voluntary")
    if evidence.pre_step is not None:
        return found(evidence.pre_step[1], evidence.pre_step[0])
    if not evidence.practices:
        return Attribution(evidence.member_id, None, "none")
    return found(evidence.practices[0].practice_id, "plurality")


def tie_break(evidence: AttributionEvidence) -> str:
    """Which rule separated the plurality winner from the runner-up, in words."""
    if len(evidence.practices) < 2:
        return "only one practice had qualifying visits" if evidence.practices else "no qualifying visits"
    first, second = evidence.practices[0], evidence.practices[1]
    if first.visits != second.visits:
        return f"most visits ({first.visits} vs {second.visits} at {second.practice_id})"
    if first.last_visit != second.last_visit:
        return (f"tied on {first.visits} visits with {second.practice_id}; the most recent visit "
                f"({first.last_visit} vs {second.last_visit}) decided")
    if first.allowed != second.allowed:
        return (f"tied on visits and latest visit with {second.practice_id}; the larger allowed "
                f"total decided ({first.allowed} vs {second.allowed} cents)")
    return f"tied on visits, latest visit and allowed with {second.practice_id}; the lower practice id decided"


def _later(day: str, practice: str, last: tuple[str, str] | None) -> bool:
    """Latest date wins; on the same date the lower practice id (our deterministic choice)."""
    return last is None or day > last[0] or (day == last[0] and practice < last[1])


def attribute(state: PayerState, payer: str, as_of: str, *, cause: int | None = None,
              record_changes: bool = True) -> AttributionRun:
    """Attribute every member eligible with the payer on `as_of`, effective from `as_of`.

    A member who is no longer eligible, or no longer has a practice, but is attributed now gets an
    event with practice None. Without `record_changes` (a report's view) no events are built.
    """
    members: dict[str, Attribution] = {}
    moved: list[tuple[Attribution, str]] = []
    since, pre_steps = _window(state, as_of)
    for mid in state.payer_members(payer):
        if state.eligible_on(mid, payer, as_of):
            # The member's attribution from visits in [as_of - lookback, as_of).
            a = decide(_evidence(state, mid, payer, as_of, since, pre_steps))
        elif state.members[mid].payer != payer:
            continue  # now another payer's member: that payer's run decides their practice
        else:
            a = Attribution(mid, None, "none")
        if a.practice_id is not None:
            members[mid] = a
        if record_changes and state.attributed_on(mid, as_of) != a.practice_id:
            moved.append((a, state.members[mid].sub))
    return AttributionRun(payer, as_of, members, moved, cause)


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
