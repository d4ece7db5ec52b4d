"""Ledger events: everything the payer side decided, each with `cause` = the input seq it answers
(or the epoch boundary that triggered it).

Every input event yields exactly one ledger entry (DESIGN.md "The three logs"): a claim's
adjudication (with the reversal of the version it replaces), a void's reversal, a rejection, or
`no_effect`. Amounts are integer cents; on reversal lines every amount is negated.

Versions: `claim.adjudicated` and `claim.reversed` v2 carry each line's diagnoses as submitted
(the projections' observed risk reads them from the ledger instead of the whole input log). A v1
line did not record them; its upcaster says so with `diagnoses: None` (an upcaster cannot invent
diagnoses: a reader that needs them reads the claim in the input log).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_serializer

from claimsim.events.codes import Frequency, GroupCode, RejectReason
from claimsim.events.money import Cents
from claimsim.events.programs import PaymentKind, ProgramKind
from claimsim.events.registry import EventData, event_type, upcaster


class _Shape(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


@event_type("run.manifest")
class RunManifest(EventData):
    """First entry of every ledger: what produced it."""

    scenario: str
    seed: int
    code_version: str
    reference_digest: str
    settings: dict[str, Any] = Field(default_factory=dict)
    # The sequestration rate applied to each payer's plan paid (basis points; payers without
    # sequestration are absent): the payers' reference data, or the settings' explicit override.
    sequestration_bp: dict[str, int] = Field(default_factory=dict)
    # The id of the Ed25519 key that signs this ledger's heads (events.signing); absent when the
    # run is unsigned, so an unsigned manifest keeps the bytes it always had.
    signing_key_id: str | None = None

    @model_serializer(mode="wrap")
    def _omit_absent_key(self, handler):
        data = handler(self)
        if data.get("signing_key_id") is None:
            data.pop("signing_key_id", None)
        return data


class Adjustment(_Shape):
    group: GroupCode
    carc: str
    amount: Cents


class LineResult(_Shape):
    """One adjudicated claim line. Invariant: allowed = plan_paid + cost_share + cap_offset +
    sequestration, each part >= 0 (each <= 0 on a reversal line)."""

    line_no: int
    member_id: str
    service_date: dt.date
    procedure: str
    units: int
    billed: Cents
    allowed: Cents
    plan_paid: Cents
    cost_share: Cents  # = deductible + coinsurance + copay
    deductible: Cents = 0
    coinsurance: Cents = 0
    copay: Cents = 0
    cap_offset: Cents = 0
    sequestration: Cents = 0
    shadow_allowed: Cents = 0  # what FFS would have allowed (PCF flat-fee lines, shadow lines)
    medicaid_cost_share: Cents = 0  # QMB: cost share moved to the Medicaid payer
    status: str = "paid"  # paid | denied | shadow
    program: ProgramKind = ProgramKind.FFS
    attributed: bool = False
    capitated: bool = False  # a capitated service of the practice's program
    adjustments: tuple[Adjustment, ...] = ()
    remarks: tuple[str, ...] = ()
    # The line's ICD-10-CM codes as submitted (validated: at most 12 of at most 8 characters);
    # None on a line recorded at v1, before ledgers carried them.
    diagnoses: tuple[str, ...] | None = None


@event_type("claim.adjudicated", 2)
class ClaimAdjudicated(EventData):
    """An original (1) or replacement (7) claim's result. A replacement carries the negated lines
    of the version it replaces in `reversed_lines` (835 claim status 22), then its own lines."""

    claim_id: str
    frequency: Frequency
    original_claim_id: str | None = None
    member_id: str
    subscriber_id: str
    payer_id: str
    practice_id: str
    rendering_npi: str
    received: dt.date
    paid: dt.date
    lines: tuple[LineResult, ...]
    reversed_lines: tuple[LineResult, ...] = ()
    reversed_claim_id: str | None = None  # the claim id whose current version was reversed


@event_type("claim.reversed", 2)
class ClaimReversed(EventData):
    """A void (8): every effect of the current version of the original, negated."""

    claim_id: str  # the void's own id
    original_claim_id: str
    reversed_claim_id: str  # the version that was reversed (original or its last replacement)
    member_id: str
    subscriber_id: str
    payer_id: str
    practice_id: str
    received: dt.date
    paid: dt.date
    reversed_lines: tuple[LineResult, ...]


def lines_without_diagnoses(data: dict[str, Any]) -> dict[str, Any]:
    """A claim entry's data with every line's diagnoses unknown (None): what a v1 entry upcasts
    to. Also how a replay compares a v1 entry with this code's v2 answer to the same input."""
    out = dict(data)
    for key in ("lines", "reversed_lines"):
        if key in out:
            out[key] = [{**line, "diagnoses": None} for line in out[key]]
    return out


upcaster("claim.adjudicated", 1)(lines_without_diagnoses)
upcaster("claim.reversed", 1)(lines_without_diagnoses)


@event_type("claim.rejected")
class ClaimRejected(EventData):
    claim_id: str | None = None
    member_id: str | None = None
    subscriber_id: str | None = None
    reason: RejectReason
    field: str  # dotted path into the claim, e.g. "lines.2.units"
    carc: str
    message: str
    raw: str  # the submitted claim, truncated


@event_type("no_effect")
class NoEffect(EventData):
    """An input that changed no payment (enrollment recorded, quality stored, ...)."""

    input_type: str
    note: str = ""


@event_type("epoch.boundary")
class EpochBoundary(EventData):
    """The run clock closed an epoch: claims received before `boundary` are adjudicated."""

    epoch: int
    boundary: dt.date
    last_input_seq: int


@event_type("attribution.assigned")
class AttributionAssigned(EventData):
    member_id: str
    subscriber_id: str
    payer_id: str
    practice_id: str | None  # None: no longer attributed
    effective: dt.date
    basis: str  # voluntary | awv | ccm | plurality | none
    visits: int = 0
    last_visit: dt.date | None = None


@event_type("attribution.corrected")
class AttributionCorrected(EventData):
    member_id: str
    subscriber_id: str
    payer_id: str
    from_practice: str | None
    to_practice: str | None
    effective: dt.date
    reason: str


@event_type("practice.status")
class PracticeStatus(EventData):
    """A practice's standing in its program with one payer, effective from an epoch boundary.

    `active` False means the payer treats it as FFS for the epoch (no offsets, no prospective
    payments), with the reason (e.g. minimum volume: fewer attributed members than required).
    """

    payer_id: str
    practice_id: str
    program: ProgramKind
    effective: dt.date
    active: bool
    attributed: int = 0
    risk_group: int | None = None  # PCF practice risk group (1-based) / CPC+ average tier
    reason: str = ""


@event_type("payment.prospective")
class ProspectivePayment(EventData):
    payer_id: str
    practice_id: str
    month: str  # YYYY-MM the payment is for
    kind: PaymentKind
    amount: Cents
    member_months: int = 0
    adjusts_month: str | None = None  # set on recoupments/corrections of an earlier month
    detail: dict[str, Any] = Field(default_factory=dict)


@event_type("ledger.signed")
class LedgerSigned(EventData):
    """An Ed25519 signature over the ledger's head at `signed_seq` (events.signing). Its `cause`
    is the seq it signs; it answers no input, and replay skips it."""

    key_id: str
    signed_seq: int
    signed_hash: str
    signature: str  # hex


@event_type("snapshot.taken")
class PaymentSnapshot(EventData):
    payer_id: str
    practice_id: str
    month: str
    as_of_seq: int
    as_of_date: dt.date
    figures: dict[str, int]  # cents and counts, named as in DOMAIN.md §7
