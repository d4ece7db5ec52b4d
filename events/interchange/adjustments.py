"""A ledger line's claim adjustments as a remittance states them: group, CARC and amount, summing
to what the payer did not pay (`billed - plan_paid`), plus the remark codes that go with them.

Both the X12 835 (CAS segments) and the FHIR ExplanationOfBenefit (adjudication reasons) use this
one derivation, so the two never disagree about why a dollar was not paid.

Choices where DOMAIN.md is silent:
- The amount fields are the truth for the adjustments they name: PR-1 = deductible, PR-2 =
  coinsurance, PR-3 = copay, CO-24 = capitation offset, CO-253 = sequestration. A line whose
  adjustment list lacks one of these, or carries it with another amount (QMB lines kept their PR
  adjustments at 0 while `deductible`/`coinsurance` held the amounts), gets it from the field, and
  is counted as `derived`. Every other adjustment (CO-45, CO-96/97, CO-27/29/31, OA-18) is taken
  as the ledger wrote it.
- QMB (`medicaid_cost_share` > 0): the PR amounts stay on the line, as a Medicare remittance shows
  them, with the remark that the member may not be billed for them (N781 deductible, N782
  coinsurance, N783 copay).
- After derivation `billed - plan_paid - sum(adjustments)` must be 0; a line where it is not is a
  broken ledger, reported as an `InterchangeError` naming the claim and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from claimsim.events.interchange.records import InterchangeError

# (group, CARC, LineResult field holding its amount)
FIELD_ADJUSTMENTS = (
    ("CO", "24", "cap_offset"),
    ("CO", "253", "sequestration"),
    ("PR", "1", "deductible"),
    ("PR", "2", "coinsurance"),
    ("PR", "3", "copay"),
)
_FIELD_KEYS = frozenset((g, c) for g, c, _ in FIELD_ADJUSTMENTS)
QMB_REMARKS = {"1": "N781", "2": "N782", "3": "N783"}  # PR CARC -> "member may not be billed"
GROUP_ORDER = {"CO": 0, "OA": 1, "PI": 2, "PR": 3}


class Adjustment(NamedTuple):
    group: str
    carc: str
    amount: int  # cents; negative on reversal lines


@dataclass(frozen=True, slots=True)
class LineAdjustments:
    adjustments: tuple[Adjustment, ...]
    remarks: tuple[str, ...]
    derived: bool  # some adjustment came from an amount field, not the ledger's list

    @property
    def patient_responsibility(self) -> int:
        return sum(a.amount for a in self.adjustments if a.group == "PR")


def line_adjustments(line: dict[str, Any], claim_id: str) -> LineAdjustments:
    """The balanced adjustments of one ledger line (see the module docstring)."""
    kept = [Adjustment(a["group"], a["carc"], a["amount"]) for a in line.get("adjustments", ())
            if (a["group"], a["carc"]) not in _FIELD_KEYS and a["amount"]]
    from_fields = [Adjustment(g, c, line.get(f, 0)) for g, c, f in FIELD_ADJUSTMENTS
                   if line.get(f, 0)]
    ledger_fields = sorted((a["group"], a["carc"], a["amount"]) for a in line.get("adjustments", ())
                           if (a["group"], a["carc"]) in _FIELD_KEYS and a["amount"])
    derived = ledger_fields != sorted(tuple(a) for a in from_fields)
    adjustments = sorted(kept + from_fields, key=lambda a: GROUP_ORDER.get(a.group, 9))
    residual = line["billed"] - line["plan_paid"] - sum(a.amount for a in adjustments)
    if residual:
        raise InterchangeError(
            f"claim {claim_id} line {line['line_no']}: billed - paid - adjustments ="
            f" {residual} cents (the ledger line does not balance)")
    remarks = list(line.get("remarks", ()))
    if line.get("medicaid_cost_share", 0):
        remarks += [QMB_REMARKS[a.carc] for a in adjustments
                    if a.group == "PR" and a.carc in QMB_REMARKS]
    return LineAdjustments(tuple(adjustments), tuple(dict.fromkeys(remarks)), derived)
