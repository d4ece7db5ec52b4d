"""What adjudication knows besides a family's own state: the reference data (precomputed into flat
lookups for the hot path), the run's settings, and the epoch facts the run clock writes to the
ledger (attribution and practice status), which every family shares.

The core reads a Context and never changes it; only `apply_ledger_event` does, in ledger order, so
replaying the ledger rebuilds the same Context the live run had at each point.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import asdict, dataclass, field
from sys import intern
from typing import Any, Final

from claimsim.events.codes import CCM_CODES, DATED_CODES, PROCEDURE_GROUPS
from claimsim.events.plans import LineOfBusiness, Payer
from claimsim.events.programs import Contract, ProgramKind
from claimsim.events.providers import ClinicianRole, PracticeKind
from claimsim.events.reference import ReferenceData
from claimsim.events.timeline import contract_spans, effective_of, set_from, value_at

# Enum values read once: an Enum member's `.value` is a descriptor call, and these are per claim.
_PRIMARY_CARE_ROLE: Final = ClinicianRole.PRIMARY_CARE.value
_PRIMARY_CARE_KIND: Final = PracticeKind.PRIMARY_CARE.value
_SCAN_BACK: Final = 4  # `Context.attributed_on`: the last entries looked at before bisecting

# The ledger event types that are epoch facts the Context ingests.
ATTRIBUTION_TYPES: Final = frozenset({"attribution.assigned", "attribution.corrected"})
CONTEXT_TYPES: Final = ATTRIBUTION_TYPES | {"practice.status"}


@dataclass(frozen=True)
class Settings:
    """Run settings the rules read (DOMAIN.md §3). Recorded in the run manifest.

    `timely_filing_days` None means each payer's own `timely_filing_days` (default 365).
    Sequestration: the payer's reference data is the one source of truth (a Medicare FFS payer's
    `sequestration_bp`, 0 = off); `sequestration` None follows it, and only an explicit override
    changes it: True turns it on for Medicare FFS payers (their own rate, or `sequestration_bp`
    where theirs is 0), False turns it off.
    `raw_limit` is how many characters of a rejected claim's raw payload the rejection keeps.
    """

    sequestration: bool | None = None
    sequestration_bp: int = 200
    timely_filing_days: int | None = None
    raw_limit: int = 512

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown adjudication setting(s): {sorted(unknown)}")
        return cls(**data)


def sequestration_bp(payer: Payer, settings: Settings) -> int:
    """The sequestration rate a run applies to a payer's plan paid (DOMAIN.md §3.8): Medicare FFS
    payers only; their reference data unless the settings override it explicitly."""
    if payer.lob is not LineOfBusiness.MEDICARE_FFS or settings.sequestration is False:
        return 0
    if settings.sequestration is None:
        return payer.sequestration_bp
    return payer.sequestration_bp or settings.sequestration_bp


def sequestration_rates(reference: ReferenceData, settings: Settings) -> dict[str, int]:
    """Payer id -> the sequestration rate a run applies (only payers with one), as the run
    manifest records it."""
    rates = {p.payer_id: sequestration_bp(p, settings) for p in reference.payers}
    return {payer: bp for payer, bp in sorted(rates.items()) if bp}


@dataclass(frozen=True, slots=True)
class Design:
    """One plan year's benefit design, flattened (ints, None = no limit)."""

    ded_ind: int
    ded_fam: int
    coins_bp: int
    oop_ind: int | None
    oop_fam: int | None
    embedded: bool
    copays: dict[str, int]  # visit category value -> cents
    preventive_zero: bool
    part_b: bool


@dataclass(frozen=True, slots=True)
class Program:
    """A contract's program, flattened for the payment-model step."""

    kind: str
    hybrid_bp: int
    reduced: bool  # cost_share_basis == reduced
    capitated: frozenset[str]  # procedure group values
    denied: frozenset[str]  # procedure codes denied CO-96 for attributed members
    # Codes of a capitated group the program does not capitate: CPC+'s chronic care management
    # (DOMAIN.md §3 step 5: "CCM is not in CPC+'s capitated services"), all four CCM codes; the
    # three it denies never reach the offset, and 99491 is paid FFS in full.
    uncapitated: frozenset[str]
    flat_fee: dict[int, int]  # year -> PCF flat visit fee (cents); empty unless PCF
    # `programs.line_model`'s answers for attributed members' lines, by procedure code: they
    # depend only on this program and the code, and most lines are of a program practice.
    attributed_models: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _interned(value: Any) -> Any:
    """`sys.intern` of a str (an id or a day), other values as they are."""
    return intern(value) if type(value) is str else value


