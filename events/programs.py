"""Payment programs (contracts) and their settings: FFS, CPC+ Tracks 1-2, Primary Care First,
Making Care Primary Tracks 1-3 and full capitation (DOMAIN.md §4).

Both sides read these: the claims engine takes `hybrid_bp`, the capitated services and the code
denials; the prospective-payment projections take the per-member figures, which are keyed by
plan year like every dollar figure (a run touching another year must supply its own).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import Field, field_serializer, model_validator

from claimsim.events.codes import DEFAULT_CAPITATED_GROUPS, ProcedureGroup
from claimsim.events.timeline import span_on
from claimsim.events.money import BasisPoints, Cents
from claimsim.events.ranges import NonNegativeCents, PlanYear
from claimsim.events.plans import Frozen


class ProgramKind(StrEnum):
    FFS = "ffs"
    CPCP_T1 = "cpcplus_t1"
    CPCP_T2 = "cpcplus_t2"
    PCF = "pcf"
    MCP_T1 = "mcp_t1"
    MCP_T2 = "mcp_t2"
    MCP_T3 = "mcp_t3"
    FULL_CAP = "full_cap"


class CostShareBasis(StrEnum):
    FULL = "full"  # member owes what they would under FFS; the offset comes out of plan paid
    REDUCED = "reduced"  # cost share is figured on the allowed net of the withheld share


class PaymentKind(StrEnum):
    """Prospective payment types (DOMAIN.md §4, §7)."""

    CMF = "cmf"
    CPCP = "cpcp"
    PBIP = "pbip"
    PBP = "pbp"
    ESP = "esp"
    PPCP = "ppcp"
    # PCF's performance adjustment on the flat visit fees paid since the previous epoch boundary
    # (DOMAIN.md §4: the adjustment is on the total primary care payment, PBP and flat fees; the
    # PBP's own share rides in its PBPM). Paid at each boundary, not per member month.
    PBA_FLAT_FEE = "pba_flat_fee"


# CCM codes a CPC+ practice may not bill for its attributed members (DOMAIN.md §3 step 5).
CPC_PLUS_DENIED_CODES = frozenset({"99490", "99487", "99489"})

# Default hybrid share of FFS withheld on capitated services, by program; the programs with a
# positive default are the ones that have a hybrid at all.
DEFAULT_HYBRID_BP: dict[ProgramKind, BasisPoints] = {
    ProgramKind.FFS: 0,
    ProgramKind.CPCP_T1: 0,
    ProgramKind.CPCP_T2: 4000,
    ProgramKind.PCF: 0,
    ProgramKind.MCP_T1: 0,
    ProgramKind.MCP_T2: 5000,
    ProgramKind.MCP_T3: 10_000,
    ProgramKind.FULL_CAP: 10_000,
}


HYBRID_PROGRAMS = frozenset(k for k, bp in DEFAULT_HYBRID_BP.items() if bp > 0)


class YearFigures(Frozen):
    """One plan year's dollar figures for a program (cents per member per month unless noted)."""

    cmf_by_tier: tuple[NonNegativeCents, ...] = ()  # CPC+ tiers 1-4 (+ complex tier for Track 2)
    pbip_pmpm: Cents = Field(default=0, ge=0)
    pbp_by_group: tuple[NonNegativeCents, ...] = ()  # PCF practice risk groups
    flat_visit_fee: Cents = Field(default=0, ge=0)  # PCF flat primary care visit fee, per visit
    esp_pmpm: Cents = Field(default=0, ge=0)  # MCP enhanced services payment, before risk adjustment


