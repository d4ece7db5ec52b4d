"""Injected faults, as the adjudicator meets them: each at its configured rate, each recorded in
the truth log under the faulty claim's id, and each shaped as DOMAIN.md §3 describes (exact
duplicates by line content, 7/8 naming an earlier original, malformed business content)."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter

import pytest
from pydantic import ValidationError

from claimsim.events.codes import PROCEDURE_GROUPS
from claimsim.events.input import SubmittedClaim
from claimsim.simulator.config import FaultConfig, SimConfig
from claimsim.simulator.faults import Malformation
from claimsim.simulator.model import simulate

RATES = {"duplicate": 800, "replacement": 600, "void": 400, "malformed": 600, "late": 300}


@pytest.fixture(scope="module")
def run():
    config = SimConfig(seed=21, members=2500, months=12, runout_months=3,
                       faults=FaultConfig(**{f"{k}_bp": v for k, v in RATES.items()}))
    inputs: list[dict] = []
    truth: list[dict] = []
    summary = simulate(config, inputs.append, truth.append)
    claims = {e["data"]["claim"]["claim_id"]: e for e in inputs if e["type"] == "claim.submitted"}
    faults = {e["data"]["claim_id"]: e for e in truth if e["type"] == "truth.fault"}
    return config, summary, claims, faults


def _is_original(claim_id: str) -> bool:
    return claim_id[-2:] not in ("-D", "-R", "-V", "-X")


def test_each_fault_is_in_the_truth_log_and_each_faulty_claim_reached_the_payer(run):
    _, summary, claims, faults = run
    assert set(faults) <= set(claims)
    injected = {cid for cid in claims if not _is_original(cid)}
    late = {cid for cid, f in faults.items() if f["data"]["kind"] == "late"}
    assert set(faults) == injected | late
    assert len(faults) == sum(summary.faults_by_kind.values())


def test_faults_appear_at_their_configured_rates(run):
    """Each kind's share of original claims is within 5 binomial standard errors of its rate
    (late claims are only counted among services old enough to be received before the horizon)."""
    config, summary, claims, faults = run
    originals = [e for cid, e in claims.items() if _is_original(cid)]
    n = len(originals)
    kinds = Counter(f["data"]["kind"] for f in faults.values())
    for kind in ("duplicate", "replacement", "void", "malformed"):
        p = RATES[kind] / 10_000
        # Follow-ups of claims received at the very end fall past the horizon: allow 3 % less.
        assert abs(kinds[kind] / n - p) < 5 * math.sqrt(p * (1 - p) / n) + 0.03 * p, (kind, kinds[kind], n)
    assert kinds["late"] > 0
    horizon = dt.date.fromisoformat(summary.horizon)
    for cid, f in faults.items():
        if f["data"]["kind"] == "late":
            c = claims[cid]["data"]["claim"]
            service = dt.date.fromisoformat(c["lines"][0]["service_date"])
            assert (dt.date.fromisoformat(c["received"]) - service).days > 365
            assert dt.date.fromisoformat(c["received"]) < horizon


def _line_content(claim: dict) -> list[tuple]:
    return [(claim.get("member_id"), claim["rendering_npi"], line["service_date"],
             line["procedure"], tuple(line["modifiers"]), line["units"]) for line in claim["lines"]]


def test_duplicates_repeat_an_earlier_claims_lines_under_a_new_claim_id(run):
    _, _, claims, faults = run
    dups = [cid for cid, f in faults.items() if f["data"]["kind"] == "duplicate"]
    assert dups
    for cid in dups:
        dup, original = claims[cid]["data"]["claim"], claims[cid[:-2]]["data"]["claim"]
        assert dup["frequency"] == "1" and dup["original_claim_id"] is None
        assert _line_content(dup) == _line_content(original)
        assert dup["received"] > original["received"]
        SubmittedClaim.model_validate(dup)


def test_replacements_and_voids_name_their_original_and_arrive_after_it(run):
    _, _, claims, faults = run
    seen = Counter()
    for cid, f in faults.items():
        kind = f["data"]["kind"]
        if kind not in ("replacement", "void"):
            continue
        claim = claims[cid]["data"]["claim"]
        original = claims[claim["original_claim_id"]]["data"]["claim"]
        assert claim["claim_id"] != original["claim_id"]
        assert claim["received"] > original["received"]
        assert claim["subscriber_id"] == original["subscriber_id"]
        SubmittedClaim.model_validate(claim)
        if kind == "void":
            assert claim["frequency"] == "8"
            assert claim["lines"] == original["lines"]
        else:
            assert claim["frequency"] == "7"
            assert _line_content(claim) != _line_content(original) or claim["lines"] != original["lines"]
        seen[kind] += 1
    assert seen["replacement"] and seen["void"]


def test_malformed_claims_carry_each_kind_of_bad_business_content(run):
    _, _, claims, faults = run
    how = Counter()
    for cid, f in faults.items():
        if f["data"]["kind"] != "malformed":
            continue
        event = claims[cid]
        claim = event["data"]["claim"]
        detail = Malformation(f["data"]["detail"])
        how[detail] += 1
        line = claim["lines"][0]
        if detail is Malformation.UNKNOWN_CODE:
            assert line["procedure"] not in PROCEDURE_GROUPS
        elif detail is Malformation.NEGATIVE_BILLED:
            assert line["billed"] < 0
        elif detail is Malformation.ZERO_UNITS:
            assert line["units"] == 0
        elif detail is Malformation.DATE_AFTER_RECEIVED:
            assert line["service_date"] > claim["received"]
        elif detail is Malformation.MISSING_MEMBER:
            assert "member_id" not in claim and event["key"] == ""
        elif detail is Malformation.UNKNOWN_ORIGINAL:
            assert claim["frequency"] in ("7", "8") and claim["original_claim_id"] not in claims
        if detail in (Malformation.NEGATIVE_BILLED, Malformation.ZERO_UNITS,
                      Malformation.MISSING_MEMBER):
            with pytest.raises(ValidationError):
                SubmittedClaim.model_validate(claim)
    assert set(how) == set(Malformation), how
