"""Input events: what the payer receives (enrollment, alignment choices, quality reports, claims).

A claim arrives **as submitted**: structurally valid JSON whose business content is untrusted.
`ClaimSubmitted.claim` is therefore a plain mapping, and `SubmittedClaim` documents the shape a
good claim has; the adjudicator validates content and rejects with a reason and the field.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_serializer

from claimsim.events.codes import Frequency
from claimsim.events.money import BasisPoints, Cents
from claimsim.events.registry import EventData, event_type


@event_type("member.enrolled")
class MemberEnrolled(EventData):
    member_id: str
    subscriber_id: str
    payer_id: str
    plan_id: str
    start: dt.date
    end: dt.date | None = None  # inclusive; None = open-ended
    birth_date: dt.date
    sex: str = Field(pattern="^[FMU]$")
    relationship: str = "self"  # self | spouse | child
    qmb: bool = False  # dual-eligible Qualified Medicare Beneficiary: owes no cost share
    hospice: bool = False
    # Race, ethnicity and preferred language (DOMAIN.md §9), as the eligibility file states them;
    # absent (omitted, not null) when unknown, so a log written without them keeps its bytes.
    race: str | None = None
    ethnicity: str | None = None
    language: str | None = None

    @model_serializer(mode="wrap")
    def _omit_absent_demographics(self, handler):
        data = handler(self)
        for name in ("race", "ethnicity", "language"):
            if data.get(name) is None:
                data.pop(name, None)
        return data


@event_type("member.terminated")
class MemberTerminated(EventData):
    member_id: str
    subscriber_id: str
    payer_id: str
    end: dt.date  # last covered day
    reason: str = "disenrolled"


@event_type("alignment.declared")
class AlignmentDeclared(EventData):
    """A member's voluntary choice of primary-care practice (overrides claims-based attribution)."""

    member_id: str
    subscriber_id: str
    payer_id: str
    practice_id: str
    effective: dt.date


@event_type("practice.quality_reported")
class PracticeQualityReported(EventData):
    practice_id: str
    payer_id: str
    performance_year: int
    quality_bp: BasisPoints = Field(ge=0, le=10_000)  # composite quality score, 0-100 %
    utilization_bp: BasisPoints = Field(ge=0, le=20_000)  # acute utilization vs benchmark


@event_type("claim.submitted")
class ClaimSubmitted(EventData):
    claim: dict[str, Any]


class _Shape(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SubmittedLine(_Shape):
    line_no: int = Field(ge=1)
    service_date: dt.date
    procedure: str
    modifiers: tuple[str, ...] = ()
    units: int = Field(ge=1)
    billed: Cents = Field(ge=0)
    diagnoses: tuple[str, ...] = ()


class SubmittedClaim(_Shape):
    """The shape of a well-formed professional claim (837P-like); documentation and test oracle."""

    claim_id: str
    frequency: Frequency = Frequency.ORIGINAL
    original_claim_id: str | None = None  # required for 7 and 8
    member_id: str
    subscriber_id: str
    payer_id: str
    billing_tin: str
    rendering_npi: str
    place_of_service: str
    received: dt.date
    lines: tuple[SubmittedLine, ...] = Field(min_length=1)
