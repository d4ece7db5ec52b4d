"""One valid example of every event type, for round-trip and log tests."""

from __future__ import annotations

import datetime as dt

from claimsim.events import input as inp
from claimsim.events import ledger, truth
from claimsim.events.codes import Frequency, GroupCode, RejectReason
from claimsim.events.programs import PaymentKind, ProgramKind

D = dt.date(2025, 3, 4)

CLAIM = {
    "claim_id": "C1",
    "frequency": "1",
    "original_claim_id": None,
    "member_id": "M1",
    "subscriber_id": "S1",
    "payer_id": "MCR",
    "billing_tin": "100000001",
    "rendering_npi": "1000000011",
    "place_of_service": "11",
    "received": "2025-03-10",
    "lines": [
        {"line_no": 1, "service_date": "2025-03-04", "procedure": "99213", "modifiers": [],
         "units": 1, "billed": 18_000, "diagnoses": ["E11.9"]},
    ],
}

LINE = ledger.LineResult(
    line_no=1, member_id="M1", service_date=D, procedure="99213", units=1, billed=18_000,
    allowed=9_070, plan_paid=3_628, cost_share=2_000, copay=2_000, cap_offset=3_442,
    status="paid", program=ProgramKind.CPCP_T2, attributed=True, capitated=True,
    adjustments=(
        ledger.Adjustment(group=GroupCode.CO, carc="45", amount=8_930),
        ledger.Adjustment(group=GroupCode.PR, carc="3", amount=2_000),
        ledger.Adjustment(group=GroupCode.CO, carc="24", amount=3_442),
    ),
)

EXAMPLES = {
    "member.enrolled": inp.MemberEnrolled(
        member_id="M1", subscriber_id="S1", payer_id="MCR", plan_id="MCR-B", start=D,
        birth_date=dt.date(1950, 6, 1), sex="F"),
    "member.terminated": inp.MemberTerminated(member_id="M1", subscriber_id="S1", payer_id="MCR", end=D),
    "alignment.declared": inp.AlignmentDeclared(
        member_id="M1", subscriber_id="S1", payer_id="MCR", practice_id="100000001", effective=D),
    "practice.quality_reported": inp.PracticeQualityReported(
        practice_id="100000001", payer_id="MCR", performance_year=2025, quality_bp=8_200,
        utilization_bp=9_500),
    "claim.submitted": inp.ClaimSubmitted(claim=CLAIM),
    "run.manifest": ledger.RunManifest(
        scenario="demo", seed=7, code_version="0.1.0", reference_digest="ab" * 32),
    "claim.adjudicated": ledger.ClaimAdjudicated(
        claim_id="C1", frequency=Frequency.ORIGINAL, member_id="M1", subscriber_id="S1",
        payer_id="MCR", practice_id="100000001", rendering_npi="1000000011",
        received=dt.date(2025, 3, 10), paid=dt.date(2025, 3, 24), lines=(LINE,)),
    "claim.reversed": ledger.ClaimReversed(
        claim_id="C2", original_claim_id="C1", reversed_claim_id="C1", member_id="M1",
        subscriber_id="S1", payer_id="MCR", practice_id="100000001",
        received=dt.date(2025, 4, 1), paid=dt.date(2025, 4, 15), reversed_lines=(LINE,)),
    "claim.rejected": ledger.ClaimRejected(
        claim_id="C3", reason=RejectReason.BAD_UNITS, field="lines.1.units", carc="16",
        message="units must be at least 1", raw='{"claim_id":"C3"}'),
    "no_effect": ledger.NoEffect(input_type="member.enrolled", note="enrollment recorded"),
    "epoch.boundary": ledger.EpochBoundary(epoch=1, boundary=dt.date(2025, 4, 1), last_input_seq=99),
    "attribution.assigned": ledger.AttributionAssigned(
        member_id="M1", subscriber_id="S1", payer_id="MCR", practice_id="100000001",
        effective=dt.date(2025, 4, 1), basis="plurality", visits=3, last_visit=D),
    "attribution.corrected": ledger.AttributionCorrected(
        member_id="M1", subscriber_id="S1", payer_id="MCR", from_practice="100000001",
        to_practice="100000002", effective=dt.date(2025, 2, 1), reason="member dispute"),
    "practice.status": ledger.PracticeStatus(
        payer_id="MCR", practice_id="100000001", program=ProgramKind.CPCP_T2,
        effective=dt.date(2025, 4, 1), active=False, attributed=80, reason="minimum volume"),
    "payment.prospective": ledger.ProspectivePayment(
        payer_id="MCR", practice_id="100000001", month="2025-04", kind=PaymentKind.CMF,
        amount=280_000, member_months=100),
    "snapshot.taken": ledger.PaymentSnapshot(
        payer_id="MCR", practice_id="100000001", month="2025-04", as_of_seq=1234,
        as_of_date=dt.date(2025, 5, 1), figures={"net": 1_000_000, "member_months": 100}),
    "truth.member": truth.TrueMember(
        member_id="M1", subscriber_id="S1", payer_id="MCR", true_pcp="100000001",
        conditions=("diabetes",), risk_milli=1_234),
    "truth.pcp_changed": truth.TruePcpChanged(
        member_id="M1", from_practice="100000001", to_practice="100000002", effective=D),
    "truth.referral": truth.TrueReferral(
        member_id="M1", from_practice="100000001", to_practice="200000001", service_date=D,
        procedure="20610", avoidable=True, claim_id="C9"),
    "truth.fault": truth.InjectedFault(kind="duplicate", claim_id="C7", detail="of C1"),
}
