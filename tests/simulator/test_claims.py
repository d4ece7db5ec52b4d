"""What the claims say (DOMAIN.md §2, §5): codes by line of business and visit, diagnoses from the
member's true conditions (only the coded ones), and quality reports as truth plus noise."""

from __future__ import annotations

from collections import defaultdict

import pytest

from claimsim.events.codes import (
    ACUTE_ICD10,
    AWV_CODES,
    E_AND_M_NEW,
    ICD10_CONDITION,
    PREVENTIVE_CODES,
)
from claimsim.simulator.config import PopulationConfig, QualityConfig, SimConfig
from claimsim.simulator.model import simulate
from claimsim.simulator.region import build_region


def _run(config: SimConfig):
    inputs: list[dict] = []
    truth: list[dict] = []
    simulate(config, inputs.append, truth.append)
    members = {e["data"]["member_id"]: e["data"] for e in inputs if e["type"] == "member.enrolled"}
    true = {e["data"]["member_id"]: e["data"] for e in truth if e["type"] == "truth.member"}
    claims = [e["data"]["claim"] for e in inputs if e["type"] == "claim.submitted"
              and e["data"]["claim"]["claim_id"][-2] != "-"]  # originals only
    return inputs, members, true, claims


@pytest.fixture(scope="module")
def run():
    return _run(SimConfig(seed=31, members=2500, months=12))


def test_awv_only_for_medicare_and_routine_physicals_never_for_medicare(run):
    _, members, _, claims = run
    awv, physicals = defaultdict(int), defaultdict(int)
    for c in claims:
        payer = members[c["member_id"]]["payer_id"]
        for line in c["lines"]:
            if line["procedure"] in AWV_CODES:
                awv[payer] += 1
            elif line["procedure"] in PREVENTIVE_CODES:
                physicals[payer] += 1
    assert set(awv) == {"MEDICARE-FFS", "MEDICARE-ADV"}
    assert set(physicals) == {"MEDICAID", "COMMERCIAL"}


def test_at_most_one_wellness_visit_per_member_per_year(run):
    _, _, _, claims = run
    per_member = defaultdict(int)
    for c in claims:
        if c["lines"][0]["procedure"] in AWV_CODES + PREVENTIVE_CODES:
            per_member[c["member_id"]] += 1
    assert per_member and max(per_member.values()) == 1


def test_new_patient_codes_only_on_a_members_first_visit_to_a_practice(run):
    _, _, _, claims = run
    seen_new = set()
    for c in sorted(claims, key=lambda c: c["lines"][0]["service_date"]):
        code = c["lines"][0]["procedure"]
        if code in E_AND_M_NEW:
            key = (c["member_id"], c["billing_tin"])
            assert key not in seen_new, key
            seen_new.add(key)
    assert seen_new


def test_diagnoses_come_from_the_members_true_conditions(run):
    """Every chronic diagnosis on a member's claims is one of that member's true conditions."""
    _, _, true, claims = run
    allowed_other = set(ACUTE_ICD10) | {"Z00.00"}
    checked = 0
    for c in claims:
        conditions = set(true[c["member_id"]]["conditions"])
        for line in c["lines"]:
            for dx in line["diagnoses"]:
                if dx in allowed_other:
                    continue
                assert ICD10_CONDITION[dx].value in conditions, (c["member_id"], dx)
                checked += 1
    assert checked > 1000


def _coded_share(coding_bp: int) -> float:
    """Share of (member, chronic condition) pairs with claims that ever show the condition."""
    _, _, true, claims = _run(SimConfig(seed=32, members=1500, months=12,
                                        population=PopulationConfig(condition_coding_bp=coding_bp)))
    shown = defaultdict(set)
    for c in claims:
        for line in c["lines"]:
            for dx in line["diagnoses"]:
                if dx in ICD10_CONDITION:
                    shown[c["member_id"]].add(ICD10_CONDITION[dx].value)
    with_claims = {c["member_id"] for c in claims}
    pairs = [(m, cond) for m in with_claims for cond in true[m]["conditions"]]
    return sum(1 for m, cond in pairs if cond in shown[m]) / len(pairs)


def test_uncoded_conditions_never_reach_the_payer_so_observed_risk_can_differ_from_truth():
    assert _coded_share(0) == 0.0
    partly = _coded_share(5000)
    fully = _coded_share(10_000)
    assert 0.3 < partly < 0.6 < 0.9 < fully


def test_quality_reports_are_the_practice_truth_plus_bounded_noise():
    config = SimConfig(seed=33, members=500, months=12, quality=QualityConfig(noise_bp=300))
    inputs, _, _, _ = _run(config)
    truth = {p.practice_id: p.quality_bp for p in build_region(config).practices}
    reports = [e["data"] for e in inputs if e["type"] == "practice.quality_reported"]
    assert reports
    for r in reports:
        assert abs(r["quality_bp"] - truth[r["practice_id"]]) <= 300
    assert len({r["quality_bp"] for r in reports}) > len(truth)  # noise differs by payer
