"""The projections' settings (DOMAIN.md §4, §6, §7): lookbacks, program pre-steps, CPC+ complex
tier, PCF risk groups and performance map, PBIP threshold, run-out, and where the quality score
comes from (reported, or claims-based). Recorded with a run (its run clock plan) so a replay
uses the same ones.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from claimsim.events.money import BasisPoints
from claimsim.events.ranges import Share
from claimsim.events.programs import ProgramKind


RiskMilli = Annotated[int, Field(ge=0, le=100_000)]  # a risk score in thousandths
Adjustment = Annotated[int, Field(ge=-10_000, le=10_000)]  # a payment adjustment, -100 %..+100 %


class ProjectionSettings(BaseModel):
    """Settings of the payer-side projections (DOMAIN.md §4, §6, §7), with their defaults.

    Recorded in the run manifest so a replay uses the same ones.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    attribution_lookback_months: int = Field(default=24, ge=1)
    risk_lookback_months: int = Field(default=12, ge=1)
    expected_ffs_lookback_months: int = Field(default=12, ge=1)
    leakage_lookback_months: int = Field(default=12, ge=1)  # PCF: measured on the prior year
    # Program pre-steps before plurality (DOMAIN.md §6): "awv" = most recent AWV/IPPE practice,
    # "ccm" = most recent practice billing chronic care management.
    pre_steps: dict[ProgramKind, Literal["awv", "ccm"]] = Field(default_factory=lambda: {
        ProgramKind.PCF: "awv", ProgramKind.CPCP_T1: "ccm", ProgramKind.CPCP_T2: "ccm"})
    complex_top_bp: BasisPoints = Field(default=1000, ge=0, le=10_000)  # CPC+ complex tier share
    complex_dementia: bool = True  # members with dementia join the complex tier
    # PCF practice risk group bounds on the practice's average observed risk (thousandths):
    # group 1 below the first bound, group k+1 at or above the k-th.
    pcf_group_bounds_milli: tuple[RiskMilli, ...] = (1000, 1200, 1500)
    # PCF quarterly performance adjustment from the practice's latest quality score: pairs of
    # (minimum quality_bp, adjustment_bp), -10 %..+50 % (DOMAIN.md §4: a setting).
    pcf_performance_map: tuple[tuple[Share, Adjustment], ...] = (
        (0, -1000), (3000, 0), (5000, 1000), (7000, 2500), (9000, 5000))
    pbip_quality_threshold_bp: BasisPoints = Field(default=5000, ge=0, le=10_000)  # PBIP kept at or above, recouped below
    # PBIP retained share by score: pairs of (minimum quality_bp, retained_bp); empty: kept in
    # full at `pbip_quality_threshold_bp` and recouped in full below it.
    pbip_retained_map: tuple[tuple[Share, Share], ...] = ()  # (min score, PBIP kept); empty: the threshold
    runout_months: int = Field(default=3, ge=0)  # claims run-out before year-end reconciliation
    # Where PBIP retention and the PCF performance adjustment take the practice's quality score
    # from: "drawn" (the reported score, an input event) or "claims" (`claims_quality`, computed
    # from the ledger: AWV rate among Medicare members, HbA1c testing among members with diabetes).
    quality_source: Literal["drawn", "claims"] = "drawn"  # the score PBIP and PCF read: reported, or from claims
    # Claims-based score = the weighted mean of the rates whose denominator has at least
    # `claims_quality_min_members` members (weights: AWV rate, HbA1c testing rate).
    claims_quality_weights_bp: tuple[Share, Share] = (5000, 5000)  # AWV rate, HbA1c testing rate
    claims_quality_min_members: int = Field(default=20, ge=1)  # a rate with fewer members is left out
    claims_quality_scope: Literal["practice", "payer"] = "practice"  # members of every payer, or the payer's
    quality_lookback_months: int = Field(default=12, ge=1)  # PCF: claims measured on the prior year

    @field_validator("pcf_group_bounds_milli")
    @classmethod
    def _increasing(cls, bounds: tuple[int, ...]) -> tuple[int, ...]:
        if any(a >= b for a, b in zip(bounds, bounds[1:])):
            raise ValueError(f"bounds must increase, got {list(bounds)}")
        return bounds

    @field_validator("pbip_retained_map")
    @classmethod
    def _thresholds_increase(cls, pairs: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
        if any(a[0] >= b[0] for a, b in zip(pairs, pairs[1:])):
            raise ValueError(f"thresholds must increase, got {[p[0] for p in pairs]}")
        return pairs

    @field_validator("claims_quality_weights_bp")
    @classmethod
    def _some_weight(cls, weights: tuple[int, int]) -> tuple[int, int]:
        if not any(weights):
            raise ValueError("at least one weight must be above 0")
        return weights
