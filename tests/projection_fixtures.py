"""Hand-built input and ledger events for the projection tests: a small region (one Medicare FFS
payer, three primary-care practices and a specialist practice) and a `Feed` that builds events
with the real event models and folds them into a PayerState, as the run clock would.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from claimsim.events import vocabulary  # noqa: F401  (registers every event type)
from claimsim.events.envelope import new_event
from claimsim.events.fee_schedule import default_fee_schedule
from claimsim.events.input import (AlignmentDeclared, ClaimSubmitted, MemberEnrolled,
                                   PracticeQualityReported)
from claimsim.events.ledger import ClaimAdjudicated, ClaimReversed, EpochBoundary, LineResult
from claimsim.events.plans import LineOfBusiness, Payer, part_b_plan
from claimsim.events.programs import Contract, ProgramSettings
from claimsim.events.providers import Clinician, ClinicianRole, Practice, PracticeKind
from claimsim.events.reference import ReferenceData

from claimsim.adjudication.snapshots_settings import ProjectionSettings
from claimsim.adjudication.snapshots_state import PayerState

PAYER = "MCR"
FEES = default_fee_schedule().amounts[2025]


def reference(programs: dict[str, ProgramSettings] | None = None,
              start: str = "2024-01-01") -> ReferenceData:
    """P1-P3 primary care (NPIs N1-N3, and a specialist S1 billing under P1), SP a specialist
    practice (S9). `programs` maps practice id -> its program with MCR from `start`."""
    pc = ClinicianRole.PRIMARY_CARE
    practices = [
        Practice(practice_id="P1", name="One", kind=PracticeKind.PRIMARY_CARE,
                 clinicians=(Clinician(npi="N1", role=pc),
                             Clinician(npi="S1", role=ClinicianRole.SPECIALIST))),
        Practice(practice_id="P2", name="Two", kind=PracticeKind.PRIMARY_CARE,
                 clinicians=(Clinician(npi="N2", role=pc),)),
        Practice(practice_id="P3", name="Three", kind=PracticeKind.PRIMARY_CARE,
                 clinicians=(Clinician(npi="N3", role=pc),)),
        Practice(practice_id="SP", name="Specialists", kind=PracticeKind.SPECIALIST,
                 clinicians=(Clinician(npi="S9", role=ClinicianRole.SPECIALIST),)),
    ]
    contracts = tuple(
        Contract(payer_id=PAYER, practice_id=p, program=prog, start=dt.date.fromisoformat(start))
        for p, prog in sorted((programs or {}).items()))
    return ReferenceData(
        payers=(Payer(payer_id=PAYER, name="Medicare", lob=LineOfBusiness.MEDICARE_FFS),),
        plans=(part_b_plan("MCR-B", PAYER),),
        fee_schedules=(default_fee_schedule(),),
        payer_fee_schedule={PAYER: "pfs-national"},
        practices=tuple(practices),
        contracts=contracts,
    )


NPI = {"P1": "N1", "P2": "N2", "P3": "N3", "SP": "S9"}


class Feed:
    """Builds events and folds them, input and ledger interleaved as a run would."""

    def __init__(self, ref: ReferenceData, settings: ProjectionSettings | None = None):
        self.state = PayerState(ref, settings)
        self.input_seq = -1
        self.ledger_seq = -1
        self.claims: dict[str, dict[str, Any]] = {}
        self.log: list[dict[str, Any]] = []  # every ledger envelope, in order
        self.inputs: list[dict[str, Any]] = []
        self._n = 0

    # -- plumbing ------------------------------------------------------------------------
    def _input(self, model, at: str, key: str) -> int:
        self.input_seq += 1
        env = {**new_event(model, at=at, key=key), "seq": self.input_seq}
        self.inputs.append(env)
        self.state.apply(env)
        return self.input_seq

    def record(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for event in events:
            self.ledger_seq += 1
            env = {**event, "seq": self.ledger_seq}
            self.log.append(env)
            self.state.apply(env)
            out.append(env)
        return out

    # -- input events --------------------------------------------------------------------
    def enroll(self, member: str, *, start: str = "2024-01-01", end: str | None = None,
               birth: str = "1950-06-15", sex: str = "F", hospice: bool = False) -> None:
        self._input(MemberEnrolled(member_id=member, subscriber_id=member, payer_id=PAYER,
                                   plan_id="MCR-B", start=start, end=end, birth_date=birth,
                                   sex=sex, hospice=hospice), start, member)

    def align(self, member: str, practice: str, effective: str, at: str | None = None) -> None:
        self._input(AlignmentDeclared(member_id=member, subscriber_id=member, payer_id=PAYER,
                                      practice_id=practice, effective=effective),
                    at or effective, member)

    def quality(self, practice: str, year: int, quality_bp: int, at: str) -> None:
        self._input(PracticeQualityReported(practice_id=practice, payer_id=PAYER,
                                            performance_year=year, quality_bp=quality_bp,
                                            utilization_bp=10_000), at, practice)

    # -- ledger events -------------------------------------------------------------------
    def visit(self, member: str, practice: str, day: str, code: str = "99213", *,
              npi: str | None = None, allowed: int | None = None, cost_share: int = 0,
              cap_offset: int = 0, paid: str | None = None, dx: tuple[str, ...] = (),
              capitated: bool = False, attributed: bool = False, status: str = "paid",
              program: str = "ffs") -> str:
        """One claim with one line; plan paid = allowed − cost share − offset."""
        self._n += 1
        claim_id = f"C{self._n}"
        allowed = FEES[code] if allowed is None else allowed
        npi = npi or NPI[practice]
        received = paid or day
        submitted = {"claim_id": claim_id, "member_id": member, "subscriber_id": member,
                     "payer_id": PAYER, "billing_tin": practice, "rendering_npi": npi,
                     "place_of_service": "11", "received": received,
                     "lines": [{"line_no": 1, "service_date": day, "procedure": code, "units": 1,
                                "billed": allowed, "diagnoses": list(dx)}]}
        cause = self._input(ClaimSubmitted(claim=submitted), received, member)
        line = LineResult(line_no=1, member_id=member, service_date=day, procedure=code, units=1,
                          billed=allowed, allowed=allowed,
                          plan_paid=allowed - cost_share - cap_offset, cost_share=cost_share,
                          coinsurance=cost_share, cap_offset=cap_offset, status=status,
                          program=program, attributed=attributed, capitated=capitated)
        event = ClaimAdjudicated(claim_id=claim_id, frequency="1", member_id=member,
                                 subscriber_id=member, payer_id=PAYER, practice_id=practice,
                                 rendering_npi=npi, received=received, paid=received, lines=(line,))
        self.claims[claim_id] = {"event": event, "line": line}
        self.record([new_event(event, at=received, key=member, cause=cause)])
        return claim_id

    def void(self, claim_id: str, paid: str) -> None:
        original = self.claims[claim_id]["event"]
        line = self.claims[claim_id]["line"]
        negated = line.model_copy(update={k: -getattr(line, k) for k in (
            "billed", "allowed", "plan_paid", "cost_share", "coinsurance", "cap_offset")})
        self._n += 1
        void_id = f"V{self._n}"
        cause = self._input(ClaimSubmitted(claim={"claim_id": void_id, "frequency": "8",
                                                  "original_claim_id": claim_id}),
                            paid, original.member_id)
        event = ClaimReversed(claim_id=void_id, original_claim_id=claim_id,
                              reversed_claim_id=claim_id, member_id=original.member_id,
                              subscriber_id=original.subscriber_id, payer_id=PAYER,
                              practice_id=original.practice_id, received=paid, paid=paid,
                              reversed_lines=(negated,))
        self.record([new_event(event, at=paid, key=original.member_id, cause=cause)])

    def boundary(self, day: str, epoch: int = 1) -> None:
        self.record([new_event(EpochBoundary(epoch=epoch, boundary=day,
                                             last_input_seq=self.input_seq),
                               at=day, key="epoch", cause=self.input_seq)])
