"""Practices and their clinicians: who bills (TIN) and who renders (NPI).

Attribution counts visits "by primary-care clinicians", so each clinician carries a role; the
practice's kind says what it is (primary care, specialist, urgent care, ED, lab, imaging,
hospitalist group, therapy).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from claimsim.events.plans import Frozen


class PracticeKind(StrEnum):
    PRIMARY_CARE = "primary_care"
    SPECIALIST = "specialist"
    URGENT_CARE = "urgent_care"
    ED = "ed"
    LAB = "lab"
    IMAGING = "imaging"
    HOSPITALIST = "hospitalist"  # physician group billing hospital and nursing-facility visits
    THERAPY = "therapy"  # outpatient physical/occupational therapy practice


class ClinicianRole(StrEnum):
    PRIMARY_CARE = "primary_care"  # family/internal medicine, geriatrics, pediatrics, NP/PA in PC
    SPECIALIST = "specialist"
    EMERGENCY = "emergency"
    OTHER = "other"


class Clinician(Frozen):
    npi: str
    role: ClinicianRole


class Practice(Frozen):
    """A billing entity. `practice_id` is its TIN, which claims carry as `billing_tin`."""

    practice_id: str
    name: str
    kind: PracticeKind
    clinicians: tuple[Clinician, ...] = ()
    panel_capacity: int = Field(default=0, ge=0)  # members; 0 = not a panel-holding practice

    @property
    def is_primary_care(self) -> bool:
        return self.kind is PracticeKind.PRIMARY_CARE
