"""The projections replay's fast paths give what the rules they stand in for give: the risk
scores at a boundary (age inlined, demographic scores shared per age and sex, each distinct raw
score normalised once, tiers ranked by a tuple sort), the payer's member lists refilled in one
pass, and a claim entry's conditions when every line repeats the claim's diagnoses."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings, strategies as st

from claimsim.events.calendar import add_months, age_on
from claimsim.events.codes import ICD10_CONDITION, demographic_risk_milli
from claimsim.events.money import div_round_half_up
from claimsim.events.timeline import value_at

from claimsim.adjudication.projections.claim_entry import ClaimLine
from claimsim.adjudication.projections.diagnoses import line_conditions
from claimsim.adjudication.projections.fold.claims import conditions_of
from claimsim.adjudication.projections.fold.membership import SPAN_PAYER
from claimsim.adjudication.projections.fold.money import practice_on
from claimsim.adjudication.projections.risk import (_WEIGHT, DEMENTIA, _scored, cpc_tiers,
                                                   normalise)
from claimsim.adjudication.projections.snapshots import member_month_counts

from ..fixtures.projections import PAYER, Feed, reference

def _lines(*dx_by_line) -> list[ClaimLine]:
    """Claim lines as the fold reads them, carrying these diagnoses (the rest: any values)."""
    return [ClaimLine(allowed=0, cap_offset=0, capitated=False, cost_share=0,
                      medicaid_cost_share=0, plan_paid=0, procedure="99213", sequestration=0,
                      service_date="2025-01-02", status="paid", shadow_allowed=0, diagnoses=dx)
            for dx in dx_by_line]


def _fold_conditions(lines: list[ClaimLine]) -> list[str]:
    """`fold.claims.conditions_of` as the fold calls it: the lines and their fields' tuples."""
    return conditions_of([msgspec.structs.astuple(line) for line in lines], lines)


_DX = sorted(ICD10_CONDITION) + ["J06.9", "Z00.00"]
_DAYS = st.dates(min_value=__import__("datetime").date(2023, 1, 1),
                 max_value=__import__("datetime").date(2025, 12, 31)).map(lambda d: d.isoformat())


def _scored_by_the_rules(state, payer: str, as_of: str):
    """`risk._scored` as the rules read: `age_on`, `demographic_risk_milli` and the window."""
    since = add_months(as_of, -state.settings.risk_lookback_months)
    raw, dementia = {}, set()
    for mid in sorted(state.members):
        if not state.eligible_on(mid, payer, as_of):
            continue
        m = state.members[mid]
        score = demographic_risk_milli(age_on(m["birth"], as_of), m["sex"])
        for cond, last in state.dx.get(mid, {}).items():
            if since <= last < as_of:
                score += _WEIGHT[cond]
                if cond == DEMENTIA:
                    dementia.add(mid)
        raw[mid] = score
    return raw, dementia


def test_a_member_whose_birthday_is_the_boundary_is_a_year_older_that_day():
    """Born 1960-07-01: 64 on 2025-06-30, 65 on 2025-07-01 (base 0.550 under 65, 0.420 from 65);
    born 1960-07-02: still 64 on 2025-07-01. Raw scores, before normalising."""
    feed = Feed(reference())
    feed.enroll("A", birth="1960-07-01")
    feed.enroll("B", birth="1960-07-02")
    assert _scored(feed.state, PAYER, "2025-07-01") == ({"A": 420, "B": 550}, set())
    assert _scored(feed.state, PAYER, "2025-06-30")[0] == {"A": 550, "B": 550}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.dates(min_value=__import__("datetime").date(1920, 1, 1),
                                   max_value=__import__("datetime").date(2024, 12, 31)),
                          st.sampled_from("FM"), st.booleans(),
                          st.lists(st.tuples(st.sampled_from(_DX), _DAYS), max_size=3)),
                min_size=1, max_size=12),
       _DAYS)
def test_scores_at_a_boundary_equal_the_rules_for_any_members(members, as_of):
    feed = Feed(reference())
    for i, (birth, sex, hospice, visits) in enumerate(members):
        mid = f"M{i:02d}"
        feed.enroll(mid, birth=birth.isoformat(), sex=sex, hospice=hospice)
        for code, day in visits:
            feed.visit(mid, "P1", day, dx=(code,))
    assert _scored(feed.state, PAYER, as_of) == _scored_by_the_rules(feed.state, PAYER, as_of)


@given(st.dictionaries(st.text("abcdef", min_size=1, max_size=4), st.integers(0, 3000),
                       min_size=1, max_size=40))
def test_normalising_each_distinct_score_once_equals_the_per_member_formula(raw):
    total, n = sum(raw.values()), len(raw)
    expected = raw if total <= 0 else {m: div_round_half_up(r * 1000 * n, total)
                                       for m, r in raw.items()}
    assert normalise(raw) == expected and list(normalise(raw)) == list(raw)


