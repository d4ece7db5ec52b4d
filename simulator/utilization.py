"""The care members use, part of the simulator's settings (`config.SimConfig.utilization`): visit
rates and per-visit chances by line of business and age band (`CareProfile`, with the defaults
`DEFAULT_PROFILES` tuned against `events.calibration`), and what is common to all of them
(`UtilizationConfig`). `care.CareModel` plans each member's month from them.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from claimsim.events.calibration import AgeBand
from claimsim.events.money import BasisPoints
from claimsim.events.plans import LineOfBusiness
from claimsim.simulator.config_base import Settings


class CareProfile(Settings):
    """One line of business and age band's care. Visit rates are per member-year x 1000 at the
    band's mean true risk (a member's rate scales with their risk over that mean, so the band's
    average is the rate); chances are per visit, in basis points. The defaults
    (`DEFAULT_PROFILES`) are chosen so a run meets `events.calibration`'s targets."""

    pcp_visits_milli: int = Field(ge=0)
    specialist_visits_milli: int = Field(ge=0)  # self-referred and follow-up (referrals add more)
    urgent_care_visits_milli: int = Field(ge=0)
    ed_visits_milli: int = Field(ge=0)
    admissions_milli: int = Field(ge=0)  # inpatient stays (hospitalist visits, one claim a stay)
    nursing_facility_visits_milli: int = Field(ge=0)
    therapy_visits_milli: int = Field(ge=0)  # PT/OT sessions
    lab_order_bp: BasisPoints = Field(ge=0, le=10_000)  # PCP and specialist visits with a draw
    lab_tests_max: int = Field(ge=1, le=6)  # tests per draw: 1 .. this (children: fewer)
    imaging_order_bp: BasisPoints = Field(ge=0, le=10_000)  # specialist visits ordering imaging
    ed_imaging_bp: BasisPoints = Field(ge=0, le=10_000)  # ED visits with imaging
    # PCP visits needing a specialist referral (x the member's risk over the band's mean; sicker
    # members make more visits, so the rate per visit comes out about 1.35x this).
    referral_need_bp: BasisPoints = Field(ge=0, le=10_000)
    away_visit_bp: BasisPoints = Field(default=0, ge=0, le=10_000)  # on top of the region's


def _profile(pcp, spec, urgent, ed, admit, nf, therapy, lab, tests, imaging, ed_imaging,
             referral, away) -> CareProfile:
    return CareProfile(
        pcp_visits_milli=pcp, specialist_visits_milli=spec, urgent_care_visits_milli=urgent,
        ed_visits_milli=ed, admissions_milli=admit, nursing_facility_visits_milli=nf,
        therapy_visits_milli=therapy, lab_order_bp=lab, lab_tests_max=tests,
        imaging_order_bp=imaging,
        ed_imaging_bp=ed_imaging, referral_need_bp=referral, away_visit_bp=away,
    )


_MCR, _MA, _MCD, _COM = (LineOfBusiness.MEDICARE_FFS, LineOfBusiness.MEDICARE_ADVANTAGE,
                         LineOfBusiness.MEDICAID, LineOfBusiness.COMMERCIAL)
_KID, _ADULT, _SENIOR = AgeBand.UNDER_18, AgeBand.ADULT, AgeBand.SENIOR
# Tuned against `events.calibration.TARGETS` (`claimsim calibrate`): pcp, specialist, urgent,
# ED, admissions, nursing-facility and therapy visits per member-year x 1000; lab order chance
# (bp) and the most tests per draw; imaging
# order (specialist visits), ED imaging and specialist referral need (PCP visits) chances (bp);
# extra away-from-PCP share (bp).
DEFAULT_PROFILES: dict[LineOfBusiness, dict[AgeBand, CareProfile]] = {
    _MCR: {_SENIOR: _profile(2500, 2650, 200, 600, 260, 900, 2400, 3000, 4, 3100, 2500, 560, 650)},
    _MA: {_SENIOR: _profile(2600, 2300, 200, 550, 210, 700, 2000, 3000, 4, 3000, 2500, 560, 150)},
    _MCD: {_KID: _profile(1500, 180, 300, 550, 30, 0, 100, 1300, 2, 1500, 0, 185, 1100),
           _ADULT: _profile(2100, 1060, 300, 950, 100, 40, 400, 2450, 3, 1400, 2500, 400, 1450)},
    _COM: {_KID: _profile(1400, 195, 300, 250, 24, 0, 100, 1290, 2, 1000, 0, 185, 700),
           _ADULT: _profile(1600, 950, 350, 230, 66, 10, 500, 2500, 3, 2500, 2500, 400, 850)},
}


