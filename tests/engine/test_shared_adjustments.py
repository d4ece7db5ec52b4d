"""A paid line's CARC adjustments are shared, one dict per (CARC, amount), as its diagnoses are one
list per combination (`line_results.paid_adjustments`): the values are those of the rule, in its
order, keys sorted; and nothing that reads a line result changes a shared adjustment."""

from __future__ import annotations

from claimsim.adjudication.engine.line_results import negated, paid_adjustments


def _all_six():
    # billed 10,000, allowed 7,000: CO-45 3,000; offset 500; PR 1/2/3; sequestration 60.
    return paid_adjustments(10_000, 7_000, 500, 1_000, 400, 2_500, 60)


def test_a_paid_line_carries_each_adjustment_it_has_in_the_rule_s_order():
    assert _all_six() == [
        {"amount": 3_000, "carc": "45", "group": "CO"},
        {"amount": 500, "carc": "24", "group": "CO"},
        {"amount": 1_000, "carc": "1", "group": "PR"},
        {"amount": 400, "carc": "2", "group": "PR"},
        {"amount": 2_500, "carc": "3", "group": "PR"},
        {"amount": 60, "carc": "253", "group": "CO"},
    ]
    assert [list(a) for a in _all_six()] == [["amount", "carc", "group"]] * 6  # keys sorted
    assert paid_adjustments(7_000, 7_000, 0, 0, 0, 0, 0) == []


def test_the_same_carc_and_amount_is_one_shared_dict_and_a_reversal_leaves_it_alone():
    first, again = _all_six(), _all_six()
    assert all(a is b for a, b in zip(first, again))
    # The same amount under another CARC is its own adjustment.
    assert paid_adjustments(8_000, 7_000, 0, 1_000, 0, 0, 0) == [
        {"amount": 1_000, "carc": "45", "group": "CO"},
        {"amount": 1_000, "carc": "1", "group": "PR"},
    ]
    line = {"adjustments": first, **{name: 1 for name in (
        "billed", "allowed", "plan_paid", "cost_share", "deductible", "coinsurance", "copay",
        "cap_offset", "sequestration", "shadow_allowed", "medicaid_cost_share")}}
    reversal = negated(line)
    assert [a["amount"] for a in reversal["adjustments"]] == [-3_000, -500, -1_000, -400, -2_500, -60]
    assert [a["amount"] for a in _all_six()] == [3_000, 500, 1_000, 400, 2_500, 60]