@given(st.dictionaries(st.text("abcdef", min_size=1, max_size=4), st.integers(0, 30),
                       min_size=1, max_size=40))
def test_tiers_rank_members_by_risk_then_member_id(risk):
    ranked = sorted(risk, key=lambda m: (risk[m], m))
    tiers = cpc_tiers(risk, set(), 1000)
    assert [tiers[m][0] for m in ranked] == [1 + 4 * r // len(risk) for r in range(len(risk))]


def test_payer_member_lists_refill_in_one_pass_and_follow_new_enrollments():
    """Members with two payers: each payer's list is its members in id order, and an
    enrollment with one payer renews that payer's list only."""
    feed = Feed(reference())
    for mid in ("M3", "M1", "M2"):
        feed.enroll(mid)
    state = feed.state
    state.members["M2"].spans += (("OTHER", "2024-01-01", None),)  # spans are tuples, replaced
    state._payer_members.clear()
    assert state.payer_members("OTHER") == ["M2"]
    assert state.payer_members(PAYER) == ["M1", "M2", "M3"]
    assert state.payer_members("NOBODY") == []
    feed.enroll("M0")
    assert state.payer_members(PAYER) == ["M0", "M1", "M2", "M3"]
    assert state.payer_members("OTHER") == ["M2"]
    naive = sorted(m for m, f in state.members.items() if any(s[SPAN_PAYER] == PAYER for s in f["spans"]))
    assert state.payer_members(PAYER) == naive


@given(st.lists(st.lists(st.sampled_from(_DX), max_size=3), min_size=1, max_size=4))
def test_a_claims_conditions_are_those_of_every_line_s_diagnoses(dx_by_line):
    lines = _lines(*dx_by_line)
    expected = sorted({ICD10_CONDITION[c].value for dx in dx_by_line for c in dx
                       if c in ICD10_CONDITION})
    assert line_conditions(lines) == expected


# Lines as a ledger holds them, and values one written by the engine never does (a bare string,
# a dict, a number): the fold's fast path answers only lines that all carry one and the same code.
_ODD = st.one_of(st.lists(st.sampled_from(_DX), max_size=3), st.sampled_from(_DX),
                 st.sampled_from(["E", "", 7]).map(lambda v: [v]), st.just({"E11.9": 1}))


@given(st.one_of(st.lists(st.sampled_from(_DX), min_size=1, max_size=2).flatmap(
    lambda dx: st.integers(1, 4).map(lambda n: [list(dx) for _ in range(n)])),
    st.lists(_ODD, min_size=1, max_size=4)))
def test_the_folds_conditions_are_the_references_for_any_lines(dx_by_line):
    """`fold.claims.conditions_of` (cached by the one code every line carries) answers what
    `diagnoses.line_conditions` answers, or raises what it raises: one code on every line, lines
    that differ in any one line, several codes, and odd values."""
    lines = _lines(*dx_by_line)
    try:
        expected: object = line_conditions(lines)
    except Exception as e:  # noqa: BLE001 (the reference's error is the expected answer)
        expected = type(e)
    try:
        got: object = _fold_conditions(lines)
    except Exception as e:  # noqa: BLE001
        got = type(e)
    assert got == expected


def test_a_claim_whose_lines_differ_is_not_answered_by_its_first_lines_code():
    """The cache by code must not answer for a claim whose later line carries another code:
    diabetes on the first line, CHF on the second, after a claim with diabetes alone."""
    diabetes, chf = ICD10_CONDITION["E11.9"].value, ICD10_CONDITION["I50.9"].value
    assert _fold_conditions(_lines(["E11.9"])) == [diabetes]
    assert _fold_conditions(_lines(["E11.9"], ["I50.9"])) == sorted(
        [diabetes, chf])
    assert _fold_conditions(_lines(["E11.9"], ["E11.9", "I50.9"])) == sorted(
        [diabetes, chf])
    assert _fold_conditions(_lines(["E11.9"], ["E11.9"])) == [diabetes]


def test_lines_repeating_the_claim_s_diagnoses_give_the_claim_s_conditions():
    """Diabetes (E11.9) and CHF (I50.9) on both lines of a claim: two conditions, sorted."""
    lines = _lines(["E11.9", "I50.9"], ["E11.9", "I50.9"])
    assert line_conditions(lines) == sorted([ICD10_CONDITION["E11.9"].value,
                                             ICD10_CONDITION["I50.9"].value])
    assert len(line_conditions(lines)) == 2


@settings(max_examples=200, deadline=None)
@given(st.lists(_DAYS, max_size=6, unique=True), _DAYS)
def test_the_practice_a_claim_finds_is_the_attribution_timelines_value_on_its_day(effective, day):
    """`fold.money.practice_on` (the leakage's home practice, scanned from the newest entry) is
    `events.timeline.value_at` on any sorted attribution timeline, before, on and after its
    entries' days."""
    timeline = [(e, f"P{i}", "plurality") for i, e in enumerate(sorted(effective))]
    assert practice_on(timeline, day) == value_at(timeline, day)
    assert practice_on([list(e) for e in timeline], day) == value_at(timeline, day)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([PAYER, "OTHER"]), _DAYS, st.one_of(st.none(), _DAYS)),
                min_size=1, max_size=4),
       st.booleans(), _DAYS, st.sampled_from([PAYER, "OTHER", "NOBODY"]))
