"""Effective-dated facts (`events.timeline`): a fact replaces what was known from its date on,
lookups answer the latest fact on or before a day, and a contract span covers its start and end
days; the engine Context's inlined lookup and ReferenceData.contract_on agree with them."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings, strategies as st

from claimsim.events.programs import ProgramKind
from claimsim.events.timeline import entry_at, set_from, span_on, value_at

from ..fixtures.adjudication import Harness, contract, reference


def test_a_fact_replaces_everything_known_from_its_date_on_even_facts_dated_later():
    timeline: list = []
    set_from(timeline, ["2025-01-01", "P1"])
    set_from(timeline, ["2025-07-01", "P2"])
    set_from(timeline, ["2025-04-01", "P3"])  # learned later, effective earlier
    assert timeline == [["2025-01-01", "P1"], ["2025-04-01", "P3"]]
    set_from(timeline, ["2025-04-01", None])  # the same date: replaced
    assert timeline == [["2025-01-01", "P1"], ["2025-04-01", None]]


def test_lookups_answer_the_latest_fact_on_or_before_the_day():
    timeline = [("2025-01-01", "P1", "awv"), ("2025-04-01", "P2", "plurality")]
    assert value_at(timeline, "2024-12-31") is None
    assert value_at(timeline, "2024-12-31", "none") == "none"
    assert value_at(timeline, "2025-03-31") == "P1"
    assert value_at(timeline, "2025-04-01") == "P2"
    assert entry_at(timeline, "2026-01-01") == ("2025-04-01", "P2", "plurality")
    assert entry_at([], "2025-01-01") is None


def test_a_span_covers_its_start_and_end_days_and_the_first_of_overlapping_spans_answers():
    spans = [("2025-03-15", "2025-06-30", "A"), ("2025-06-01", None, "B")]
    assert span_on(spans, "2025-03-14") is None
    assert (span_on(spans, "2025-03-15"), span_on(spans, "2025-06-30")) == ("A", "A")
    assert (span_on(spans, "2025-07-01"), span_on(spans, "2030-01-01")) == ("B", "B")
    assert span_on([(dt.date(2025, 1, 1), None, "C")], dt.date(2025, 1, 1)) == "C"


_days = st.dates(dt.date(2024, 1, 1), dt.date(2026, 12, 31)).map(dt.date.isoformat)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_days, st.sampled_from(["PCP1", "PCP2", None])), max_size=8), _days)
def test_the_context_hot_path_agrees_with_the_timeline_rule(facts, day):
    """`Context.attributed_on` inlines `value_at`: both answer the same for any facts and day."""
    h = Harness()
    timeline: list = []
    for effective, practice in facts:
        h.attribute("M1", practice, effective=effective)
        set_from(timeline, [effective, practice])
    expected = value_at(timeline, day)
    assert h.ctx.attributed_on("M1", day) == expected


def test_engine_and_reference_data_find_the_same_contract_on_mid_month_boundaries():
    """PCP1 under CPC+ Track 2 from 2025-03-15 to 2025-06-15, then PCF: the engine's program and
    ReferenceData's contract agree on the days around each boundary."""
    first = contract(ProgramKind.CPCP_T2, start=dt.date(2025, 3, 15)).model_copy(
        update={"end": dt.date(2025, 6, 15)})
    second = contract(ProgramKind.PCF, start=dt.date(2025, 6, 16))
    ref = reference(contracts=[second, first])
    h = Harness(ref)
    for day, kind in (("2025-03-14", None), ("2025-03-15", "cpcplus_t2"),
                      ("2025-06-15", "cpcplus_t2"), ("2025-06-16", "pcf")):
        program = h.ctx.program_on("COM", "PCP1", day)
        found = ref.contract_on("COM", "PCP1", dt.date.fromisoformat(day))
        assert (program and program.kind) == kind
        assert (found and found.program.kind.value) == kind
        assert found is None or found.covers(dt.date.fromisoformat(day))
