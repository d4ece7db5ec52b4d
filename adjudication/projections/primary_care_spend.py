"""Primary care spend share (DOMAIN.md §9, California OHCA's 2024 method, as settings): claims-based
primary care (service, place and provider all primary care) plus non-claims payments to primary
care at their allocation share, over total medical expense, per payer x line of business x year and
all payers together, with the OHCA and Colorado benchmark flags.

Choices where DOMAIN.md is silent:
- The service code set defaults to primary-care E&M, AWV/IPPE, preventive visits and care
  management; places default to office (11), telehealth (10, 02), home (12), FQHC (50), RHC (72).
- Annual-improvement flags compare a payer's share with its own share the year before (none for a
  payer's first year); the 15 % flag is met when the year's share is at least 15 %.
- Shares are basis points rounded half up (`events.money`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from claimsim.events.codes import ProcedureGroup
from claimsim.events.money import div_round_half_up
from claimsim.events.programs import PaymentKind
from claimsim.events.reference import ReferenceData

from claimsim.adjudication.projections.aligned_facts import (S_ALLOWED, S_PAID, S_PC_ALLOWED,
                                                             S_PC_PAID, AlignedFacts)

PC_SERVICES = frozenset(g.value for g in (ProcedureGroup.PC_EM, ProcedureGroup.AWV,
                                          ProcedureGroup.PREVENTIVE, ProcedureGroup.CARE_MGMT))
PC_PLACES = frozenset({"11", "10", "02", "12", "50", "72"})
OHCA_ANNUAL_MIN_BP = 50  # +0.5 percentage point a year (OHCA expects +0.5 to +1)
OHCA_ANNUAL_MAX_BP = 100
OHCA_TARGET_BP = 1500  # 15 % statewide by 2034
COLORADO_ANNUAL_BP = 100  # +1 point a year (Regulation 4-2-72)
ALL = "all"


@dataclass(frozen=True, slots=True)
class SpendSettings:
    services: frozenset[str] = PC_SERVICES
    places: frozenset[str] = PC_PLACES
    basis: str = "allowed"  # allowed (with member cost share) | paid
    # Share of each non-claims payment kind that counts as primary care, in basis points.
    allocation_bp: dict[str, int] = field(default_factory=lambda: {k.value: 10_000 for k in PaymentKind})

    def __post_init__(self) -> None:
        if self.basis not in ("allowed", "paid"):
            raise ValueError(f"primary care spend basis must be 'allowed' or 'paid', got {self.basis!r}")


def share_bp(part: int, whole: int) -> int:
    return div_round_half_up(part * 10_000, whole) if whole > 0 else 0


def spend_by_payer_year(facts: AlignedFacts, settings: SpendSettings) -> dict[tuple[str, str], list[int]]:
    """(payer, year) -> [claims TME, claims primary care, non-claims TME, non-claims primary care]."""
    claims_col, pc_col = ((S_ALLOWED, S_PC_ALLOWED) if settings.basis == "allowed"
                          else (S_PAID, S_PC_PAID))
    out: dict[tuple[str, str], list[int]] = {}
    for key, row in facts.spend.items():
        payer, year = key.split("|")
        agg = out.setdefault((payer, year), [0, 0, 0, 0])
        agg[0] += row[claims_col]
        agg[1] += row[pc_col]
    for key, amount in facts.prospective.items():
        payer, _practice, year, kind = key.split("|")
        agg = out.setdefault((payer, year), [0, 0, 0, 0])
        agg[2] += amount
        agg[3] += div_round_half_up(amount * settings.allocation_bp.get(kind, 0), 10_000)
    return out


def flags(share: int, prior: int | None) -> dict[str, Any]:
    """Benchmark flags for one year's share given the year before's (None: no prior year)."""
    delta = None if prior is None else share - prior
    return {"change_bp": delta,
            "meets_ohca_annual": None if delta is None else delta >= OHCA_ANNUAL_MIN_BP,
            "meets_colorado_annual": None if delta is None else delta >= COLORADO_ANNUAL_BP,
            "meets_ohca_15pct": share >= OHCA_TARGET_BP}


def primary_care_share_rows(facts: AlignedFacts, reference: ReferenceData,
                            settings: SpendSettings | None = None) -> list[dict[str, Any]]:
    """One row per payer x year, then one per year for all payers together ("all")."""
    settings = settings or SpendSettings()
    by_key = spend_by_payer_year(facts, settings)
    totals: dict[str, list[int]] = {}
    for (_, year), v in by_key.items():
        t = totals.setdefault(year, [0, 0, 0, 0])
        for i in range(4):
            t[i] += v[i]
    rows, prior_of = [], {}
    keyed = sorted(by_key.items()) + sorted(((ALL, y), v) for y, v in totals.items())
    for (payer, year), (tme_claims, pc_claims, tme_other, pc_other) in keyed:
        tme, pc = tme_claims + tme_other, pc_claims + pc_other
        share = share_bp(pc, tme)
        lob = reference.payer[payer].lob.value if payer in reference.payer else ALL
        rows.append({"payer_id": payer, "lob": lob, "year": int(year), "basis": settings.basis,
                     "primary_care_claims": pc_claims, "primary_care_non_claims": pc_other,
                     "primary_care_total": pc, "total_medical_expense": tme,
                     "primary_care_share_bp": share,
                     **flags(share, prior_of.get((payer, int(year) - 1)))})
        prior_of[(payer, int(year))] = share
    return rows