CPCP_T1_FIGURES = YearFigures(cmf_by_tier=(600, 800, 1600, 3000), pbip_pmpm=250)
CPCP_T2_FIGURES = YearFigures(cmf_by_tier=(900, 1100, 1900, 3300, 10_000), pbip_pmpm=400)
PCF_FIGURES = YearFigures(pbp_by_group=(2800, 4500, 10_000, 17_500), flat_visit_fee=4082)
# PCF's 2019 Request for Applications: five practice risk groups from $24 (an option).
PCF_RFA_2019_PBP_GROUPS: tuple[Cents, ...] = (2400, 4500, 10_000, 17_500, 27_500)
MCP_FIGURES = YearFigures(esp_pmpm=1000)

DEFAULT_FIGURES: dict[ProgramKind, YearFigures] = {
    ProgramKind.FFS: YearFigures(),
    ProgramKind.CPCP_T1: CPCP_T1_FIGURES,
    ProgramKind.CPCP_T2: CPCP_T2_FIGURES,
    ProgramKind.PCF: PCF_FIGURES,
    ProgramKind.MCP_T1: MCP_FIGURES,
    ProgramKind.MCP_T2: MCP_FIGURES,
    ProgramKind.MCP_T3: MCP_FIGURES,
    ProgramKind.FULL_CAP: YearFigures(),
}


class ProgramSettings(Frozen):
    """A program's rules as one payer applies them; defaults follow DOMAIN.md §4."""

    kind: ProgramKind
    hybrid_bp: BasisPoints = Field(default=-1, ge=-1, le=10_000)  # -1: the kind's default
    cost_share_basis: CostShareBasis = CostShareBasis.FULL
    capitated_groups: frozenset[ProcedureGroup] = DEFAULT_CAPITATED_GROUPS
    denied_codes: frozenset[str] = frozenset()  # lines denied CO-96 for attributed members
    cpcp_enhancement_bp: BasisPoints = Field(default=1000, ge=0, le=10_000)  # CPCP = expected E&M FFS x h x (1 + 10 %)
    minimum_attributed: int = Field(default=125, ge=0)
    leakage_adjustment: bool = True  # PCF: PBP x (1 - leakage rate)
    risk_adjust_cap_milli: int = Field(default=3000, ge=0, le=100_000)  # cap on a member's score in risk-adjusted payments
    figures: dict[PlanYear, YearFigures] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _fill_defaults(self) -> ProgramSettings:
        if self.hybrid_bp == -1:
            object.__setattr__(self, "hybrid_bp", DEFAULT_HYBRID_BP[self.kind])
        if self.kind in (ProgramKind.CPCP_T1, ProgramKind.CPCP_T2) and not self.denied_codes:
            # CPC+ practices may not bill CCM for their CPC+ members; those lines deny CO-96,
            # so CCM is not among CPC+'s capitated services either (DOMAIN.md §3 step 5).
            object.__setattr__(self, "denied_codes", CPC_PLUS_DENIED_CODES)
        if not self.figures:
            base = DEFAULT_FIGURES[self.kind]
            object.__setattr__(self, "figures", {2025: base, 2026: base})
        return self

    @field_serializer("capitated_groups", "denied_codes")
    def _sorted_set(self, value: frozenset) -> list[str]:
        # A set's iteration order depends on the process's hash seed; sorting keeps
        # reference.json and its digest (recorded in every ledger manifest) byte-stable.
        return sorted(str(v) for v in value)

    def figures_for(self, year: int) -> YearFigures:
        try:
            return self.figures[year]
        except KeyError:
            raise KeyError(
                f"program {self.kind} has no figures for plan year {year}"
                f" (defined: {sorted(self.figures)}); supply them in the scenario"
            ) from None

    @property
    def withholds_ffs(self) -> bool:
        return self.hybrid_bp > 0

    @property
    def flat_visit_fee_program(self) -> bool:
        return self.kind is ProgramKind.PCF


class Contract(Frozen):
    """A practice's contract with one payer over a date span (end inclusive; None = open)."""

    payer_id: str
    practice_id: str
    program: ProgramSettings
    start: dt.date
    end: dt.date | None = None

    def covers(self, day: dt.date) -> bool:
        return span_on(((self.start, self.end, True),), day) is True