def test_eligibility_inlined_equals_enrollment_less_medicare_hospice(spans, hospice, day, payer):
    """`PayerState.eligible_on` (the enrollment test inlined) is `enrolled_on` and not a Medicare
    FFS member in hospice, for any spans (open or ended, before or after the day, any payer)."""
    feed = Feed(reference())
    feed.enroll("M1", hospice=hospice)
    state = feed.state
    state.members["M1"].spans = tuple(spans)  # spans are tuples, replaced
    enrolled = any(p == payer and start <= day and (end is None or day <= end)
                   for p, start, end in spans)
    assert state.enrolled_on("M1", payer, day) is enrolled
    assert state.eligible_on("M1", payer, day) is (enrolled and not (hospice and payer == PAYER))
    assert state.eligible_on("M9", payer, day) is False and state.enrolled_on("M9", payer, day) is False


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["P1", "P2", None]), _DAYS), max_size=4),
       st.lists(st.tuples(st.sampled_from(["P1", "P2", None]), _DAYS), max_size=4),
       st.one_of(st.none(), _DAYS), _DAYS)
def test_members_by_practice_are_each_members_attribution_and_eligibility(a, b, end, day):
    """`PayerState.members_by_practice` (one pass for every practice)
    groups exactly the members `attributed_on` and `eligible_on` place, in member order; the
    month's counts are its lists' lengths. M2's enrollment ends on `end`; M3 is never assigned."""
    feed = Feed(reference())
    for mid in ("M3", "M2", "M1"):
        feed.enroll(mid, end=end if mid == "M2" else None)
    for mid, assignments in (("M1", a), ("M2", b)):
        for practice, effective in sorted(assignments, key=lambda x: x[1]):
            feed.assign(mid, practice, effective)
    state = feed.state
    expected: dict[str, list[str]] = {}
    for mid in ("M1", "M2", "M3"):
        practice = state.attributed_on(mid, day)
        if practice is not None and state.eligible_on(mid, PAYER, day):
            expected.setdefault(practice, []).append(mid)
    assert state.members_by_practice(PAYER, day) == expected
    assert list(state.members_by_practice(PAYER, day)) == list(expected)
    assert member_month_counts(state, PAYER, day[:7]) == {
        p: len(ms) for p, ms in state.members_by_practice(PAYER, day[:7] + "-01").items()}


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["P1", "P2", None]), _DAYS), max_size=4),
       st.lists(st.tuples(st.sampled_from(["P1", "P2", None]), _DAYS), max_size=4),
       st.lists(st.tuples(st.sampled_from([PAYER, "OTHER"]), _DAYS, st.one_of(st.none(), _DAYS)),
                min_size=1, max_size=4),
       st.booleans(), st.lists(_DAYS, max_size=8, unique=True))
def test_member_months_counts_every_day_as_members_by_practice_does(a, b, spans, hospice, days):
    """`PayerState.member_months` (every day in one pass, by ranges) gives, for each day, the
    lengths of `members_by_practice`'s lists (one pass a day), for any attribution timelines
    (with unassigned entries), any enrollment spans (overlapping, touching, ended, another
    payer's) and a member in hospice, under the Medicare FFS payer and another."""
    feed = Feed(reference())
    for mid in ("M3", "M2", "M1"):
        feed.enroll(mid, hospice=hospice and mid == "M2")
    for mid, assignments in (("M1", a), ("M2", b)):
        for practice, effective in sorted(assignments, key=lambda x: x[1]):
            feed.assign(mid, practice, effective)
    state = feed.state
    state.members["M1"].spans = tuple(spans)  # spans are tuples, replaced
    state.members["M2"].spans = tuple(spans[:1]) + state.members["M2"].spans
    # The days asked for, and every day an entry or a span starts or ends on (the edges).
    days = sorted({*days, *(e for _, e in a + b), *(d for _, start, end in spans for d in (start, end) if d)})
    for payer in (PAYER, "OTHER", "NOBODY"):
        state._payer_members.clear()  # a cache of who was ever enrolled: the spans changed
        expected = [{p: len(ms) for p, ms in state.members_by_practice(payer, day).items()}
                    for day in days]
        assert state.member_months(payer, days) == expected
