"""Payers, lines of business, plans and their benefit designs, keyed by plan year.

A plan's dollar figures differ by year (Part B's deductible is $257 in 2025 and $283 in 2026), so
a plan holds one `BenefitDesign` per plan year and a claim in a year the plan does not define is
an error the caller reports, never a silent default (DOMAIN.md §4 "Figures by year", §5).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from claimsim.events.codes import VisitCategory
from claimsim.events.money import BasisPoints, Cents
from claimsim.events.ranges import NonNegativeCents


class LineOfBusiness(StrEnum):
    MEDICARE_FFS = "medicare_ffs"
    MEDICARE_ADVANTAGE = "medicare_advantage"
    MEDICAID = "medicaid"
    COMMERCIAL = "commercial"


class Frozen(BaseModel):
    """Reference data is immutable once loaded; unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# ACA out-of-pocket limits (HHS Notice of Benefit and Payment Parameters): self-only, family.
ACA_OOP_LIMITS: dict[int, tuple[Cents, Cents]] = {
    2023: (910_000, 1_820_000),
    2024: (945_000, 1_890_000),
    2025: (920_000, 1_840_000),
    2026: (1_060_000, 2_120_000),
}

# Medicare Part B deductible by year.
PART_B_DEDUCTIBLE: dict[int, Cents] = {2023: 22_600, 2024: 24_000, 2025: 25_700, 2026: 28_300}


class BenefitDesign(Frozen):
    """One plan year's cost-sharing rules (DOMAIN.md §5).

    `oop_individual`/`oop_family` of None means no out-of-pocket maximum (Medicare Part B).
    """

    deductible_individual: Cents = Field(ge=0)
    deductible_family: Cents = Field(ge=0)
    coinsurance_bp: BasisPoints = Field(ge=0, le=10_000)
    oop_individual: Cents | None = Field(default=None, ge=0)
    oop_family: Cents | None = Field(default=None, ge=0)
    embedded: bool = True  # individual limits apply inside family coverage
    copays: dict[VisitCategory, NonNegativeCents] = Field(default_factory=dict)
    preventive_zero: bool = True  # ACA: in-network preventive at $0
    part_b_style: bool = False  # AWV/IPPE $0; routine physicals 99381-99397 not covered

    @model_validator(mode="after")
    def _family_not_below_individual(self) -> BenefitDesign:
        if self.deductible_family < self.deductible_individual:
            raise ValueError("deductible_family is below deductible_individual")
        if (self.oop_individual is None) != (self.oop_family is None):
            raise ValueError("oop_individual and oop_family must both be set or both be None")
        if self.oop_individual is not None and self.oop_family < self.oop_individual:
            raise ValueError("oop_family is below oop_individual")
        return self


class Plan(Frozen):
    plan_id: str
    payer_id: str
    name: str
    lob: LineOfBusiness
    benefits: dict[int, BenefitDesign]  # plan year -> design

    def benefits_for(self, year: int) -> BenefitDesign:
        try:
            return self.benefits[year]
        except KeyError:
            raise KeyError(
                f"plan {self.plan_id} has no benefit design for plan year {year}"
                f" (defined: {sorted(self.benefits)})"
            ) from None

    def aca_violations(self) -> list[str]:
        """Commercial plans may not set OOP limits above the ACA maximum for the year."""
        problems = []
        if self.lob is not LineOfBusiness.COMMERCIAL:
            return problems
        for year, design in sorted(self.benefits.items()):
            limits = ACA_OOP_LIMITS.get(year)
            if limits is None:
                problems.append(f"plan {self.plan_id}: no ACA OOP limits known for {year}")
            elif design.oop_individual is None:
                problems.append(f"plan {self.plan_id} {year}: commercial plans need an OOP maximum")
            elif design.oop_individual > limits[0] or design.oop_family > limits[1]:
                problems.append(
                    f"plan {self.plan_id} {year}: OOP {design.oop_individual}/{design.oop_family}"
                    f" cents exceeds the ACA limit {limits[0]}/{limits[1]}"
                )
        return problems


class Payer(Frozen):
    payer_id: str
    name: str
    lob: LineOfBusiness
    sequestration_bp: BasisPoints = 0  # 200 (2 %) for Medicare FFS when turned on
    timely_filing_days: int = Field(default=365, ge=1)
    processing_days: int = Field(default=14, ge=0)  # paid date = received + this


