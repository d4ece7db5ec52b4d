"""Year-end reconciliation (DOMAIN.md §7) per payer x practice x plan year, after the claims
run-out window (setting, default 3 months): prospective paid (with adjustments; PCF's performance
adjustment on flat fees in the year of the visits it adjusts) against shadow FFS, PBIP kept or
recouped on the practice's quality score, leakage totals, and member cost share under the
contract's basis.

PBIP rule (DOMAIN.md leaves the map to a setting): kept in full when the practice's quality score
for the year is at least `pbip_quality_threshold_bp` (default 50 %), recouped in full otherwise
or when there is no score; with `pbip_retained_map` set, the share kept is the map's for the
score, and the rest is recouped. The score is the one reported for the year, or, when the setting
`quality_source` is "claims", the claims-based score of the practice's members attributed on
31 December (`claims_quality.score_for_year`).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from claimsim.events.calendar import add_months, months_from
from claimsim.events.envelope import new_event
from claimsim.events.ledger import ProspectivePayment
from claimsim.events.money import apply_rate
from claimsim.events.programs import PaymentKind

from claimsim.adjudication.projections.claims_quality import pbip_retained_bp, score_for_year
from claimsim.adjudication.projections.flat_fee_performance import by_year
from claimsim.adjudication.projections.fold.timelines import B_DAY
from claimsim.adjudication.projections.money import money_totals

if TYPE_CHECKING:
    from claimsim.adjudication.projections.state import PayerState

PBIP = PaymentKind.PBIP.value
PBA_FLAT_FEE = PaymentKind.PBA_FLAT_FEE.value


def due(year: int, as_of: str, runout_months: int) -> bool:
    """Whether the year's run-out window has closed by `as_of` (first day after it)."""
    return as_of >= add_months(f"{year + 1}-01-01", runout_months)


def year_figures(state: PayerState, payer: str, practice: str, year: int) -> dict[str, Any]:
    """The reconciliation of one practice's year with one payer (cents; basis as a string)."""
    prefix = f"{payer}|{practice}|{year}-"
    prospective: dict[str, int] = {}
    for book in (state.paid_original, state.adjusted_for):
        for key, kinds in book.items():
            if key.startswith(prefix):
                for kind, amount in kinds.items():
                    if kind != PBA_FLAT_FEE:
                        prospective[kind] = prospective.get(kind, 0) + amount
    # The performance adjustment on flat fees counts in the year of the visits it adjusts (its
    # basis splits it by year), wherever it was paid: January's for December's visits, and the
    # closing boundary's, paid after the last plan year (`flat_fee_performance`).
    # Paid no earlier than its visits, at a boundary folded so far: the months from the year's
    # first to the last boundary's are every month it can be paid in (looked up, not a scan of
    # every payer's practice-months: this runs for every practice and year).
    last = state.boundaries[-1][B_DAY][:7] if state.boundaries else f"{year}-12"
    for month in months_from(f"{year}-01", max(last, f"{year}-01")):
        basis = state.paid_basis.get(f"{payer}|{practice}|{month}", {}).get(PBA_FLAT_FEE)
        if basis is not None:
            amount = by_year(basis).get(str(year), 0)
            if amount:
                prospective[PBA_FLAT_FEE] = prospective.get(PBA_FLAT_FEE, 0) + amount
    money = money_totals(state.money, prefix=prefix)
    totals = {"ffs_paid": money.ffs_by_service_date, "capitation_offsets": money.offsets,
              "member_cost_share": money.cost_share,
              "medicaid_cost_share": money.medicaid_cost_share, "shadow_ffs": money.shadow_ffs,
              "leakage_cost": money.leakage_cost, "leakage_visits": money.leakage_visits,
              "qualifying_visits": money.qualifying_visits}
    contract = state.reference.contract_on(payer, practice, dt.date(year, 12, 31))
    recorded = state.reconciled.get(f"{payer}|{practice}|{year}")  # a recoupment already made
    pbip_paid = prospective.get(PBIP, 0) + (recorded or 0)
    score, measured = year_score(state, payer, practice, year, scored=bool(pbip_paid))
    retained = pbip_retained_bp(state.settings, score)
    recouped = recorded if recorded is not None else pbip_paid - apply_rate(pbip_paid, retained)
    prospective_total = sum(prospective.values())
    return {
        "payer_id": payer, "practice_id": practice, "year": year,
        "program": contract.program.kind.value if contract else "ffs",
        "cost_share_basis": contract.program.cost_share_basis.value if contract else "full",
        "prospective": dict(sorted(prospective.items())),
        "prospective_total": prospective_total,
        **totals,
        "prospective_minus_shadow_ffs": prospective_total - totals["shadow_ffs"],
        "quality_bp": score,
        "pbip_paid": pbip_paid,
        "pbip_kept": pbip_paid - recouped,
        "pbip_recouped": recouped,
        **measured,
    }


def year_score(state: PayerState, payer: str, practice: str, year: int, scored: bool = True
               ) -> tuple[int | None, dict[str, Any]]:
    """(the practice's quality score for the year, the claims-based measures behind it: empty
    for a reported score). A claims-based score is figured only where `scored` (PBIP was paid:
    nothing else reads it), else its measures are empty (None), so every row has the columns."""
    if state.settings.quality_source == "claims":
        if not scored:
            return None, {**dict.fromkeys(CLAIMS_KEYS), "quality_source": "claims"}
        measured = score_for_year(state, payer, practice, year)
        return measured.score_bp, measured.detail()
    reported = state.quality.get(f"{payer}|{practice}", {}).get(str(year))
    return (None if reported is None else reported[0]), {}


def reconcile(state: PayerState, year: int, as_of: str, *,
              cause: int | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every practice-year with money in `year`: (figures, PBIP recoupment events paid in
    `as_of`'s month, adjusting December of the year). Skips practice-years already reconciled."""
    keys = sorted({tuple(k.split("|")[:2]) for book in (state.money, state.paid_original)
                   for k in book if k.split("|")[2].startswith(f"{year}-")})
    rows, events = [], []
    for payer, practice in keys:
        row = year_figures(state, payer, practice, year)
        rows.append(row)
        if row["pbip_recouped"] and f"{payer}|{practice}|{year}" not in state.reconciled:
            event = ProspectivePayment(
                payer_id=payer, practice_id=practice, month=as_of[:7], kind=PaymentKind.PBIP,
                amount=-row["pbip_recouped"], member_months=0, adjusts_month=f"{year}-12",
                detail=_recoup_detail(state, year, row))
            events.append(new_event(event, at=as_of, key=practice, cause=cause))
    return rows, events


def _recoup_detail(state: PayerState, year: int, row: dict[str, Any]) -> dict[str, Any]:
    """A recoupment's evidence: the score and the rule; the claims-based measures when the score
    came from claims, the retained share when a map (not the threshold) gave it."""
    settings = state.settings
    detail: dict[str, Any] = {"reconciliation": year, "quality_bp": row["quality_bp"],
                              "threshold_bp": settings.pbip_quality_threshold_bp}
    if settings.pbip_retained_map:
        del detail["threshold_bp"]
        detail["retained_bp"] = pbip_retained_bp(settings, row["quality_bp"])
    if settings.quality_source == "claims":
        detail.update({k: row[k] for k in CLAIMS_KEYS})
    return detail


CLAIMS_KEYS = ("quality_source", "quality_period", "medicare_members", "awv_members", "awv_rate_bp",
               "diabetic_members", "hba1c_tested", "hba1c_rate_bp")
