"""Small synthetic reference data and an in-memory harness for the adjudication tests: a plan,
fee schedule and practices simple enough that each test's arithmetic fits in its docstring.

Fee schedule (2025, cents per unit): 99213 $100, 99214 $150, 99396 $200 (preventive),
G0439 $170 (AWV), 36415 $3, 80053 $10, 71046 $50, 99490 $60 (CCM), 99283 $200 (ED).
Practices: PCP1 (NPI N1) and PCP2 (NPI N2) primary care; SPEC (NPI N3) specialist.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from claimsim.adjudication.context import Context, Settings
from claimsim.adjudication.core import adjudicate
from claimsim.adjudication.family import FamilyState
from claimsim.events.codes import VisitCategory
from claimsim.events.envelope import new_event
from claimsim.events.fee_schedule import FeeSchedule
from claimsim.events.ledger import (
    AttributionAssigned, ClaimAdjudicated, ClaimRejected, ClaimReversed, NoEffect, PracticeStatus,
)
from claimsim.events.plans import BenefitDesign, LineOfBusiness, Payer, Plan, part_b_plan
from claimsim.events.programs import Contract, ProgramKind, ProgramSettings
from claimsim.events.providers import Clinician, ClinicianRole, Practice, PracticeKind
from claimsim.events.reference import ReferenceData

FEES = {"99213": 10_000, "99214": 15_000, "99396": 20_000, "G0439": 17_000, "36415": 300,
        "80053": 1_000, "71046": 5_000, "99490": 6_000, "99283": 20_000}

MODELS = {"claim.adjudicated": ClaimAdjudicated, "claim.reversed": ClaimReversed,
          "claim.rejected": ClaimRejected, "no_effect": NoEffect}


def design(**kw: Any) -> BenefitDesign:
    """Defaults: $500/$1,000 deductible, 20 %, OOP $2,000/$4,000, embedded, no copays."""
    base = dict(deductible_individual=50_000, deductible_family=100_000, coinsurance_bp=2000,
                oop_individual=200_000, oop_family=400_000, embedded=True)
    base.update(kw)
    return BenefitDesign(**base)


def plan(plan_id: str = "COM-P", payer_id: str = "COM", years=(2025, 2026), **kw: Any) -> Plan:
    d = design(**kw)
    return Plan(plan_id=plan_id, payer_id=payer_id, name=plan_id, lob=LineOfBusiness.COMMERCIAL,
                benefits={y: d for y in years})


PRACTICES = (
    Practice(practice_id="PCP1", name="Primary One", kind=PracticeKind.PRIMARY_CARE,
             clinicians=(Clinician(npi="N1", role=ClinicianRole.PRIMARY_CARE),)),
    Practice(practice_id="PCP2", name="Primary Two", kind=PracticeKind.PRIMARY_CARE,
             clinicians=(Clinician(npi="N2", role=ClinicianRole.PRIMARY_CARE),)),
    Practice(practice_id="SPEC", name="Specialists", kind=PracticeKind.SPECIALIST,
             clinicians=(Clinician(npi="N3", role=ClinicianRole.SPECIALIST),)),
)


def reference(plans: list[Plan] | None = None, contracts: list[Contract] | None = None,
              fee_years=(2025, 2026), timely_filing_days: int = 365) -> ReferenceData:
    plans = plans if plans is not None else [plan()]
    return ReferenceData(
        payers=(
            Payer(payer_id="COM", name="Commercial", lob=LineOfBusiness.COMMERCIAL,
                  timely_filing_days=timely_filing_days, processing_days=14),
            Payer(payer_id="MCR", name="Medicare", lob=LineOfBusiness.MEDICARE_FFS,
                  timely_filing_days=timely_filing_days, processing_days=14),
        ),
        plans=tuple(plans),
        fee_schedules=(FeeSchedule(fee_schedule_id="fs", amounts={y: dict(FEES) for y in fee_years}),),
        payer_fee_schedule={"COM": "fs", "MCR": "fs"},
        practices=PRACTICES,
        contracts=tuple(contracts or ()),
    )


def contract(kind: ProgramKind, practice_id: str = "PCP1", payer_id: str = "COM",
             start=dt.date(2025, 1, 1), **settings: Any) -> Contract:
    return Contract(payer_id=payer_id, practice_id=practice_id,
                    program=ProgramSettings(kind=kind, **settings), start=start)


def line(code: str, billed: int, day: str = "2025-03-01", units: int = 1, line_no: int = 1,
         modifiers: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"line_no": line_no, "service_date": day, "procedure": code, "modifiers": list(modifiers),
            "units": units, "billed": billed, "diagnoses": ["I10"]}


class Harness:
    """Feeds input envelopes through the core one by one, as a runtime would, and validates
    every ledger event through its pydantic model."""

    def __init__(self, ref: ReferenceData | None = None, settings: Settings | None = None):
        self.ctx = Context(ref or reference(), settings)
        self.families: dict[str, FamilyState] = {}
        self.seq = 0
        self.ledger: list[dict[str, Any]] = []
        self.inputs: list[dict[str, Any]] = []

    def feed(self, type_: str, data: dict[str, Any], key: str, at: str = "2025-01-01") -> dict[str, Any]:
        env = new_event(data, at=at, key=key, type=type_)
        env["seq"] = self.seq
        self.seq += 1
        self.inputs.append(env)
        return self.apply(env)

    def apply(self, env: dict[str, Any]) -> dict[str, Any]:
        event, state = adjudicate(env, self.families.get(env["key"]), self.ctx)
        self.families[env["key"]] = state
        MODELS[event["type"]].model_validate(event["data"])
        self.ledger.append(event)
        return event

    def enroll(self, member: str, subscriber: str | None = None, plan_id: str = "COM-P",
               payer: str = "COM", start: str = "2025-01-01", end: str | None = None,
               qmb: bool = False) -> dict[str, Any]:
        subscriber = subscriber or member
        return self.feed("member.enrolled", {
            "member_id": member, "subscriber_id": subscriber, "payer_id": payer, "plan_id": plan_id,
            "start": start, "end": end, "birth_date": "1960-01-01", "sex": "F", "qmb": qmb,
        }, key=subscriber, at=start)

    def terminate(self, member: str, end: str, subscriber: str | None = None, payer: str = "COM"):
        subscriber = subscriber or member
        return self.feed("member.terminated", {"member_id": member, "subscriber_id": subscriber,
                                               "payer_id": payer, "end": end}, key=subscriber, at=end)

    def claim(self, claim_id: str, member: str, lines: list[dict[str, Any]], *,
              subscriber: str | None = None, payer: str = "COM", tin: str = "PCP1",
              npi: str | None = None, pos: str = "11", received: str = "2025-03-10",
              frequency: str = "1", original: str | None = None, **extra: Any) -> dict[str, Any]:
        subscriber = subscriber or member
        npi = npi or {"PCP1": "N1", "PCP2": "N2", "SPEC": "N3"}[tin]
        claim = {"claim_id": claim_id, "frequency": frequency, "original_claim_id": original,
                 "member_id": member, "subscriber_id": subscriber, "payer_id": payer,
                 "billing_tin": tin, "rendering_npi": npi, "place_of_service": pos,
                 "received": received, "lines": lines, **extra}
        return self.feed("claim.submitted", {"claim": claim}, key=subscriber, at=received)

    def attribute(self, member: str, practice: str | None, effective: str = "2025-01-01",
                  payer: str = "COM", subscriber: str | None = None) -> None:
        event = AttributionAssigned(member_id=member, subscriber_id=subscriber or member,
                                    payer_id=payer, practice_id=practice,
                                    effective=dt.date.fromisoformat(effective), basis="plurality")
        self.ctx.apply_ledger_event(new_event(event, at=effective, key=member))

    def practice_status(self, practice: str, active: bool, effective: str, payer: str = "COM",
                        program: ProgramKind = ProgramKind.CPCP_T2) -> None:
        event = PracticeStatus(payer_id=payer, practice_id=practice, program=program,
                               effective=dt.date.fromisoformat(effective), active=active)
        self.ctx.apply_ledger_event(new_event(event, at=effective, key=practice))

    def accumulators(self, subscriber: str, payer: str = "COM", year: int = 2025) -> dict[str, Any]:
        return self.families[subscriber].accumulators(payer, year)


def only_line(event: dict[str, Any]) -> dict[str, Any]:
    lines = event["data"]["lines"]
    assert len(lines) == 1, lines
    return lines[0]


def parts(line: dict[str, Any]) -> tuple[int, int, int, int, int]:
    """(allowed, plan_paid, cost_share, cap_offset, sequestration)."""
    return (line["allowed"], line["plan_paid"], line["cost_share"], line["cap_offset"],
            line["sequestration"])


def adjustment_codes(line: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(a["group"], a["carc"], a["amount"]) for a in line["adjustments"]]


PART_B = part_b_plan("MCR-B", "MCR")
PCP_COPAY = {VisitCategory.PCP: 2_500}
