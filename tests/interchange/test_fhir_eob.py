"""The FHIR ExplanationOfBenefit export: every resource is a valid R4(B) ExplanationOfBenefit
(fhir.resources' models), shaped as CARIN Blue Button professional, and its money is the ledger's."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import orjson
import pytest
from fhir.resources.R4B.explanationofbenefit import ExplanationOfBenefit

from claimsim.events.interchange.fhir_eob import FILE_NAME, PROFILE
from claimsim.events.log import read


def resources(out) -> list[dict]:
    with open(out / FILE_NAME, "rb") as f:
        return [orjson.loads(line) for line in f]


def cents(money: dict) -> int:
    return int(Decimal(str(money["value"])) * 100)


def amounts(adjudications: list[dict]) -> dict[str, int]:
    return {a["category"]["coding"][0]["code"]: cents(a["amount"]) for a in adjudications
            if "reason" not in a}


def _validate_every_resource(run_dir, exported) -> None:
    eobs = resources(exported(run_dir, "eob"))
    assert len(eobs) > 1000
    for eob in eobs:
        ExplanationOfBenefit.model_validate(eob)  # raises on the first invalid resource
    assert {e["meta"]["profile"][0] for e in eobs} == {PROFILE}
    assert len({e["id"] for e in eobs}) == len(eobs)


def test_every_eob_resource_of_the_demo_run_validates_as_r4b(demo_run, exported):
    _validate_every_resource(demo_run, exported)


@pytest.mark.slow
def test_every_eob_resource_of_the_multipayer_run_validates_as_r4b(multipayer_run, exported):
    _validate_every_resource(multipayer_run, exported)


def test_eob_money_is_the_ledgers_and_items_balance(any_run, exported):
    eobs = resources(exported(any_run, "eob"))
    ledger = {}
    for env in read(any_run / "ledger"):
        if env["type"] == "claim.adjudicated":
            ledger[env["data"]["claim_id"]] = env["data"]
    status = Counter(e["status"] for e in eobs)
    assert status["cancelled"] > 0 and status["active"] == len(ledger)
    for eob in eobs:
        total = amounts(eob["total"])
        items = [amounts(i["adjudication"]) for i in eob["item"]]
        for key in ("submitted", "eligible", "benefit", "deductible", "coinsurance", "copay"):
            assert total[key] == sum(i[key] for i in items), (eob["id"], key)
        for item, adj in zip(eob["item"], items):
            reasons = sum(cents(a["amount"]) for a in item["adjudication"]
                          if a["category"]["coding"][0]["code"] == "adjustmentreason")
            assert adj["benefit"] == adj["submitted"] - reasons  # CARCs explain every unpaid cent
        if eob["status"] == "active":
            d = ledger[eob["identifier"][0]["value"]]
            assert total["benefit"] == sum(ln["plan_paid"] for ln in d["lines"])
            assert total["memberliability"] == sum(
                ln["cost_share"] - ln["medicaid_cost_share"] for ln in d["lines"])
        else:
            assert total["benefit"] <= 0 and total["submitted"] < 0  # a reversal is negated


def test_qmb_member_owes_nothing_while_deductible_and_coinsurance_show(demo_run, multipayer_run,
                                                                      exported):
    qmb = []
    for run in (demo_run, multipayer_run):
        for env in read(run / "ledger"):
            if env["type"] == "claim.adjudicated":
                for ln in env["data"]["lines"]:
                    if ln["medicaid_cost_share"] and ln["medicaid_cost_share"] == ln["cost_share"]:
                        qmb.append((run, env["data"]["claim_id"], ln["line_no"], ln["cost_share"]))
    assert qmb, "the fixture runs have QMB lines with cost share"
    run, claim_id, line_no, cost_share = qmb[0]
    eob = next(e for e in resources(exported(run, "eob")) if e["id"] == claim_id)
    item = amounts(next(i for i in eob["item"] if i["sequence"] == line_no)["adjudication"])
    assert item["memberliability"] == 0
    assert item["deductible"] + item["coinsurance"] + item["copay"] == cost_share


def test_carin_required_elements_last_updated_payment_status_and_diagnosis_type(
        demo_run, exported):
    """CARIN's 1..1 elements: meta.lastUpdated (the ledger entry's date, never the wall clock),
    each item's one benefitpaymentstatus (in network), and each diagnosis's one type: the first
    principal, the rest secondary."""
    at = {}
    for env in read(demo_run / "ledger"):
        if env["type"] == "claim.adjudicated":
            at[env["data"]["claim_id"]] = env["at"]
    eobs = resources(exported(demo_run, "eob"))
    active = [e for e in eobs if e["status"] == "active"]
    for eob in active:
        assert eob["meta"]["lastUpdated"] == at[eob["id"]] + "T00:00:00+00:00"
    for eob in eobs:
        for item in eob["item"]:
            status = [a for a in item["adjudication"]
                      if a["category"]["coding"][0]["code"] == "benefitpaymentstatus"]
            assert [a["reason"]["coding"][0]["code"] for a in status] == ["innetwork"]
        types = [[c["coding"][0]["code"] for c in dx["type"]] for dx in eob.get("diagnosis", ())]
        assert types == [["principal"]] + [["secondary"]] * (len(types) - 1)
    assert any(len(e.get("diagnosis", ())) > 1 for e in eobs)  # a secondary is exercised
