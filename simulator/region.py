"""The default region: payers, plans, practices and their contracts, as `events` reference data.

`build_region` turns a `SimConfig` into the `ReferenceData` the payer side loads (reference.json)
plus the simulator-only facts about each practice (charge multiplier, true quality, referral
offset). Kept apart from the dynamics so a scenario file can swap the region and keep the model.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from claimsim.events.codes import PlaceOfService
from claimsim.events.errors import UserError
from claimsim.events.fee_schedule import default_fee_schedule
from claimsim.events.money import BasisPoints
from claimsim.events.plans import (
    LineOfBusiness,
    Payer,
    Plan,
    commercial_plans,
    medicaid_plan,
    medicare_advantage_plan,
    part_b_plan,
)
from claimsim.events.programs import Contract, ProgramKind, ProgramSettings
from claimsim.events.providers import Clinician, ClinicianRole, Practice, PracticeKind
from claimsim.events.reference import ReferenceData
from claimsim.simulator.config import SimConfig
from claimsim.simulator.streams import py_stream

PAYER_IDS: dict[LineOfBusiness, str] = {
    LineOfBusiness.MEDICARE_FFS: "MEDICARE-FFS",
    LineOfBusiness.MEDICARE_ADVANTAGE: "MEDICARE-ADV",
    LineOfBusiness.MEDICAID: "MEDICAID",
    LineOfBusiness.COMMERCIAL: "COMMERCIAL",
}
PAYER_NAMES: dict[LineOfBusiness, str] = {
    LineOfBusiness.MEDICARE_FFS: "Medicare fee-for-service",
    LineOfBusiness.MEDICARE_ADVANTAGE: "Medicare Advantage plan",
    LineOfBusiness.MEDICAID: "Medicaid managed care",
    LineOfBusiness.COMMERCIAL: "Commercial insurer",
}

PLACE_OF_SERVICE: dict[PracticeKind, str] = {
    PracticeKind.PRIMARY_CARE: PlaceOfService.OFFICE.value,
    PracticeKind.SPECIALIST: PlaceOfService.OFFICE.value,
    PracticeKind.URGENT_CARE: PlaceOfService.URGENT_CARE.value,
    PracticeKind.ED: PlaceOfService.EMERGENCY_ROOM.value,
    PracticeKind.LAB: PlaceOfService.INDEPENDENT_LAB.value,
    PracticeKind.IMAGING: PlaceOfService.OUTPATIENT_HOSPITAL.value,
    PracticeKind.HOSPITALIST: PlaceOfService.INPATIENT_HOSPITAL.value,
    PracticeKind.THERAPY: PlaceOfService.OFFICE.value,
}
_ROLE: dict[PracticeKind, ClinicianRole] = {
    PracticeKind.PRIMARY_CARE: ClinicianRole.PRIMARY_CARE,
    PracticeKind.SPECIALIST: ClinicianRole.SPECIALIST,
    PracticeKind.URGENT_CARE: ClinicianRole.OTHER,
    PracticeKind.ED: ClinicianRole.EMERGENCY,
    PracticeKind.LAB: ClinicianRole.OTHER,
    PracticeKind.IMAGING: ClinicianRole.OTHER,
    PracticeKind.HOSPITALIST: ClinicianRole.SPECIALIST,
    PracticeKind.THERAPY: ClinicianRole.OTHER,
}
_PREFIX: dict[PracticeKind, tuple[str, str]] = {
    PracticeKind.PRIMARY_CARE: ("PC", "Primary care"),
    PracticeKind.SPECIALIST: ("SP", "Specialty group"),
    PracticeKind.URGENT_CARE: ("UC", "Urgent care"),
    PracticeKind.ED: ("ED", "Emergency department"),
    PracticeKind.LAB: ("LAB", "Laboratory"),
    PracticeKind.IMAGING: ("IMG", "Imaging center"),
    PracticeKind.HOSPITALIST: ("HSP", "Hospitalist group"),
    PracticeKind.THERAPY: ("PT", "Therapy practice"),
}


@dataclass(frozen=True)
class PracticeFacts:
    """What the simulator knows about a practice beyond the reference data."""

    index: int
    practice_id: str
    kind: PracticeKind
    place_of_service: str
    npis: tuple[str, ...]
    capacity: int
    charge_bp: BasisPoints  # billed = fee schedule amount x this
    quality_bp: BasisPoints  # true quality (reported with noise)
    utilization_bp: BasisPoints
    referral_offset_bp: int  # this practice's own lean on avoidable referrals
    program_by_payer: dict[str, ProgramKind] = field(default_factory=dict)
    hybrid_by_payer: dict[str, BasisPoints] = field(default_factory=dict)


@dataclass(frozen=True)
class Region:
    reference: ReferenceData
    practices: tuple[PracticeFacts, ...]
    payer_of_lob: dict[LineOfBusiness, str]
    plans_of_lob: dict[LineOfBusiness, tuple[str, ...]]

    def of_kind(self, kind: PracticeKind) -> tuple[PracticeFacts, ...]:
        return tuple(p for p in self.practices if p.kind is kind)


def service_years(config: SimConfig) -> list[int]:
    first = config.start.year
    last_month = config.start.month - 1 + config.months - 1
    return list(range(first, first + last_month // 12 + 1))


def _counts(config: SimConfig) -> dict[PracticeKind, int]:
    rc = config.region
    pc = max(rc.min_primary_care_practices,
             -(-config.members // rc.members_per_primary_care_practice))
    return {
        PracticeKind.PRIMARY_CARE: pc,
        PracticeKind.SPECIALIST: max(3, -(-config.members // rc.members_per_specialist_practice)),
        PracticeKind.URGENT_CARE: rc.urgent_care_practices,
        PracticeKind.ED: rc.ed_practices,
        PracticeKind.LAB: rc.lab_practices,
        PracticeKind.IMAGING: rc.imaging_practices,
        PracticeKind.HOSPITALIST: rc.hospitalist_practices,
        PracticeKind.THERAPY: rc.therapy_practices,
    }


def _program_for(track: ProgramKind, lob: LineOfBusiness, config: SimConfig) -> ProgramKind:
    """Aligned payers join the practice's program; full capitation only where it is natural."""
    if track is ProgramKind.FULL_CAP and lob not in config.region.full_cap_lobs:
        return ProgramKind.FFS
    return track


def build_region(config: SimConfig) -> Region:
    """The default region for `config` (deterministic in `config.seed`)."""
    years = tuple(service_years(config))
    fee_schedule = default_fee_schedule(hba1c=config.quality.hba1c_monthly_bp > 0)
    known = sorted(set(fee_schedule.amounts))
    unknown = [y for y in years if y not in fee_schedule.amounts]
    if unknown:
        raise UserError(
            f"simulate: service years {unknown} have no fee schedule or plan figures"
            f" (defined: {known}); choose start/months within them"
        )
    payers = tuple(
        Payer(payer_id=PAYER_IDS[lob], name=PAYER_NAMES[lob], lob=lob) for lob in LineOfBusiness
    )
    plans, plans_of_lob = _plans(tuple(sorted(set(known))))
    practices, facts, contracts = _practices(config, payers)
    primary = sorted(p.practice_id for p in practices if p.kind is PracticeKind.PRIMARY_CARE)
    unknown = sorted(set(config.region.program_by_tin) - set(primary))
    if unknown:
        raise UserError(f"region.program_by_tin: {', '.join(unknown)}: not a primary-care practice"
                        f" of this region ({primary[0]}..{primary[-1]} at {config.members:,}"
                        " members)")
    reference = ReferenceData(
        payers=payers,
        plans=plans,
        fee_schedules=(fee_schedule,),
        payer_fee_schedule={p.payer_id: fee_schedule.fee_schedule_id for p in payers},
        practices=tuple(practices),
        contracts=tuple(contracts),
    )
    return Region(
        reference=reference,
        practices=tuple(facts),
        payer_of_lob=dict(PAYER_IDS),
        plans_of_lob=plans_of_lob,
    )


def _plans(plan_years: tuple[int, ...]
           ) -> tuple[tuple[Plan, ...], dict[LineOfBusiness, tuple[str, ...]]]:
    """Each payer's plans, and the plan ids of each line of business."""
    mcr, ma, mcd, com = (PAYER_IDS[lob] for lob in LineOfBusiness)
    commercial = commercial_plans(com)
    plans = (
        part_b_plan(f"{mcr}-PARTB", mcr, plan_years),
        medicare_advantage_plan(f"{ma}-HMO", ma),
        medicaid_plan(f"{mcd}-MC", mcd, plan_years),
        *commercial,
    )
    plans_of_lob = {
        LineOfBusiness.MEDICARE_FFS: (plans[0].plan_id,),
        LineOfBusiness.MEDICARE_ADVANTAGE: (plans[1].plan_id,),
        LineOfBusiness.MEDICAID: (plans[2].plan_id,),
        LineOfBusiness.COMMERCIAL: tuple(p.plan_id for p in commercial),
    }
    return plans, plans_of_lob


def _practices(config: SimConfig, payers: tuple[Payer, ...]
               ) -> tuple[list[Practice], list[PracticeFacts], list[Contract]]:
    """Every practice of every kind, with the simulator's facts about it and its contract with
    each payer; the region stream's draws are all made here, in this order."""
    rng = py_stream(config.seed, "region")
    rc = config.region
    counts = _counts(config)
    n_pc = counts[PracticeKind.PRIMARY_CARE]
    # Each primary-care practice's fair share of members, by its clinicians.
    clinicians_pc = [rng.randint(*rc.clinicians_per_practice) for _ in range(n_pc)]
    total_clinicians = sum(clinicians_pc)

    practices: list[Practice] = []
    facts: list[PracticeFacts] = []
    contracts: list[Contract] = []
    next_npi = 1
    qlo, qhi = config.quality.quality_range_bp
    ulo, uhi = config.quality.utilization_range_bp
    spread = config.referrals.avoidable_spread_bp
    for kind in PracticeKind:
        prefix, label = _PREFIX[kind]
        for i in range(counts[kind]):
            practice_id = f"{prefix}{i + 1:03d}"
            n_clin = clinicians_pc[i] if kind is PracticeKind.PRIMARY_CARE else rng.randint(2, 6)
            npis = tuple(f"1{next_npi + k:09d}" for k in range(n_clin))
            next_npi += n_clin
            capacity = 0
            if kind is PracticeKind.PRIMARY_CARE:
                fair = config.members * n_clin // total_clinicians
                capacity = max(10, fair * rng.randint(*rc.capacity_bp) // 10_000)
            practices.append(Practice(
                practice_id=practice_id,
                name=f"{label} {i + 1}",
                kind=kind,
                clinicians=tuple(Clinician(npi=n, role=_ROLE[kind]) for n in npis),
                panel_capacity=capacity,
            ))
            track = (rc.program_by_tin.get(practice_id, rc.program_cycle[i % len(rc.program_cycle)])
                     if kind is PracticeKind.PRIMARY_CARE else ProgramKind.FFS)
            program_by_payer, hybrid_by_payer = _contract(config, practice_id, track, payers,
                                                          contracts)
            facts.append(PracticeFacts(
                index=len(facts),
                practice_id=practice_id,
                kind=kind,
                place_of_service=PLACE_OF_SERVICE[kind],
                npis=npis,
                capacity=capacity,
                charge_bp=rng.randint(*rc.charge_multiplier_bp),
                quality_bp=rng.randint(qlo, qhi),
                utilization_bp=rng.randint(ulo, uhi),
                referral_offset_bp=rng.randint(-spread, spread),
                program_by_payer=program_by_payer,
                hybrid_by_payer=hybrid_by_payer,
            ))
    return practices, facts, contracts


def _contract(config: SimConfig, practice_id: str, track: ProgramKind, payers: tuple[Payer, ...],
              contracts: list[Contract]) -> tuple[dict[str, ProgramKind], dict[str, BasisPoints]]:
    """The practice's contract with each payer, appended to `contracts`; returns its program and
    hybrid share by payer."""
    program_by_payer: dict[str, ProgramKind] = {}
    hybrid_by_payer: dict[str, BasisPoints] = {}
    for payer in payers:
        program = _program_for(track, payer.lob, config)
        settings = config.region.programs.get(program) or ProgramSettings(kind=program)
        contracts.append(Contract(
            payer_id=payer.payer_id, practice_id=practice_id, program=settings,
            start=config.start,
        ))
        program_by_payer[payer.payer_id] = program
        hybrid_by_payer[payer.payer_id] = settings.hybrid_bp
    return program_by_payer, hybrid_by_payer


def horizon(config: SimConfig) -> tuple[dt.date, dt.date]:
    """(first day after the service window, first day after the run-out)."""
    return month_start_plus(config.start, config.months), month_start_plus(
        config.start, config.months + config.runout_months
    )


def month_start_plus(day: dt.date, months: int) -> dt.date:
    """The first day of the month `months` after `day`'s month (the simulator works in whole
    months; `events.calendar.add_months` keeps the day of the month instead)."""
    total = day.year * 12 + day.month - 1 + months
    return dt.date(total // 12, total % 12 + 1, 1)
