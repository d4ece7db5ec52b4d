"""The reference data of an ingested run: the payers, plans and practices the claim files name,
with their dollar figures (benefit designs, fee schedules) taken from a template region's (the
scenario's) payer of the same line of business.

Choices where DOMAIN.md is silent:
- A payer's line of business comes from the eligibility's `payer_type` when given, else from its
  name; Tuva's `payer_type` has no Medicare Advantage value, so a "medicare" payer whose name
  says "advantage" is Medicare Advantage. By name: "...advantage..." is Medicare Advantage,
  "...medicare..." Medicare FFS, "...medicaid..." Medicaid, anything else commercial.
- A commercial plan takes the template's bronze, silver or gold design when its name says so,
  else silver; other lines of business have one template plan each.
- Plan years the template lacks (ingested history before 2025) copy the nearest later year's
  design, with that year's Part B deductible for Part B plans and OOP limits capped at that
  year's ACA maximum for commercial plans. The default fee schedule is extended to every year
  it ships (2023-2026); a scenario's own schedule is used as it is.
- A practice is a billing TIN. Its clinicians are the rendering NPIs billed under it; their role
  is the roster's when one is given, else the file's specialty column's, else primary care. A
  practice is primary care when any of its clinicians is.
"""

from __future__ import annotations

from typing import NamedTuple

from claimsim.events.fee_schedule import FEE_SCHEDULE_YEAR_BP, FeeSchedule, pfs_amounts
from claimsim.events.plans import (ACA_OOP_LIMITS, PART_B_DEDUCTIBLE, BenefitDesign,
                                   LineOfBusiness, Plan)
from claimsim.events.providers import Clinician, ClinicianRole, Practice, PracticeKind
from claimsim.events.reference import ReferenceData

DEFAULT_SCHEDULE_ID = "pfs-national"
METALS = ("bronze", "silver", "gold")


class RoleSource(NamedTuple):
    """How clinician roles were decided (said in the ingest summary)."""

    roster: int  # clinicians whose role the roster gave
    specialty: int  # ... the file's specialty/taxonomy column gave
    default: int  # ... defaulted to primary care

    def describe(self) -> str:
        parts = [f"{n} from {what}" for n, what in ((self.roster, "the roster"),
                 (self.specialty, "the specialty/taxonomy column"),
                 (self.default, "the primary-care default")) if n]
        return "clinician roles: " + ("; ".join(parts) if parts else "no clinicians")


def line_of_business(payer: str, payer_type: str | None) -> LineOfBusiness:
    name = (payer_type or payer).lower()
    if "advantage" in name or (name == "medicare" and "advantage" in payer.lower()):
        return LineOfBusiness.MEDICARE_ADVANTAGE
    if "medicare" in name:
        return LineOfBusiness.MEDICARE_FFS
    if "medicaid" in name:
        return LineOfBusiness.MEDICAID
    return LineOfBusiness.COMMERCIAL


def plan_id(payer: str, plan: str) -> str:
    return f"{payer}:{plan}"


def priced_years(template: ReferenceData) -> dict[LineOfBusiness, frozenset[int]]:
    """The plan years each line of business can be re-priced in: its fee schedule's years
    (the default schedule extended to every shipped year)."""
    out = {}
    for payer in template.payers:
        schedule = template.fee_schedule_of_payer[payer.payer_id]
        years = set(schedule.amounts)
        if schedule.fee_schedule_id == DEFAULT_SCHEDULE_ID:
            years |= set(FEE_SCHEDULE_YEAR_BP)
        out.setdefault(payer.lob, frozenset(years))
    return out


def extended_schedule(schedule: FeeSchedule) -> FeeSchedule:
    if schedule.fee_schedule_id != DEFAULT_SCHEDULE_ID:
        return schedule
    amounts = {y: pfs_amounts(y) for y in FEE_SCHEDULE_YEAR_BP}
    amounts.update(schedule.amounts)
    return schedule.model_copy(update={"amounts": dict(sorted(amounts.items()))})


