"""The payer-side projection of a run's logs: members and enrollment, alignment choices, quality
reports (input log), primary-care visits, diagnoses, FFS by practice and month, the attribution
and practice-status timelines and the prospective payments made (ledger). Attribution, risk,
prospective payments, snapshots and reconciliation are pure functions of this state.

State is JSON data (ISO date strings, ints, lists, dicts) so `events.projection`'s runner can
checkpoint it, held compactly where it grows with the members (`fold.packed`: visit, FFS and
condition rows packed per member; `fold.membership.Member` records), which `state()` writes as the
same JSON and `restore` reads back; `apply` takes raw envelopes of either log (their types do not overlap) and is the
only thing that changes it, through the per-concern handlers of `projections.fold`.
`follower.LedgerFollower` feeds it a run's logs.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from sys import intern
from typing import Any

from claimsim.events.codes import PROCEDURE_GROUPS
from claimsim.events.encoding import canonical, canonical_nested, canonical_pieces
from claimsim.events.plans import LineOfBusiness
from claimsim.events.programs import ProgramKind
from claimsim.events.providers import ClinicianRole
from claimsim.events.reference import ReferenceData
from claimsim.events.timeline import EFFECTIVE, VALUE, contract_spans, entry_at, span_on, value_at

from claimsim.adjudication.projections.fold import CONCERNS, HANDLERS, QUALITY_HANDLERS
from claimsim.adjudication.projections.fold import flat_fees as flat_fees_concern
from claimsim.adjudication.projections.fold import quality as quality_concern
from claimsim.adjudication.projections.fold.claims import QUALIFYING, Reads
from claimsim.adjudication.projections.fold.follow import apply as apply_envelope
from claimsim.adjudication.projections.fold.membership import SPAN_PAYER, Member, enrolled_on
from claimsim.adjudication.projections.fold.packed import Codes, LatestDates
from claimsim.adjudication.projections.fold.rows import PackedRows
from claimsim.adjudication.projections.fold.payments import MemberPayments
from claimsim.adjudication.projections.settings import ProjectionSettings

# The money row layout moved to `projections.money`; these names stay importable from here.
from claimsim.adjudication.projections.money import (  # noqa: F401
    M_ALL_VISITS, M_ALLOWED, M_CLAIM_ADJ, M_COST_SHARE, M_FFS_PAID, M_FFS_SERVICE, M_LEAK_COST,
    M_LEAK_VISITS, M_MEDICAID_COST_SHARE, M_OFFSETS, M_SEQUESTRATION, M_SHADOW, MONEY_WIDTH)


PACKED = (PackedRows, LatestDates, MemberPayments)
PIECE_KEYS = 4096  # a state dict larger than this is written to a checkpoint in pieces


class PayerState:
    """The fold. Attribute names are the state's keys; see `state()` and each concern's `reset`
    in `projections.fold` for what they hold."""

    name = "payer-state"

    # The state's keys, set by each concern's `reset` (declared here so the compiled fold reads
    # them as typed attributes; see the concern for what each holds).
    members: dict[str, Member]
    alignments: dict[str, list[list]]
    quality: dict[str, dict[str, list[int]]]
    pending_dx: dict[str, list[str]]
    visits: PackedRows
    ffs: PackedRows
    dx: LatestDates
    money: dict[str, list[int]]
    attribution: dict[str, list]
    status: dict[str, list[list]]
    facts: dict[str, list[list]]
    dirty: dict[str, bool]
    trueup: list[str]
    boundaries: list[list]
    paid: MemberPayments
    paid_original: dict[str, dict[str, int]]
    paid_basis: dict[str, dict[str, dict]]
    adjusted_in: dict[str, dict[str, int]]
    adjusted_for: dict[str, dict[str, int]]
    snapshots: dict[str, int]
    reconciled: dict[str, int]
    hba1c: dict[str, list[list]]
    flat_fees: dict[str, dict[str, Any]]
    flat_fees_due: dict[str, dict[str, Any]]
    diabetes_days: dict[str, list[str]]
    # Not state: what `__init__` and `reset` derive, declared for the compiled fold too (a typed
    # attribute is a native call on a compiled class's methods, an untyped one a Python call).
    _codes: Codes
    _groups: dict[str, str]
    _tracked: frozenset[str]
    _pc_npis: frozenset[str]
    _handlers: dict[str, Any]
    _claims: Reads

    def __init__(self, reference: ReferenceData, settings: ProjectionSettings | None = None):
        self.reference = reference
        self.settings = settings or ProjectionSettings()
        claims_quality = self.settings.quality_source == "claims"
        self._handlers = QUALITY_HANDLERS if claims_quality else HANDLERS
        # Checkpoints of runs scored on reported quality keep the keys they always had.
        self._state_keys = self._KEYS if claims_quality else tuple(
            k for k in self._KEYS if k not in quality_concern.KEYS)
        self._pc_npis = frozenset(npi for npi, (_, c) in reference.clinician.items()
                                  if c.role is ClinicianRole.PRIMARY_CARE)
        self._groups = {c: g.value for c, g in PROCEDURE_GROUPS.items()}
        self._medicare_ffs = {p.payer_id for p in reference.payers
                              if p.lob is LineOfBusiness.MEDICARE_FFS}
        # `events.timeline` spans of each contract's capitated procedure groups (none for FFS).
        self._capitated = contract_spans(reference.contracts, _capitated_groups, iso=True)
        self._tracked = frozenset(QUALIFYING).union(
            *(frozenset(g.value for g in c.program.capitated_groups) for c in reference.contracts))
        # Set by a follower that skips the input's claims (their diagnoses are on the ledger's
        # lines): a claim entry without them then cannot be folded right. Not state.
        self.input_dx_skipped = False
        self.reset()

    def reset(self) -> None:
        self._payer_members: dict[str, list[str]] = {}  # a cache, not state
        self._codes = Codes()  # the strings of the packed stores' rows, as small ints
        self._shared: dict[tuple, tuple] = {}  # one copy of tuples many members hold (spans...)
        self.last_seq = -1  # last ledger seq applied
        self.last_at = ""  # its simulation date
        self.input_seq = -1  # last input seq applied
        for concern in CONCERNS:
            concern.reset(self)

    # -- checkpointing ----------------------------------------------------------------------
    _KEYS = ("last_seq", "last_at", "input_seq", *(k for c in CONCERNS for k in c.KEYS))

    def state(self) -> dict[str, Any]:
        """The checkpoint's JSON: packed stores as the dicts of lists they stand for; `Member`
        records as they are (orjson writes them as dicts, with no copy made here)."""
        out = {}
        for k in self._checkpointed():
            v = getattr(self, k)
            out[k] = v.to_json() if isinstance(v, PACKED) else v
        return out

    def _checkpointed(self) -> list[str]:
        """The state keys a checkpoint holds: a key left out while empty (`fold.flat_fees`)
        only when it holds something."""
        return [k for k in self._state_keys
                if k not in flat_fees_concern.OMITTED_EMPTY or getattr(self, k)]

    def state_pieces(self) -> Iterator[bytes]:
        """`canonical(self.state())` in pieces (`events.encoding.canonical_pieces`): the
        per-member stores a batch of members at a time, so a checkpoint of a million members
        never holds their rows decoded, nor the whole checkpoint's bytes."""
        yield b"{"
        for i, k in enumerate(sorted(self._checkpointed())):
            yield (b"," if i else b"") + canonical(k) + b":"
            v = getattr(self, k)
            if isinstance(v, PACKED):
                # per-member stores PIECE_KEYS members a piece; payments (a practice-month's
                # members in each key) fewer keys, their own PIECE_KEYS
                yield from canonical_pieces(v, batch=getattr(v, "PIECE_KEYS", PIECE_KEYS))
            else:  # a large dict in batches, also one nested in a small value (the risk facts)
                yield from canonical_nested(v, batch=PIECE_KEYS)
        yield b"}"

    def restore(self, state: dict[str, Any]) -> None:
        self.reset()
        for k in self._KEYS:
            if k not in state:  # a checkpoint from before a concern existed keeps its reset value
                continue
            current = getattr(self, k)
            if isinstance(current, PACKED):
                current.load(state[k])
            elif k == "members":
                self.members = {intern(mid): m if isinstance(m, Member) else Member.of(m)
                                for mid, m in state[k].items()}
            else:
                setattr(self, k, state[k])

    # -- the fold -----------------------------------------------------------------------------
    def apply(self, env: dict[str, Any]) -> None:
        """Fold a raw envelope of either log (`fold.follow.apply`)."""
        apply_envelope(self, env, self._handlers)

    # -- queries the rules share ----------------------------------------------------------------
    def capitated_groups(self, payer: str, practice: str, day: str) -> frozenset[str]:
        """The procedure groups the practice's program with the payer capitates on an ISO day.
        Not cached by day: a practice has a contract span or two, and a cache by (payer,
        practice, day) grew to about 200,000 keys (some 48 MB) at a million members."""
        spans = self._capitated.get((payer, practice))
        return (span_on(spans, day) or _NONE) if spans else _NONE

    def visit_days(self, member: str) -> dict[str, list[int]]:
        """The member's visits summed per "practice|day": [qualifying lines by primary-care
        clinicians, AWV lines, CCM lines, allowed on the counted lines] (voids netted out;
        positions `fold.claims.VD_*`)."""
        days: dict[str, list[int]] = {}
        for practice, day, qual, awv, ccm, allowed in self.visits.get(member, ()):
            v = days.get(practice + "|" + day)
            if v is None:
                days[practice + "|" + day] = [qual, awv, ccm, allowed]
            else:
                v[0] += qual
                v[1] += awv
                v[2] += ccm
                v[3] += allowed
        return days

    # `fold.membership.enrolled_on` as a method, without a call of its own between.
    enrolled_on = enrolled_on

    def eligible_on(self, member: str, payer: str, day: str) -> bool:
        """Enrolled with the payer on the day; Medicare FFS members in hospice do not count.
        `enrolled_on` inlined: asked for every member at every boundary, several times."""
        m = self.members.get(member)
        if m is None:
            return False
        for p, start, end in m.spans:
            if p == payer and start <= day and (end is None or day <= end):
                return not (m.hospice and payer in self._medicare_ffs)
        return False

    def payer_members(self, payer: str) -> list[str]:
        """Members ever enrolled with the payer, in id order (cached until an enrollment)."""
        cached = self._payer_members.get(payer)
        if cached is None:  # one pass over the members refills every payer's list missing
            found: dict[str, set[str]] = {payer: set()}
            for mid, m in self.members.items():
                for s in m["spans"]:
                    found.setdefault(s[SPAN_PAYER], set()).add(mid)
            for p, mids in found.items():
                if p not in self._payer_members:
                    self._payer_members[p] = sorted(mids)
            cached = self._payer_members[payer]
        return cached

    def members_by_practice(self, payer: str, day: str) -> dict[str, list[str]]:
        """practice -> the payer's members attributed to it and eligible on `day`, each list in
        the payer's member order (practices in the order their first member comes): one pass
        over the members for every practice, as a boundary's payments and a month's snapshots
        ask (`attributed_on`, for every member of the payer each time)."""
        attribution, eligible_on = self.attribution, self.eligible_on
        by_practice: dict[str, list[str]] = {}
        for m in self.payer_members(payer):
            timeline = attribution.get(m)
            if not timeline:
                continue
            practice = value_at(timeline, day)
            if practice is not None and eligible_on(m, payer, day):
                members = by_practice.get(practice)
                if members is None:
                    by_practice[practice] = [m]
                else:
                    members.append(m)
        return by_practice

    def member_months(self, payer: str, days: list[str]) -> list[dict[str, int]]:
        """For each of `days` (ascending ISO days), practice -> how many of the payer's members
        are attributed to it and eligible that day: the lengths of `members_by_practice`'s
        lists, every day counted in one pass over the members (a run's snapshots count each
        month's first day; a pass a month was a tenth of a million-member reports-only resume).
        Each member's attribution entries and enrollment spans become ranges of `days` (value_at:
        entry i holds from its day to the next entry's; a span from its start to its end,
        inclusive), added into a difference array per practice."""
        n, members, attribution = len(days), self.members, self.attribution
        hospice_out = payer in self._medicare_ffs  # such members are never eligible (`eligible_on`)
        diffs: dict[str, list[int]] = {}
        for mid in self.payer_members(payer):
            timeline = attribution.get(mid)
            m = members.get(mid) if timeline else None
            if m is None or (hospice_out and m.hospice):
                continue
            covered = _day_ranges(m.spans, payer, days)
            last = len(timeline) - 1
            for i, entry in enumerate(timeline):
                practice = entry[VALUE]
                if practice is None:
                    continue
                lo = bisect_left(days, entry[EFFECTIVE])
                hi = n if i == last else bisect_left(days, timeline[i + 1][EFFECTIVE])
                for start, end in covered:
                    start, end = max(start, lo), min(end, hi)
                    if start < end:
                        diff = diffs.get(practice)
                        if diff is None:
                            diff = diffs[practice] = [0] * (n + 1)
                        diff[start] += 1
                        diff[end] -= 1
        counts: list[dict[str, int]] = [{} for _ in days]
        for practice, diff in diffs.items():
            running = 0
            for k in range(n):
                running += diff[k]
                if running:
                    counts[k][practice] = running
        return counts

    def attributed_on(self, member: str, day: str) -> str | None:
        timeline = self.attribution.get(member)
        return value_at(timeline, day) if timeline else None

    def attribution_entry_on(self, member: str, day: str) -> list | None:
        """[effective, practice, basis] in force on the day (`fold.timelines.A_*`)."""
        timeline = self.attribution.get(member)
        return entry_at(timeline, day) if timeline else None

    def status_on(self, payer: str, practice: str, day: str) -> list | None:
        """[effective, active, attributed, risk group, reason] in force (`fold.timelines.S_*`)."""
        timeline = self.status.get(f"{payer}|{practice}")
        return entry_at(timeline, day) if timeline else None

    def facts_on(self, payer: str, day: str) -> dict[str, list[int]]:
        """Member risk facts of the latest boundary on or before `day` ({} before the first)."""
        found: dict[str, list[int]] = {}
        for effective, facts in self.facts.get(payer, ()):
            if effective <= day:
                found = facts
        return found


_NONE: frozenset[str] = frozenset()


def _capitated_groups(contract) -> frozenset[str]:
    if contract.program.kind is ProgramKind.FFS:
        return frozenset()
    return frozenset(g.value for g in contract.program.capitated_groups)


def _day_ranges(spans, payer: str, days: list[str]) -> list[tuple[int, int]]:
    """The [lo, hi) index ranges of `days` that the payer's enrollment spans (start, end
    inclusive or None) cover, merged where they overlap or touch (a day counts once)."""
    ranges = sorted((bisect_left(days, start), len(days) if end is None else bisect_right(days, end))
                    for p, start, end in spans if p == payer)
    merged: list[tuple[int, int]] = []
    for lo, hi in ranges:
        if lo >= hi:
            continue
        if merged and lo <= merged[-1][1]:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged
