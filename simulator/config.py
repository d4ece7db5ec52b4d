"""The simulator's settings: pydantic v2 models whose defaults produce a sensible region and run.

The care members use (visit rates by line of business and age band) is `utilization`'s; the
base every model shares is `config_base`'s.

Scenario files (TOML) go on top of these (unknown keys are errors); `--vary` reaches any field by
its dotted path (`referrals.avoidable_base_bp`, `region.programs.cpcplus_t2.hybrid_bp`). Rates are
integer basis points (per member, per month unless named otherwise), visit rates are visits per
member-year x 1000 at a true risk score of 1.0.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from claimsim.events.codes import Condition
from claimsim.events.money import BasisPoints
from claimsim.events.ranges import Share
from claimsim.events.plans import LineOfBusiness
from claimsim.events.programs import ProgramKind, ProgramSettings
from claimsim.events.providers import PracticeKind
from claimsim.simulator.config_base import Settings, low_high
from claimsim.simulator.utilization import UtilizationConfig


# Ranges of the settings below that are pairs or tables of integers (each element's limits).
Clinicians = Annotated[int, Field(ge=1, le=100)]
Capacity = Annotated[int, Field(ge=1000, le=100_000)]  # 10 %..10x a fair share
Multiplier = Annotated[int, Field(ge=0, le=100_000)]  # billed up to 10x the fee
Days = Annotated[int, Field(ge=0, le=365)]
Utilization = Annotated[int, Field(ge=0, le=20_000)]  # as a quality report's utilization_bp


def _default_programs() -> dict[ProgramKind, ProgramSettings]:
    return {kind: ProgramSettings(kind=kind) for kind in ProgramKind}


# The order primary-care practices take programs in: with the default 8+ practices every kind of
# DOMAIN.md §4 is used by at least one practice.
DEFAULT_PROGRAM_CYCLE = tuple(ProgramKind)


class RegionConfig(Settings):
    """Payers, practices and contracts of the default region (built by `region.build_region`)."""

    members_per_primary_care_practice: int = Field(default=1250, ge=50)
    min_primary_care_practices: int = Field(default=len(DEFAULT_PROGRAM_CYCLE), ge=1)
    clinicians_per_practice: tuple[Clinicians, Clinicians] = (2, 8)  # inclusive range
    # Panel capacity = the practice's fair share of members (by clinicians) x a draw from this
    # range: members choose practices by clinicians, so the small-capacity ones fill up.
    capacity_bp: tuple[Capacity, Capacity] = (8500, 13_000)
    members_per_specialist_practice: int = Field(default=4000, ge=100)
    urgent_care_practices: int = Field(default=2, ge=1)
    ed_practices: int = Field(default=1, ge=1)
    lab_practices: int = Field(default=1, ge=1)
    imaging_practices: int = Field(default=1, ge=1)
    hospitalist_practices: int = Field(default=1, ge=1)
    therapy_practices: int = Field(default=1, ge=1)
    charge_multiplier_bp: tuple[Multiplier, Multiplier] = (15_000, 30_000)  # billed / fee
    program_cycle: tuple[ProgramKind, ...] = DEFAULT_PROGRAM_CYCLE
    program_by_tin: dict[str, ProgramKind] = Field(default_factory=dict)  # named practices' programs (billing TIN or practice id), before the cycle
    programs: dict[ProgramKind, ProgramSettings] = Field(default_factory=_default_programs)
    # Every payer contracts a primary-care practice under the same program (aligned payers),
    # except full capitation, which only these lines of business offer (managed care); the
    # others keep such a practice on FFS (Medicare FFS has no full capitation).
    full_cap_lobs: tuple[LineOfBusiness, ...] = (
        LineOfBusiness.MEDICARE_ADVANTAGE, LineOfBusiness.MEDICAID,
    )
    commercial_plan_mix_bp: tuple[Share, Share, Share] = (3000, 4500, 2500)

    _ranges = field_validator("clinicians_per_practice", "capacity_bp", "charge_multiplier_bp")(low_high)

    @field_validator("commercial_plan_mix_bp")
    @classmethod
    def _mix_positive(cls, value: tuple[int, int, int]) -> tuple[int, int, int]:
        if sum(value) <= 0:
            raise ValueError("the commercial plan mix must have a positive total")
        return value

    @model_validator(mode="after")
    def _programs_complete(self) -> RegionConfig:
        missing = [k.value for k in (*self.program_cycle, *self.program_by_tin.values())
                   if k not in self.programs]
        if missing:
            raise ValueError(f"programs: no settings for {missing}")
        for kind, settings in self.programs.items():
            if settings.kind is not kind:
                raise ValueError(f"programs.{kind.value}: settings say kind {settings.kind.value}")
        lo, hi = self.clinicians_per_practice
        if not 1 <= lo <= hi:
            raise ValueError("clinicians_per_practice must be 1 <= low <= high")
        if not 1 <= self.capacity_bp[0] <= self.capacity_bp[1]:
            raise ValueError("capacity_bp must be 1 <= low <= high")
        return self


def _default_lob_mix() -> dict[LineOfBusiness, BasisPoints]:
    return {
        LineOfBusiness.MEDICARE_FFS: 1800,
        LineOfBusiness.MEDICARE_ADVANTAGE: 1400,
        LineOfBusiness.MEDICAID: 2200,
        LineOfBusiness.COMMERCIAL: 4600,
    }


# Prevalence (bp) by age band: under 18, 18-44, 45-64, 65+ (rising with age, as in CDC/MEPS).
DEFAULT_PREVALENCE_BP: dict[Condition, tuple[int, int, int, int]] = {
    Condition.DIABETES: (30, 400, 1400, 2600),
    Condition.CHF: (0, 20, 200, 1000),
    Condition.COPD: (0, 100, 600, 1100),
    Condition.CKD: (10, 100, 500, 1500),
    Condition.DEMENTIA: (0, 0, 40, 700),
    Condition.DEPRESSION: (300, 900, 1000, 900),
    Condition.CANCER: (10, 100, 400, 900),
    Condition.VASCULAR: (0, 50, 300, 1000),
    Condition.RHEUMATOID: (5, 50, 150, 300),
    Condition.MORBID_OBESITY: (150, 600, 800, 500),
    Condition.HYPERTENSION: (50, 1200, 3500, 6000),
    Condition.ASTHMA: (900, 800, 800, 700),
}


class PopulationConfig(Settings):
    """Families, demographics, conditions and true risk."""

    lob_mix_bp: dict[LineOfBusiness, Share] = Field(default_factory=_default_lob_mix)
    spouse_bp: Share = 5000  # commercial subscribers with a covered spouse
    max_children: int = Field(default=3, ge=0)
    children_bp: Share = 5500  # families (commercial/Medicaid) with children
    qmb_bp: Share = 1200  # Medicare FFS members who are dual-eligible QMB
    prevalence_bp: dict[Condition, tuple[Share, Share, Share, Share]] = Field(
        default_factory=lambda: dict(DEFAULT_PREVALENCE_BP)
    )
    # True risk = (demographic base + condition weights) x a lognormal multiplier with mean 1.
    risk_sigma_milli: int = Field(default=450, ge=0, le=2000)
    # Share of a member's conditions that ever appear coded on claims (the rest stay invisible
    # to the payer's observed risk).
    condition_coding_bp: BasisPoints = Field(default=8000, ge=0, le=10_000)

    @model_validator(mode="after")
    def _mix_sums(self) -> PopulationConfig:
        if sum(self.lob_mix_bp.values()) <= 0:
            raise ValueError("lob_mix_bp must have a positive total")
        missing = [c.value for c in Condition if c not in self.prevalence_bp]
        if missing:
            raise ValueError(f"prevalence_bp: no prevalence for {', '.join(missing)} (a table"
                             " given in a scenario replaces the default whole: give every"
                             " condition)")
        return self


class EnrollmentConfig(Settings):
    """Churn and the member's relationship with primary care."""

    monthly_termination_bp: BasisPoints = Field(default=150, ge=0, le=10_000)  # per family
    monthly_new_enrollment_bp: BasisPoints = Field(default=150, ge=0, le=10_000)  # of families
    alignment_bp: BasisPoints = Field(default=1000, ge=0, le=10_000)  # voluntary alignment
    monthly_pcp_switch_bp: BasisPoints = Field(default=40, ge=0, le=10_000)  # per family
    established_bp: BasisPoints = Field(default=8500, ge=0, le=10_000)  # already seen their PCP