def _default_profiles() -> dict[LineOfBusiness, dict[AgeBand, CareProfile]]:
    return {lob: dict(bands) for lob, bands in DEFAULT_PROFILES.items()}


class UtilizationConfig(Settings):
    """Visit rates by line of business and age band (`profiles`), and what is common to all."""

    profiles: dict[LineOfBusiness, dict[AgeBand, CareProfile]] = Field(
        default_factory=_default_profiles)
    preventive_uptake_bp: BasisPoints = Field(default=5000, ge=0, le=10_000)  # per year
    ccm_monthly_bp: BasisPoints = Field(default=2500, ge=0, le=10_000)  # chronic members
    ccm_min_conditions: int = Field(default=2, ge=1)
    tcm_after_ed_bp: BasisPoints = Field(default=3000, ge=0, le=10_000)  # chronic members
    tcm_after_discharge_bp: BasisPoints = Field(default=4000, ge=0, le=10_000)  # any member
    inpatient_consult_bp: BasisPoints = Field(default=4000, ge=0, le=10_000)  # stays
    # Nursing-facility visits billed by the member's own PCP practice (the rest: hospitalists).
    nf_by_pcp_bp: BasisPoints = Field(default=4000, ge=0, le=10_000)
    # Specialist visits with an in-office test or procedure (ECG, injection...) on the claim.
    specialist_procedure_bp: BasisPoints = Field(default=2500, ge=0, le=10_000)
    # Primary-care visits at a practice other than the member's PCP (plus the profile's).
    away_visit_bp: BasisPoints = Field(default=800, ge=0, le=10_000)
    at_capacity_away_bp: BasisPoints = Field(default=2500, ge=0, le=10_000)  # extra when full

    @model_validator(mode="before")
    @classmethod
    def _complete_profiles(cls, data: Any) -> Any:
        """A scenario file (or `--vary`) may set one key of one profile: the rest of that
        profile, and every other profile, keep their defaults."""
        if not isinstance(data, dict) or not isinstance(data.get("profiles"), dict):
            return data
        merged: dict[Any, Any] = {lob.value: {b.value: p.model_dump() for b, p in bands.items()}
                                  for lob, bands in DEFAULT_PROFILES.items()}
        for lob, bands in data["profiles"].items():
            lob = lob.value if isinstance(lob, LineOfBusiness) else lob
            if not isinstance(bands, dict):
                merged[lob] = bands  # let validation name the problem
                continue
            target = merged.setdefault(lob, {})
            for band, given in bands.items():
                band = band.value if isinstance(band, AgeBand) else band
                if isinstance(given, CareProfile):
                    given = given.model_dump()
                base = target.get(band, {})
                target[band] = {**base, **given} if isinstance(given, dict) else given
        return {**data, "profiles": merged}

    def profile(self, lob: LineOfBusiness, band: AgeBand) -> CareProfile:
        """The band's profile, or the line of business's nearest band (Medicare is 65+ only)."""
        bands = self.profiles.get(lob) or next(iter(self.profiles.values()))
        if band in bands:
            return bands[band]
        order = (band, AgeBand.ADULT, AgeBand.SENIOR, AgeBand.UNDER_18)
        return next(bands[b] for b in order if b in bands)

    @model_validator(mode="after")
    def _ranges(self) -> UtilizationConfig:
        if not self.profiles or not all(self.profiles.values()):
            raise ValueError("profiles: at least one line of business with one age band")
        return self
