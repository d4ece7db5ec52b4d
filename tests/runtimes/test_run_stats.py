"""`RunStats` counts a run's answers by type and nets their plan paid: a batch counted at once
(`count_all`, the embedded loop's and the workers' way) gives what counting one at a time gives."""

from __future__ import annotations

from claimsim.adjudication.runtimes.stats import RunStats


def _answer(kind: str, lines: tuple[int, ...] = (), reversed_lines: tuple[int, ...] = ()) -> dict:
    data: dict = {"reversed_lines": [{"plan_paid": p} for p in reversed_lines]}
    if kind == "claim.adjudicated":
        data["lines"] = [{"plan_paid": p} for p in lines]
    return {"type": kind, "data": data}


ANSWERS = [
    _answer("claim.adjudicated", (8_000, 2_500)),  # an original: 105.00 paid
    _answer("no_effect"),
    _answer("claim.adjudicated", (9_000,), (-8_000, -2_500)),  # its replacement: net -15.00
    _answer("claim.rejected"),
    _answer("claim.reversed", reversed_lines=(-9_000,)),  # then voided: -90.00
    _answer("claim.adjudicated", (1_234,)),
]


def test_a_batch_counts_each_answer_type_and_nets_plan_paid():
    stats = RunStats()
    stats.count_all(ANSWERS)
    # 8,000 + 2,500 + 9,000 - 8,000 - 2,500 - 9,000 + 1,234 = 1,234 cents
    assert stats.as_dict() == {"inputs": 6, "claims_adjudicated": 3, "claims_reversed": 1,
                               "claims_rejected": 1, "no_effect": 1, "plan_paid": 1_234}


def test_counting_in_batches_equals_counting_one_at_a_time():
    one_by_one, batches = RunStats(), RunStats()
    for answer in ANSWERS:
        one_by_one.count(answer)
    batches.count_all(ANSWERS[:2])
    batches.count_all(ANSWERS[2:])
    batches.count_all([])
    assert batches.as_dict() == one_by_one.as_dict()