class ReferralConfig(Settings):
    """Referrals from PCP visits: necessary (specialist, imaging) and avoidable.

    A practice refers an avoidable service out with propensity
    `avoidable_base_bp + avoidable_slope_bp x h / 10 000 + its own offset`, where `h` is the share
    of FFS its contract with the member's payer withholds (the hybrid %): the incentive the CPC+
    payers worried about (DOMAIN.md §1).
    """

    imaging_referral_bp: BasisPoints = Field(default=600, ge=0, le=10_000)
    office_procedure_need_bp: BasisPoints = Field(default=1200, ge=0, le=10_000)
    simple_consult_need_bp: BasisPoints = Field(default=600, ge=0, le=10_000)
    avoidable_base_bp: BasisPoints = Field(default=1500, ge=0, le=10_000)
    avoidable_slope_bp: BasisPoints = Field(default=3000, ge=0, le=10_000)
    avoidable_spread_bp: BasisPoints = Field(default=500, ge=0, le=10_000)  # per-practice +/-
    delay_days: tuple[Days, Days] = (3, 30)  # referral to referred service
    _ranges = field_validator("delay_days")(low_high)


class FaultConfig(Settings):
    """Faulty submissions, per original claim (bp)."""

    duplicate_bp: BasisPoints = Field(default=150, ge=0, le=10_000)
    replacement_bp: BasisPoints = Field(default=100, ge=0, le=10_000)
    void_bp: BasisPoints = Field(default=50, ge=0, le=10_000)
    malformed_bp: BasisPoints = Field(default=50, ge=0, le=10_000)
    late_bp: BasisPoints = Field(default=20, ge=0, le=10_000)  # past the timely filing limit
    resubmit_days: tuple[Days, Days] = (10, 60)  # original received -> duplicate/7/8 received
    _ranges = field_validator("resubmit_days")(low_high)

    @model_validator(mode="after")
    def _total(self) -> FaultConfig:
        total = (self.duplicate_bp + self.replacement_bp + self.void_bp + self.malformed_bp
                 + self.late_bp)
        if total > 10_000:
            raise ValueError(f"fault rates add up to {total} bp, more than 100 %")
        return self


