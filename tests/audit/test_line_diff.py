"""Final-action line results of two runs compared (`claimsim audit diff --lines`), on two tiny
hand-made ledgers: run A as adjudicated (with a replacement), run B as a round trip would pay A's
final action. The comparison must pass when every line agrees, fail on one changed amount, and
count a family's claims after a since-reversed version as reversal history (expected)."""

from __future__ import annotations

import copy
import csv
from pathlib import Path

from claimsim.cli import main
from claimsim.events.log import LogWriter

from claimsim.adjudication.audit.line_diff import compare_lines, final_action


def line(no: int, allowed: int, paid: int, deductible: int = 0, **extra) -> dict:
    """A ledger line result: allowed = plan paid + deductible (DOMAIN.md §3 step 7)."""
    return {"line_no": no, "procedure": "99213", "service_date": "2025-02-03", "units": 1,
            "billed": allowed, "allowed": allowed, "plan_paid": paid, "deductible": deductible,
            "coinsurance": 0, "copay": 0, "cost_share": deductible, "medicaid_cost_share": 0,
            "cap_offset": 0, "sequestration": 0, "shadow_allowed": 0, "program": "ffs",
            "attributed": False, "capitated": False, "status": "paid", "remarks": [],
            "adjustments": [{"group": "PR", "carc": "1", "amount": deductible}] if deductible else [],
            "member_id": "S1-01", **extra}


def claim(claim_id: str, lines: list[dict], payer: str = "MEDICARE-ADV", family: str = "S1",
          reversed_id: str | None = None) -> dict:
    return {"claim_id": claim_id, "frequency": "7" if reversed_id else "1", "member_id": "S1-01",
            "subscriber_id": family, "payer_id": payer, "practice_id": "PC001",
            "rendering_npi": "1000000001", "received": "2025-02-05", "paid": "2025-02-19",
            "original_claim_id": reversed_id, "reversed_claim_id": reversed_id,
            "reversed_lines": [], "lines": lines}


def write_run(run: Path, claims: list[dict]) -> Path:
    (run / "ledger").mkdir(parents=True)
    (run / "input").mkdir()
    with LogWriter(run / "ledger") as w:
        for cause, data in enumerate(claims):
            w.append({"type": "claim.adjudicated", "v": 1, "at": "2025-02-19",
                      "key": data["subscriber_id"], "cause": cause, "data": data})
        w.append({"type": "claim.rejected", "v": 1, "at": "2025-02-19", "key": "S9",
                  "cause": len(claims), "data": {"claim_id": "BAD", "reason": "missing_field"}})
    with LogWriter(run / "input") as w:
        w.append({"type": "member.enrolled", "v": 1, "at": "2025-01-01", "key": "S1", "cause": None,
                  "data": {"member_id": "S1-01"}})
    return run


# Run A: family S1's claim C1 is paid, then replaced (C1-R: the deductible moves), then C2
# comes after the replaced version: C2 has reversal history. Family S2's claim D1 has none.
A_CLAIMS = [
    claim("C1", [line(1, 9070, 0, 9070)]),
    claim("D1", [line(1, 5000, 4000, 1000), line(2, 300, 300)], family="S2"),
    claim("C1-R", [line(1, 9070, 9070)], reversed_id="C1"),
    claim("C2", [line(1, 4082, 4082)]),
]
# Run B pays A's final action (C1-R, D1, C2) under the payer's name, as the Tuva export writes
# it; C1 never existed there, so C2 takes the deductible C1 took in A.
B_CLAIMS = [
    claim("D1", [line(1, 5000, 4000, 1000), line(2, 300, 300)], family="S2",
          payer="Medicare Advantage plan"),
    claim("C1-R", [line(1, 9070, 9070)], payer="Medicare Advantage plan"),
    claim("C2", [line(1, 4082, 0, 4082)], payer="Medicare Advantage plan"),
]


def runs(tmp_path: Path) -> tuple[Path, Path]:
    a = write_run(tmp_path / "a", A_CLAIMS)
    (a / "reference.json").write_text(
        '{"payers": [{"payer_id": "MEDICARE-ADV", "name": "Medicare Advantage plan"}]}')
    return a, write_run(tmp_path / "b", copy.deepcopy(B_CLAIMS))


def test_final_action_leaves_out_reversed_versions_and_marks_reversal_history(tmp_path):
    fa = final_action(write_run(tmp_path / "a", A_CLAIMS))
    assert sorted(fa.claims) == ["C1-R", "C2", "D1"]
    assert (fa.reversed_versions, fa.rejected_inputs) == (1, 1)
    # C1 (S1) was reversed: S1's claims adjudicated after it carry its history; D1 (S2) does not
    assert fa.reversal_history == {"C1-R", "C2"}


def test_round_trip_that_pays_the_same_passes_with_reversal_history_counted_apart(tmp_path):
    a, b = runs(tmp_path)
    diff = compare_lines(a, b, payer_names={"MEDICARE-ADV": "Medicare Advantage plan"})
    assert diff.same
    assert (diff.claims_compared, diff.lines_compared, diff.lines_differing) == (3, 4, 0)
    # C2's deductible (0 in A, 4082 in B) and plan paid differ: expected, reversal history
    assert (diff.history_claims, diff.history_lines_differing) == (2, 1)
    assert sorted(d[2] for d in diff.differences) == [
        "adjustments", "cost_share", "deductible", "plan_paid"]
    assert {d[5] for d in diff.differences} == {"reversal history"}


def test_one_changed_amount_fails_the_comparison_and_names_the_field(tmp_path):
    a, b = runs(tmp_path)

    def perturb(fb):  # one cent more plan paid on D1 line 2 (no reversal history)
        fb.claims["D1"]["lines"][1]["plan_paid"] += 1

    diff = compare_lines(a, b, payer_names={"MEDICARE-ADV": "Medicare Advantage plan"},
                         perturb=perturb)
    assert not diff.same
    assert (diff.lines_differing, dict(diff.by_field)) == (1, {"plan_paid": 1})
    assert ("D1", 2, "plan_paid", 300, 301, "") in diff.differences


def test_a_missing_claim_or_another_payer_fails(tmp_path):
    a, b = runs(tmp_path)
    diff = compare_lines(a, b, payer_names={})  # without the name map the payers differ
    assert not diff.same and diff.by_field["payer_id"] == 2  # D1's two lines
    shorter = write_run(tmp_path / "c", copy.deepcopy(B_CLAIMS[1:]))
    diff = compare_lines(a, shorter, payer_names={"MEDICARE-ADV": "Medicare Advantage plan"})
    assert not diff.same and diff.only_a == ["D1"]


def test_audit_diff_lines_prints_the_table_writes_the_csv_and_exits_by_the_result(tmp_path, capsys):
    a, b = runs(tmp_path)
    out = tmp_path / "differences.csv"
    assert main(["audit", "diff", str(a), str(b), "--lines", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "expected: claims with reversal history  2 (their lines that differ: 1)" in text
    assert text.rstrip().endswith("same line results")
    with open(out, newline="") as f:
        assert len(list(csv.DictReader(f))) == 4
    assert main(["audit", "diff", str(a), str(a), "--lines"]) == 0
    assert main(["audit", "diff", str(b), str(a), "--lines"]) == 1  # B's payers are not A's
