"""Simulated HbA1c tests (simulator.hba1c): only for members whose true conditions include
diabetes, at their true PCP, one test and one CPT II result code carrying a diabetes diagnosis,
at about the set monthly chance; none, and no draw, at the default 0."""

from __future__ import annotations

from claimsim.events.codes import ICD10_CONDITION
from claimsim.events.encoding import canonical
from claimsim.simulator.config import QualityConfig, SimConfig
from claimsim.simulator.hba1c import RESULT_CODES
from claimsim.simulator.model import simulate


def _run(config: SimConfig):
    inputs: list[dict] = []
    truth: list[dict] = []
    simulate(config, inputs.append, truth.append)
    return inputs, truth


def test_tests_go_to_members_with_diabetes_at_about_the_monthly_chance():
    inputs, truth = _run(SimConfig(seed=7, members=800, months=6,
                                   quality=QualityConfig(hba1c_monthly_bp=5000)))
    true = {e["data"]["member_id"]: e["data"] for e in truth if e["type"] == "truth.member"}
    diabetic = {m for m, t in true.items() if "diabetes" in t["conditions"]}
    pcps = {m: {t["true_pcp"]} for m, t in true.items()}  # and any PCP a member switched to
    for e in truth:
        if e["type"] == "truth.pcp_changed":
            pcps[e["data"]["member_id"]].add(e["data"]["to_practice"])
    tests = [e["data"]["claim"] for e in inputs if e["type"] == "claim.submitted"
             and e["data"]["claim"]["claim_id"].startswith("Q")]
    assert tests
    for claim in tests:
        assert claim["member_id"] in diabetic
        assert claim["billing_tin"] in pcps[claim["member_id"]]
        codes = [line["procedure"] for line in claim["lines"]]
        assert codes[0] == "83037" and codes[1] in {c for c, _ in RESULT_CODES}
        for line in claim["lines"]:
            assert any(ICD10_CONDITION.get(dx) and ICD10_CONDITION[dx].value == "diabetes"
                       for dx in line["diagnoses"])
    # 6 months x members with diabetes x 50 %, less churn and claims received after the horizon:
    # between 35 % and 55 % of the diabetic member-months.
    assert 0.35 * 6 * len(diabetic) < len(tests) < 0.55 * 6 * len(diabetic)


def test_the_default_simulates_no_test_and_moves_no_byte():
    base = SimConfig(seed=7, members=300, months=3)
    off, _ = _run(base)
    assert not any(e["type"] == "claim.submitted" and e["data"]["claim"]["claim_id"].startswith("Q")
                   for e in off)
    again, _ = _run(base.model_copy(update={"quality": QualityConfig(hba1c_monthly_bp=0)}))
    assert [canonical(e) for e in off] == [canonical(e) for e in again]