def _design_for_year(plan: Plan, year: int) -> BenefitDesign:
    later = [y for y in sorted(plan.benefits) if y >= year] or sorted(plan.benefits)[-1:]
    design = plan.benefits[later[0]]
    update: dict = {}
    if design.part_b_style and year in PART_B_DEDUCTIBLE:
        update = {"deductible_individual": PART_B_DEDUCTIBLE[year],
                  "deductible_family": PART_B_DEDUCTIBLE[year]}
    elif plan.lob is LineOfBusiness.COMMERCIAL and design.oop_individual is not None \
            and year in ACA_OOP_LIMITS:
        ind, fam = ACA_OOP_LIMITS[year]
        update = {"oop_individual": min(design.oop_individual, ind),
                  "oop_family": min(design.oop_family, fam)}
        update["deductible_individual"] = min(design.deductible_individual, update["oop_individual"])
        update["deductible_family"] = min(design.deductible_family, update["oop_family"])
    return design.model_copy(update=update)


def _template_plan(template: ReferenceData, lob: LineOfBusiness, plan_name: str) -> Plan:
    plans = [p for p in template.plans if p.lob is lob]
    if not plans:
        raise ValueError(f"the scenario has no {lob.value} plan to take figures from")
    if lob is LineOfBusiness.COMMERCIAL:
        name = plan_name.lower()
        metal = next((m for m in METALS if m in name), "silver")
        for p in plans:
            if metal in p.name.lower() or metal in p.plan_id.lower():
                return p
    return plans[0]


def build_reference(template: ReferenceData, payers: dict[str, str | None],
                    plans: set[tuple[str, str]], practices: dict[str, dict[str, ClinicianRole | None]],
                    roster: dict[str, ClinicianRole] | None) -> tuple[ReferenceData, RoleSource]:
    """`payers`: payer name -> payer_type (or None); `plans`: (payer, plan) pairs;
    `practices`: billing TIN -> rendering NPI -> role from the file (or None)."""
    template_payer = {}
    for p in template.payers:
        template_payer.setdefault(p.lob, p)
    years = sorted(FEE_SCHEDULE_YEAR_BP)
    out_payers, out_plans, schedules, payer_schedule = [], [], {}, {}
    lob_of = {}
    for name in sorted(payers):
        lob = lob_of[name] = line_of_business(name, payers[name])
        base = template_payer.get(lob)
        if base is None:
            raise ValueError(f"payer {name!r} is {lob.value}, but the scenario has no such payer")
        out_payers.append(base.model_copy(update={"payer_id": name, "name": name}))
        schedule = extended_schedule(template.fee_schedule_of_payer[base.payer_id])
        schedules[schedule.fee_schedule_id] = schedule
        payer_schedule[name] = schedule.fee_schedule_id
    for payer, plan in sorted(plans):
        base = _template_plan(template, lob_of[payer], plan)
        benefits = {y: base.benefits.get(y) or _design_for_year(base, y) for y in years}
        out_plans.append(base.model_copy(update={
            "plan_id": plan_id(payer, plan), "payer_id": payer, "name": plan, "benefits": benefits}))
    counts = [0, 0, 0]
    out_practices = []
    for tin in sorted(practices):
        clinicians = []
        for npi in sorted(practices[tin]):
            role, source = (roster or {}).get(npi), 0
            if role is None:
                role, source = practices[tin][npi], 1
            if role is None:
                role, source = ClinicianRole.PRIMARY_CARE, 2
            counts[source] += 1
            clinicians.append(Clinician(npi=npi, role=role))
        kind = (PracticeKind.PRIMARY_CARE if any(c.role is ClinicianRole.PRIMARY_CARE for c in clinicians)
                else PracticeKind.SPECIALIST)
        out_practices.append(Practice(practice_id=tin, name=f"TIN {tin}", kind=kind,
                                      clinicians=tuple(clinicians)))
    reference = ReferenceData(
        payers=tuple(out_payers), plans=tuple(out_plans),
        fee_schedules=tuple(schedules[k] for k in sorted(schedules)),
        payer_fee_schedule=payer_schedule, practices=tuple(out_practices), contracts=())
    return reference, RoleSource(*counts)
