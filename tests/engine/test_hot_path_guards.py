"""The claim loop calls a rule function only where it has work to do, guarding the call with the
function's own no-op case (`claims._adjudicate_lines`, `claims._cost_share`). Each guard must
agree with the rule it skips, and each rule the loop copies inline must give what the loop gives,
or a change to the rule would be silently ignored on the hot path."""

from __future__ import annotations

import itertools

import pytest

from ..fixtures.adjudication import FEES, Harness, line, only_line, plan, reference
from claimsim.adjudication.engine.context import Design
from claimsim.adjudication.engine.cost_share import (
    COPAY_GROUPS, ZERO_COST_GROUPS, is_zero_cost, visit_category,
)
from claimsim.adjudication.engine.pricing import PREVENTIVE, allowed_amount, not_covered_remark
from claimsim.adjudication.engine.programs import capitation_offset, cost_share_base
from claimsim.events.codes import ProcedureGroup

GROUPS = [None, *(g.value for g in ProcedureGroup)]
DESIGNS = [Design(ded_ind=0, ded_fam=0, coins_bp=2_000, oop_ind=None, oop_fam=None, embedded=True,
                  copays={}, preventive_zero=zero, part_b=part_b)
           for zero, part_b in itertools.product((False, True), repeat=2)]


@pytest.mark.parametrize("group", GROUPS)
def test_only_zero_cost_groups_can_be_zero_cost(group):
    """The loop skips `is_zero_cost` for groups outside ZERO_COST_GROUPS."""
    found = [is_zero_cost(group, d) for d in DESIGNS]
    assert (group in ZERO_COST_GROUPS) == any(found)


@pytest.mark.parametrize("group", GROUPS)
def test_only_copay_groups_have_a_visit_category(group):
    """The loop skips the copay lookup for groups outside COPAY_GROUPS."""
    categories = {visit_category(group, pos, pc) for pos in ("11", "20", "23") for pc in (False, True)}
    assert (categories == {None}) == (group not in COPAY_GROUPS)


@pytest.mark.parametrize("group", GROUPS)
def test_a_line_on_the_schedule_is_priced_unless_a_part_b_routine_physical(group):
    """The loop asks for a not-covered remark only when the fee is missing or the line preventive."""
    for part_b in (False, True):
        remark = not_covered_remark(group, 10_000, part_b)
        assert (remark is not None) == (part_b and group == PREVENTIVE)
        assert not_covered_remark(group, None, part_b) is not None


def test_no_hybrid_share_leaves_base_and_offset_alone():
    """With h = 0 the loop uses `allowed` as the base and 0 as the offset without calling."""
    for allowed, share, reduced in itertools.product((0, 1, 9_999, 10_000), (0, 1, 500), (False, True)):
        assert cost_share_base(allowed, 0, reduced) == allowed
        assert capitation_offset(allowed, allowed, share, 0, reduced) == 0


def test_allowed_is_the_lesser_of_billed_and_fee_times_units():
    assert allowed_amount(300, 3, 1_200) == 900
    assert allowed_amount(300, 1, 200) == 200
    assert allowed_amount(300, 2, 600) == 600


@pytest.mark.parametrize("code, units, billed", [
    ("36415", 3, 1_200), ("36415", 3, 900), ("36415", 1, 200), ("99213", 1, 0), ("99214", 2, 40_000),
])
def test_the_claim_loop_prices_lines_as_allowed_amount_does(code, units, billed):
    """The claim loop inlines `allowed_amount`: the line it adjudicates carries the same allowed."""
    h = Harness(reference([plan(deductible_individual=0, deductible_family=0)]))
    h.enroll("M1")
    ln = only_line(h.claim("C1", "M1", [line(code, billed, units=units)]))
    assert ln["allowed"] == allowed_amount(FEES[code], units, billed)
