"""`audit explain claim` recomputes each line from reference.json and the ledger (fee x units ->
allowed, cost-share steps with accumulators, hybrid rate -> offset) and prints `!!` wherever its
recomputation disagrees with the ledger. On a real run it must never disagree, and it must name
the figures the ledger holds. `audit explain member` lays out the evidence for an attribution."""

from __future__ import annotations

import pytest

from claimsim.adjudication.audit.explain import explain_claim, explain_member
from claimsim.cli import main
from claimsim.events.log import read
from claimsim.events.money import dollars


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("explain") / "mp"
    assert main(["run", "multipayer", "--members", "900", "--months", "9", "--minimum-attributed", "3", "--no-progress",
                 "--out", str(out)]) == 0
    return out


def _claims_by_kind(run) -> dict[str, tuple[str, dict]]:
    """One claim of each kind worth explaining: (claim id, a line of that kind)."""
    kinds: dict[str, tuple[str, dict]] = {}
    for env in read(run / "ledger"):
        if env["type"] != "claim.adjudicated":
            continue
        d = env["data"]
        for ln in d["lines"]:
            carcs = {a["carc"] for a in ln["adjustments"]}
            for kind, hit in (("offset", ln["cap_offset"] > 0), ("duplicate", "18" in carcs),
                              ("qmb", ln["medicaid_cost_share"] > 0), ("copay", ln["copay"] > 0),
                              ("coinsurance", ln["coinsurance"] > 0 and ln["deductible"] > 0),
                              ("shadow", ln["status"] == "shadow")):
                if hit and kind not in kinds:
                    kinds[kind] = (d["original_claim_id"] or d["claim_id"], ln)
        if d["reversed_lines"] and "replacement" not in kinds:
            kinds["replacement"] = (d["original_claim_id"], d["reversed_lines"][0])
    return kinds


def test_every_kind_of_line_is_recomputed_without_a_mismatch(run):
    kinds = _claims_by_kind(run)
    assert {"offset", "duplicate", "qmb", "copay", "coinsurance", "replacement"} <= set(kinds)
    for kind, (claim_id, line) in kinds.items():
        text = "\n".join(explain_claim(run, claim_id))
        assert "!!" not in text, (kind, text)
        assert f"plan paid = " in text and dollars(line["allowed"]) in text, (kind, text)
        if kind == "offset":
            assert f"capitation offset (CO-24): basis" in text and dollars(line["cap_offset"]) in text
        if kind == "duplicate":
            assert "OA-18 duplicate of claim" in text and "still in force" in text
        if kind == "qmb":
            assert f"QMB crossover: Medicaid owes {dollars(line['medicaid_cost_share'])}" in text
        if kind == "replacement":
            assert "REVERSAL: every amount negated" in text and f"billed {dollars(line['billed'])}" in text
        if kind == "coinsurance":
            assert f"deductible (PR-1): {dollars(line['deductible'])}" in text
            assert f"= {dollars(line['coinsurance'])}" in text


def test_explain_member_lays_out_the_evidence_and_agrees_with_the_ledger(run):
    """For attributed members at the last boundary, the rules as explained give the practice the
    ledger holds, and the lines name the window, the pre-steps and the visits."""
    attributed = [env["data"] for env in read(run / "ledger") if env["type"] == "attribution.assigned"
                  and env["data"]["practice_id"] and env["data"]["basis"] == "plurality"]
    assert attributed
    member = attributed[-1]
    text = explain_member(run, member["member_id"], member["effective"])
    assert f"attributed to {member['practice_id']} in the ledger" in text[0]
    assert any("1. voluntary alignment" in t for t in text)
    assert any("2. program pre-steps" in t for t in text)
    assert any(t.strip().startswith(f"{member['practice_id']}: ") for t in text)
    assert any("decided by:" in t for t in text)


def test_payment_formulas_show_the_rates_and_multiply_out_to_the_ledger_amount(run):
    """Every per-member-flat payment (CPCP, PPCP, PBP, PBIP) is its PBPM x member months, and the
    formula printed names the rates it came from; risk-weighted ones (CMF, ESP) name their table."""
    from claimsim.adjudication.audit.explain import payment_formula

    seen = set()
    for env in read(run / "ledger"):
        if env["type"] != "payment.prospective" or env["data"].get("adjusts_month"):
            continue
        d = env["data"]
        text = payment_formula(d)
        seen.add(d["kind"])
        basis = d["detail"]["basis"]
        if d["kind"] in ("cpcp", "ppcp", "pbp", "pbip"):
            assert d["amount"] == basis["pbpm"] * d["member_months"]
            assert f"= {dollars(basis['pbpm'])}; x {d['member_months']} member month(s) = {dollars(d['amount'])}" in text
        if d["kind"] in ("cpcp", "ppcp"):
            assert f"x h {basis['hybrid_bp'] / 100:g} %" in text
        if d["kind"] == "pbp":
            assert f"leakage {basis['leakage_bp'] / 100:g} %" in text
    assert {"ppcp", "esp"} <= seen


def test_the_flat_fee_performance_formula_names_each_rate_on_its_flat_fees():
    """PCF's performance adjustment on flat fees (the worked example of
    tests/projections/test_flat_fee_performance.py): 10 % of $97.98 of flat fees paid between
    the 2025-01-01 and 2025-04-01 boundaries, $9.80 after one rounding per member."""
    from claimsim.adjudication.audit.explain import payment_formula

    basis = {"after_boundary": "2025-01-01", "boundary": "2025-04-01", "first_seq": 26,
             "last_seq": 30, "months": {"2025-01": {}, "2025-02": {}, "2025-03": {}},
             "rates": [{"year": "2025", "performance_bp": 1000, "plan_paid": 9798, "amount": 980}]}
    text = payment_formula({"kind": "pba_flat_fee", "amount": 980, "member_months": 0,
                            "detail": {"members": {"M1": 327, "M2": 653}, "basis": basis}})
    assert text == ("performance adjustment on flat visit fees paid after 2025-01-01 up to"
                    " 2025-04-01 (ledger seq 26-30; service months 2025-01, 2025-02, 2025-03):"
                    " 10 % x $97.98 flat fees (2025) = $9.80; rounded per member = $9.80")
