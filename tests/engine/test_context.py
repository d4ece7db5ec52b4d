"""The Context's epoch facts: attribution (assigned, corrected) and practice status take effect
from their own date, and a fact learned later supersedes what was known for the dates it covers."""

from __future__ import annotations

import datetime as dt


from ..fixtures.adjudication import Harness, contract, line, only_line, plan, reference
from claimsim.events.envelope import new_event
from claimsim.events.ledger import AttributionCorrected
from claimsim.events.programs import ProgramKind


def _correct(h: Harness, member: str, to: str | None, effective: str) -> None:
    event = AttributionCorrected(member_id=member, subscriber_id=member, payer_id="COM",
                                 from_practice=None, to_practice=to,
                                 effective=dt.date.fromisoformat(effective), reason="dispute")
    assert h.ctx.apply_ledger_event(new_event(event, at=effective, key=member))


def test_attribution_timeline_later_facts_supersede_from_their_date():
    h = Harness()
    h.attribute("M1", "PCP1", effective="2025-01-01")
    h.attribute("M1", "PCP2", effective="2025-07-01")
    assert h.ctx.attributed_on("M1", "2025-06-30") == "PCP1"
    assert h.ctx.attributed_on("M1", "2025-07-01") == "PCP2"
    # A correction learned later, effective 2025-04-01, covers every date from then on.
    _correct(h, "M1", "PCP2", "2025-04-01")
    assert h.ctx.attributed_on("M1", "2025-03-31") == "PCP1"
    assert h.ctx.attributed_on("M1", "2025-04-01") == "PCP2"
    h.attribute("M1", None, effective="2025-09-01")
    assert h.ctx.attributed_on("M1", "2025-12-31") is None
    assert h.ctx.attributed_on("M2", "2025-12-31") is None


def test_practice_status_toggles_offsets_by_service_date():
    """CPC+ Track 2 at 40 %, no deductible, 20 %: active -> O = 40 % x (10000 - 2000) = 3200;
    inactive from 2025-04-01 -> O = 0; active again from 2025-07-01 -> O = 3200."""
    h = Harness(reference([plan(deductible_individual=0, deductible_family=0)],
                          [contract(ProgramKind.CPCP_T2)]))
    h.enroll("M1")
    h.attribute("M1", "PCP1")
    h.practice_status("PCP1", active=False, effective="2025-04-01")
    h.practice_status("PCP1", active=True, effective="2025-07-01")
    offsets = []
    for n, day in enumerate(("2025-03-15", "2025-05-15", "2025-08-15")):
        ev = h.claim(f"C{n}", "M1", [line("99213", 10_000, day=day)], received="2025-09-01")
        offsets.append(only_line(ev)["cap_offset"])
    assert offsets == [3_200, 0, 3_200]


def test_other_ledger_types_are_not_context_facts():
    h = Harness()
    assert h.ctx.apply_ledger_event({"type": "claim.adjudicated", "data": {}}) is False