class PlanInfo:
    """A plan's payer and its benefit designs by plan year (a plain class: compiled, its fields
    are read natively, where a `NamedTuple`'s went through a generic attribute lookup)."""

    __slots__ = ("plan_id", "payer_id", "designs")

    def __init__(self, plan_id: str, payer_id: str, designs: dict[int, Design]):
        self.plan_id = plan_id  # the very key of `Context.plans` (`core._enroll` stores it)
        self.payer_id = payer_id
        self.designs = designs


@dataclass(frozen=True, slots=True)
class PayerInfo:
    lob: str
    sequestration_bp: int  # 0 when sequestration does not apply to this payer or run
    timely_days: int
    processing_days: int
    fees: dict[int, dict[str, int]]  # year -> code -> cents for one unit
    # year -> the accumulators' key "payer|year" (`line_plan`), built once per year.
    acc_keys: dict[int, str] = field(default_factory=dict, compare=False, repr=False)


_CPC_PLUS: Final = frozenset({ProgramKind.CPCP_T1, ProgramKind.CPCP_T2})
_CPC_PLUS_UNCAPITATED: Final = frozenset(CCM_CODES)


def _program(contract: Contract) -> Program:
    s = contract.program
    return Program(
        kind=s.kind.value,
        hybrid_bp=s.hybrid_bp,
        reduced=s.cost_share_basis.value == "reduced",
        capitated=frozenset(g.value for g in s.capitated_groups),
        denied=frozenset(s.denied_codes),
        uncapitated=_CPC_PLUS_UNCAPITATED if s.kind in _CPC_PLUS else frozenset(),
        flat_fee=(
            {y: f.flat_visit_fee for y, f in s.figures.items()}
            if s.kind is ProgramKind.PCF else {}
        ),
    )