class LagConfig(Settings):
    """Submission lag in days: `min + exponential(mean)`, capped at `max`."""

    min_days: int = Field(ge=1)
    mean_days: int = Field(ge=0)
    max_days: int = Field(ge=1)

    @model_validator(mode="after")
    def _order(self) -> LagConfig:
        if self.max_days < self.min_days:
            raise ValueError("max_days is below min_days")
        return self


def _default_lags() -> dict[PracticeKind, LagConfig]:
    return {
        PracticeKind.PRIMARY_CARE: LagConfig(min_days=2, mean_days=12, max_days=120),
        PracticeKind.SPECIALIST: LagConfig(min_days=3, mean_days=20, max_days=150),
        PracticeKind.URGENT_CARE: LagConfig(min_days=2, mean_days=8, max_days=90),
        PracticeKind.ED: LagConfig(min_days=5, mean_days=30, max_days=180),
        PracticeKind.LAB: LagConfig(min_days=1, mean_days=5, max_days=60),
        PracticeKind.IMAGING: LagConfig(min_days=2, mean_days=10, max_days=90),
        PracticeKind.HOSPITALIST: LagConfig(min_days=3, mean_days=15, max_days=120),
        PracticeKind.THERAPY: LagConfig(min_days=2, mean_days=10, max_days=90),
    }


class QualityConfig(Settings):
    quality_range_bp: tuple[Share, Share] = (5000, 9500)  # practices' true quality
    utilization_range_bp: tuple[Utilization, Utilization] = (8000, 12_000)
    _ranges = field_validator("quality_range_bp", "utilization_range_bp")(low_high)
    noise_bp: BasisPoints = Field(default=400, ge=0)  # reported = truth +/- noise
    report_day: int = Field(default=31, ge=1, le=365)  # day of the next year the report arrives
    # Chance a month that an enrolled member with diabetes has a point-of-care HbA1c test
    # (`simulator.hba1c`); 0 (the default): none, and the fee schedule does not list the codes.
    hba1c_monthly_bp: Share = 0  # HbA1c test chance a month per member with diabetes (claims quality: 1900)


