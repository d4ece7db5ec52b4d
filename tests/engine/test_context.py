"""The Context's epoch facts: attribution (assigned, corrected) and practice status take effect
from their own date, and a fact learned later supersedes what was known for the dates it covers."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings, strategies as st

from ..fixtures.adjudication import Harness, contract, line, only_line, plan, reference
from claimsim.events.envelope import new_event
from claimsim.events.ledger import AttributionCorrected
from claimsim.events.programs import ProgramKind
from claimsim.events.timeline import value_at


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


_DAYS = st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2025, 12, 31)).map(
    lambda d: d.isoformat())
_HARNESS = Harness()


@settings(max_examples=300, deadline=None)
@given(st.lists(_DAYS, max_size=12, unique=True), st.lists(_DAYS, min_size=1, max_size=4))
def test_attributed_on_is_the_timelines_value_on_the_day(effective, days):
    """`Context.attributed_on` (the last entries scanned from the newest, the rest bisected) is
    `events.timeline.value_at` on any attribution timeline, shorter and longer than the scan,
    before, on, between and after its entries' days, None and practices alike."""
    timeline = [(e, None if i % 3 == 2 else f"P{i}") for i, e in enumerate(sorted(effective))]
    _HARNESS.ctx._attribution["M9"] = timeline
    for day in days + list(effective):
        assert _HARNESS.ctx.attributed_on("M9", day) == value_at(timeline, day)
