"""Claims-based quality measures (DOMAIN.md §9), computed from the ledger's paid lines and the claims'
diagnoses: the annual wellness visit rate among Medicare members, and HbA1c testing among members
with diabetes, per payer x year and per practice (its attributed members) x year.

Choices where DOMAIN.md is silent:
- Denominators: members enrolled with the payer on any day of the year (Medicare: the Medicare FFS
  and Medicare Advantage lines of business); diabetes = a diabetes diagnosis on any of the member's
  claims serviced that year. A line counts when it was paid (plan paid > 0 net of reversals is not
  required: a member's line paid once and voided still counts; the measure reads paid lines).
- A practice's rate reads the members attributed to it on the year's last covered day `as_of`.
"""

from __future__ import annotations

from typing import Any

from claimsim.events.codes import AWV_CODES, HBA1C_CODES, Condition
from claimsim.events.plans import LineOfBusiness

from claimsim.adjudication.projections.aligned_facts import AlignedFacts
from claimsim.adjudication.projections.primary_care_spend import share_bp

MEDICARE = frozenset({LineOfBusiness.MEDICARE_FFS.value, LineOfBusiness.MEDICARE_ADVANTAGE.value})
AWV = frozenset(AWV_CODES)


def enrolled_in(member: dict[str, Any], year: int) -> bool:
    first, last = f"{year}-01-01", f"{year}-12-31"
    return any(start <= last and (end is None or end >= first) for start, end in member["spans"])


def member_measures(facts: AlignedFacts, lob_of: dict[str, str],
                    year: int) -> dict[str, tuple[int, int, int, int]]:
    """member -> (in AWV denominator, had AWV, in HbA1c denominator, had HbA1c test), 0/1 each."""
    out = {}
    for mid, m in sorted(facts.members.items()):
        if not enrolled_in(m, year):
            continue
        done = facts.procedures.get(f"{mid}|{year}", set())
        medicare = lob_of.get(m["payer"]) in MEDICARE
        diabetic = Condition.DIABETES.value in facts.diagnoses.get(f"{mid}|{year}", set())
        out[mid] = (int(medicare), int(medicare and bool(done & AWV)),
                    int(diabetic), int(diabetic and bool(done & HBA1C_CODES)))
    return out


def _row(key: dict[str, Any], sums: list[int]) -> dict[str, Any]:
    return {**key, "medicare_members": sums[0], "awv_members": sums[1],
            "awv_rate_bp": share_bp(sums[1], sums[0]), "diabetic_members": sums[2],
            "hba1c_tested": sums[3], "hba1c_rate_bp": share_bp(sums[3], sums[2])}


def quality_rows(facts: AlignedFacts, lob_of: dict[str, str], years: list[int],
                 attributed: dict[str, str | None] | None = None) -> list[dict[str, Any]]:
    """Per payer x year; with `attributed` (member -> practice on `as_of`), also per practice."""
    rows = []
    for year in years:
        by_payer: dict[str, list[int]] = {}
        by_practice: dict[tuple[str, str], list[int]] = {}
        for mid, values in member_measures(facts, lob_of, year).items():
            payer = facts.members[mid]["payer"]
            for target in [by_payer.setdefault(payer, [0] * 4)] + (
                    [by_practice.setdefault((payer, attributed[mid]), [0] * 4)]
                    if attributed and attributed.get(mid) else []):
                for i, v in enumerate(values):
                    target[i] += v
        rows += [_row({"payer_id": p, "practice_id": "", "year": year}, s)
                 for p, s in sorted(by_payer.items())]
        rows += [_row({"payer_id": p, "practice_id": pr, "year": year}, s)
                 for (p, pr), s in sorted(by_practice.items())]
    return rows