def part_b_plan(plan_id: str, payer_id: str, years: tuple[int, ...] = (2025, 2026)) -> Plan:
    """Original Medicare Part B: annual deductible, 20 % coinsurance, no OOP maximum."""
    return Plan(
        plan_id=plan_id,
        payer_id=payer_id,
        name="Medicare Part B",
        lob=LineOfBusiness.MEDICARE_FFS,
        benefits={
            y: BenefitDesign(
                deductible_individual=PART_B_DEDUCTIBLE[y],
                deductible_family=PART_B_DEDUCTIBLE[y],
                coinsurance_bp=2000,
                embedded=True,
                preventive_zero=False,
                part_b_style=True,
            )
            for y in years
        },
    )


def _commercial(plan_id: str, payer_id: str, name: str, per_year: dict[int, dict]) -> Plan:
    return Plan(
        plan_id=plan_id,
        payer_id=payer_id,
        name=name,
        lob=LineOfBusiness.COMMERCIAL,
        benefits={y: BenefitDesign(**kw) for y, kw in per_year.items()},
    )


def commercial_plans(payer_id: str) -> list[Plan]:
    """A bronze/silver/gold-like set, within the ACA OOP limits of each year (DOMAIN.md §5)."""
    bronze = {
        2025: dict(deductible_individual=650_000, deductible_family=1_300_000, coinsurance_bp=4000,
                   oop_individual=920_000, oop_family=1_840_000,
                   copays={VisitCategory.PCP: 5_000, VisitCategory.URGENT: 10_000}),
        2026: dict(deductible_individual=700_000, deductible_family=1_400_000, coinsurance_bp=4000,
                   oop_individual=1_060_000, oop_family=2_120_000,
                   copays={VisitCategory.PCP: 5_000, VisitCategory.URGENT: 10_000}),
    }
    silver = {
        y: dict(deductible_individual=d, deductible_family=2 * d, coinsurance_bp=2000,
                oop_individual=o, oop_family=2 * o,
                copays={VisitCategory.PCP: 3_000, VisitCategory.SPECIALIST: 6_000,
                        VisitCategory.URGENT: 7_500, VisitCategory.ED: 40_000})
        for y, d, o in ((2025, 400_000, 850_000), (2026, 450_000, 950_000))
    }
    gold = {
        y: dict(deductible_individual=d, deductible_family=2 * d, coinsurance_bp=1500,
                oop_individual=o, oop_family=2 * o,
                copays={VisitCategory.PCP: 2_000, VisitCategory.SPECIALIST: 4_000,
                        VisitCategory.URGENT: 5_000, VisitCategory.ED: 25_000})
        for y, d, o in ((2025, 150_000, 600_000), (2026, 175_000, 650_000))
    }
    return [
        _commercial(f"{payer_id}-BRONZE", payer_id, "Bronze", bronze),
        _commercial(f"{payer_id}-SILVER", payer_id, "Silver", silver),
        _commercial(f"{payer_id}-GOLD", payer_id, "Gold", gold),
    ]


def medicaid_plan(plan_id: str, payer_id: str, years: tuple[int, ...] = (2025, 2026)) -> Plan:
    """Medicaid managed care: nominal copays only, no deductible or coinsurance."""
    design = BenefitDesign(
        deductible_individual=0, deductible_family=0, coinsurance_bp=0,
        oop_individual=0, oop_family=0,
    )
    return Plan(plan_id=plan_id, payer_id=payer_id, name="Medicaid managed care",
                lob=LineOfBusiness.MEDICAID, benefits={y: design for y in years})


def medicare_advantage_plan(plan_id: str, payer_id: str) -> Plan:
    """An MA-PD-like plan: copays, no deductible for medical services, an in-network MOOP."""
    return Plan(
        plan_id=plan_id, payer_id=payer_id, name="Medicare Advantage HMO",
        lob=LineOfBusiness.MEDICARE_ADVANTAGE,
        benefits={
            y: BenefitDesign(
                deductible_individual=0, deductible_family=0, coinsurance_bp=2000,
                oop_individual=moop, oop_family=moop,
                copays={VisitCategory.PCP: 0, VisitCategory.SPECIALIST: 4_000,
                        VisitCategory.URGENT: 4_500, VisitCategory.ED: 11_000},
                part_b_style=False,
            )
            for y, moop in ((2025, 900_000), (2026, 925_000))
        },
    )