class Context:
    """Reference data + settings + epoch facts, as the core's lookups.

    Epoch facts: `attribution.assigned` / `attribution.corrected` set a member's practice (None:
    unattributed) from their effective date on, and `practice.status` sets whether a practice's
    program is active with a payer from its effective date on. Choice (DOMAIN.md is silent): a
    fact applies from its own date onward and supersedes facts known earlier for those dates,
    including ones dated later, because the ledger holds them in the order the run clock learned
    them, and the latest knowledge wins for the period it covers.
    """

    def __init__(self, reference: ReferenceData, settings: Settings | None = None):
        self.reference = reference
        self.settings = settings or Settings()
        # Lines carry the file's own pricing (`engine.file_pricing`), not the fee schedule's.
        self.price_from_file = reference.price_from_file
        # `events.timeline` timelines of (effective ISO day, value) entries.
        self._attribution: dict[str, list[tuple[str, str | None]]] = {}
        # payer -> practice -> timeline: two lookups by str (whose hashes the strs keep) cost
        # less than building, hashing and comparing a (payer, practice) tuple key per claim.
        self._status: dict[str, dict[str, list[tuple[str, bool]]]] = {}
        self._build_lookups()

    # -- precomputed reference lookups ---------------------------------------------------
    def _build_lookups(self) -> None:
        ref, settings = self.reference, self.settings
        self.payers: dict[str, PayerInfo] = {}
        for p in ref.payers:
            schedule = ref.fee_schedule_of_payer[p.payer_id]
            self.payers[p.payer_id] = PayerInfo(
                lob=p.lob.value,
                sequestration_bp=sequestration_bp(p, settings),
                timely_days=settings.timely_filing_days or p.timely_filing_days,
                processing_days=p.processing_days,
                fees={year: dict(table) for year, table in schedule.amounts.items()},
            )
        self.plans: dict[str, PlanInfo] = {}
        for plan in ref.plans:
            designs = {
                year: Design(
                    ded_ind=b.deductible_individual,
                    ded_fam=b.deductible_family,
                    coins_bp=b.coinsurance_bp,
                    oop_ind=b.oop_individual,
                    oop_fam=b.oop_family,
                    embedded=b.embedded,
                    copays={k.value: v for k, v in b.copays.items()},
                    preventive_zero=b.preventive_zero,
                    part_b=b.part_b_style,
                )
                for year, b in plan.benefits.items()
            }
            self.plans[plan.plan_id] = PlanInfo(plan.plan_id, plan.payer_id, designs)
        self.practice_kind: dict[str, str] = {p.practice_id: p.kind.value for p in ref.practices}
        self.clinician_role: dict[str, str] = {
            npi: c.role.value for npi, (_, c) in ref.clinician.items()
        }
        # Dated codes reach pricing only on dates they are valid (validation rejects the rest).
        self.code_group: dict[str, str] = {c: g.value for c, g in PROCEDURE_GROUPS.items()}
        self.code_group.update({c: v.group.value for c, v in DATED_CODES.items()})
        known = set(PROCEDURE_GROUPS) | set(DATED_CODES)
        for schedule in ref.fee_schedules:
            for table in schedule.amounts.values():
                known.update(table)
        self.known_codes: frozenset[str] = frozenset(known)
        # `events.timeline` spans (start, end or None, program) by (payer, practice), ISO days.
        # by payer, then practice (as `_status`).
        self._contracts: dict[str, dict[str, list[tuple[str, str | None, Program]]]] = {}
        for (payer_id, practice_id), spans in contract_spans(ref.contracts, _program,
                                                             iso=True).items():
            self._contracts.setdefault(payer_id, {})[practice_id] = spans

    def program_on(self, payer_id: str, practice_id: str, day: str) -> Program | None:
        """The program of the practice's contract with the payer on an ISO day (None: FFS):
        `events.timeline.span_on` inlined, typed (tests/events/test_timeline.py holds the two
        together)."""
        by_practice = self._contracts.get(payer_id)
        if by_practice is None:
            return None
        spans = by_practice.get(practice_id)
        if spans is None:
            return None
        for start, end, program in spans:
            if start <= day and (end is None or day <= end):
                return program
        return None

    def is_primary_care(self, practice_id: str, npi: str) -> bool:
        role = self.clinician_role.get(npi)
        if role is not None:
            return role == _PRIMARY_CARE_ROLE
        return self.practice_kind.get(practice_id) == _PRIMARY_CARE_KIND

    # -- epoch facts -----------------------------------------------------------------------
    def apply_ledger_event(self, env: dict[str, Any]) -> bool:
        """Ingest an attribution or practice-status ledger envelope; other types are ignored.

        Returns whether the event was one the Context keeps.
        """
        kind = env["type"]
        if kind not in CONTEXT_TYPES:
            return False
        d = env["data"]
        # A timeline's days and practices are interned: one shared object each, which the
        # claims' lookups (`attributed_on`) then read from the cache, where a copy per entry
        # was a cache miss each (a practice id and a day per member).
        if kind == "attribution.assigned":
            set_from(self._attribution.setdefault(d["member_id"], []),
                     (intern(str(d["effective"])), _interned(d["practice_id"])))
        elif kind == "attribution.corrected":
            set_from(self._attribution.setdefault(d["member_id"], []),
                     (intern(str(d["effective"])), _interned(d["to_practice"])))
        else:
            set_from(self._status.setdefault(d["payer_id"], {}).setdefault(d["practice_id"], []),
                     (str(d["effective"]), bool(d["active"])))
        return True

    def attributed_on(self, member_id: str, day: str) -> str | None:
        """The practice the member is attributed to on an ISO day (None: unattributed):
        `events.timeline.value_at` inlined for the hot path (a test checks that the two agree).
        A timeline's effective days strictly increase (`set_from`), and a claim's day nearly
        always falls in one of its last entries' periods (a member's first, often only, entry
        included): those are looked at from the end, typed, before bisecting the rest with a
        key, whose call (keyword argument, a key call per step) cost some 1,900 instructions a
        claim. Bisecting the (day, practice) entries with a key measured ~0.85 us per lookup
        against ~0.5 us for the former parallel list of days (timeit, 24-entry timelines,
        load ~12): kept for one timeline type."""
        timeline = self._attribution.get(member_id)
        if timeline is None:
            return None
        i = len(timeline)
        stop = i - _SCAN_BACK if i > _SCAN_BACK else 0
        while i > stop:
            i -= 1
            effective, practice = timeline[i]
            if effective <= day:
                return practice
        if not i:
            return None  # before the first entry
        i = bisect.bisect_right(timeline, day, 0, i, key=effective_of)  # entries [i:] are later
        return timeline[i - 1][1] if i else None

    def program_active(self, payer_id: str, practice_id: str, day: dt.date | str) -> bool:
        """Whether the practice's program with the payer is in effect on `day` (default True)."""
        by_practice = self._status.get(payer_id)
        timeline = by_practice.get(practice_id) if by_practice is not None else None
        if timeline is None:
            return True
        return value_at(timeline, day if isinstance(day, str) else day.isoformat(), True)