def _race_mix() -> dict[str, BasisPoints]:
    # Roughly the U.S. population (Census 2020, race alone or in combination folded to one group).
    return {"white": 6000, "black": 1250, "asian": 600, "american_indian_alaska_native": 100,
            "native_hawaiian_pacific_islander": 50, "multiracial_other": 1500, "unknown": 500}


def _ethnicity_mix() -> dict[str, BasisPoints]:
    return {"hispanic_latino": 1900, "not_hispanic_latino": 7700, "unknown": 400}


def _language_mix() -> dict[str, BasisPoints]:
    # Language spoken at home (ACS): English, Spanish, then the rest together.
    return {"english": 7800, "spanish": 1300, "chinese": 100, "vietnamese": 50, "other": 750}


class GroupEffect(Settings):
    """A difference the simulator gives one group's members (none by default, DOMAIN.md §9)."""

    alignment_delta_bp: int = Field(default=0, ge=-10_000, le=10_000)  # voluntary alignment


class DemographicsConfig(Settings):
    """Race, ethnicity and preferred language on members (drawn on their own random stream, so
    turning them off or changing the mix shifts no other draw). `group_effects` keys are
    "dimension:group" (e.g. "language:spanish")."""

    enabled: bool = True
    race_mix_bp: dict[str, Share] = Field(default_factory=_race_mix)
    ethnicity_mix_bp: dict[str, Share] = Field(default_factory=_ethnicity_mix)
    language_mix_bp: dict[str, Share] = Field(default_factory=_language_mix)
    group_effects: dict[str, GroupEffect] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _mixes(self) -> DemographicsConfig:
        for name in ("race_mix_bp", "ethnicity_mix_bp", "language_mix_bp"):
            mix = getattr(self, name)
            if not mix or sum(mix.values()) <= 0 or min(mix.values()) < 0:
                raise ValueError(f"{name} needs non-negative weights with a positive total")
        for key in self.group_effects:
            dim, _, group = key.partition(":")
            mix = {"race": self.race_mix_bp, "ethnicity": self.ethnicity_mix_bp,
                   "language": self.language_mix_bp}.get(dim)
            if mix is None or group not in mix:
                raise ValueError(f"group_effects: {key!r} is not dimension:group of the mixes")
        return self


class SimConfig(Settings):
    scenario: str = "default"  # the run's name (runs/<scenario>); a file's default: its file name
    seed: int = Field(default=1, ge=0, le=2**63 - 1)
    members: int = Field(default=10_000, ge=1)
    months: int = Field(default=12, ge=1, le=24)
    start: dt.date = dt.date(2025, 1, 1)
    runout_months: int = Field(default=3, ge=0, le=24)  # claims still arrive after the last month
    region: RegionConfig = Field(default_factory=RegionConfig)
    population: PopulationConfig = Field(default_factory=PopulationConfig)
    enrollment: EnrollmentConfig = Field(default_factory=EnrollmentConfig)
    utilization: UtilizationConfig = Field(default_factory=UtilizationConfig)
    referrals: ReferralConfig = Field(default_factory=ReferralConfig)
    faults: FaultConfig = Field(default_factory=FaultConfig)
    lags: dict[PracticeKind, LagConfig] = Field(default_factory=_default_lags)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    demographics: DemographicsConfig = Field(default_factory=DemographicsConfig)

    @field_validator("scenario")
    @classmethod
    def _one_folder_name(cls, name: str) -> str:
        """The name is a folder under `runs/`: one path component, never `..` or `/`."""
        if name.strip() in ("", ".", "..") or any(c in name for c in "/\\\0"):
            raise ValueError(f"{name!r} is not a folder name (runs/<scenario>): no '/', '\\',"
                             " '..', and not empty")
        return name

    @model_validator(mode="after")
    def _first_of_month(self) -> SimConfig:
        if self.start.day != 1:
            raise ValueError(f"start must be the first day of a month, got {self.start}")
        missing = [k.value for k in PracticeKind if k not in self.lags]
        if missing:
            raise ValueError(f"lags: no lag for practice kinds {missing}")
        return self
