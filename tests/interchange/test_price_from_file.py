"""`claimsim ingest --price-from-file`: the file's allowed, plan paid and cost-share split price
every line (tests/fixtures/ingest_data/tuva_priced_*.csv, and the CCLF fixture), with no fee
schedule or plan figures for the file's years; amounts that are missing or do not add up are
rejected by name; `run pcf --history` lays PCF's flat fee and payments over the file's amounts,
and replays."""

from __future__ import annotations

import csv
from pathlib import Path

import orjson
import pytest

from ..fixtures import cclf_files as fx
from ..fixtures.ingest import DATA, claim_answers, claimsim, events, lines_by_code, rejections

CLAIMS, ELIGIBILITY = DATA / "tuva_priced_claim.csv", DATA / "tuva_priced_eligibility.csv"
C = CLAIMS.name


@pytest.fixture(scope="module")
def priced_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("priced") / "run"
    assert claimsim("ingest", "--format", "tuva", CLAIMS, ELIGIBILITY, "--out", run,
                    "--price-from-file", "--no-progress") == 0
    assert claimsim("adjudicate", run, "--no-progress") == 0
    return run


def test_missing_and_inconsistent_amounts_are_rejected_naming_file_row_column_and_reason(priced_run):
    assert rejections(priced_run) == sorted([
        (C, 8, "allowed_amount", "missing_value"),
        (C, 9, "paid_amount", "missing_value"),
        (C, 10, "paid_amount", "inconsistent_amounts"),  # 70.00 + 20.00 coinsurance != 100.00
        (C, 11, "charge_amount", "inconsistent_amounts"),  # charge 80.00 below allowed 100.00
        (C, 12, "paid_amount", "inconsistent_amounts"),  # no split, paid 60.00 > allowed 50.00
        (C, 13, "deductible_amount", "negative_amount"),
        (C, 14, "coinsurance_amount", "bad_amount"),  # '1O.00'
    ])
    with open(priced_run / "rejections.csv", newline="") as f:
        row10 = next(r for r in csv.DictReader(f) if r["row"] == "10")
    assert row10["message"] == ("paid 70.00 + deductible 0.00 + coinsurance 20.00 + copay 0.00"
                                " = 90.00, not allowed 100.00")


def test_lines_are_paid_as_the_file_priced_them_in_any_year(priced_run):
    """Every figure is the file's (a re-priced 2024 99213 would be 9334 of deductible too, but
    2021 has no fee schedule or plan shipped, and 2023's 99213 would not be 8000)."""
    a = claim_answers(priced_run)
    assert set(a) == {"P1", "P2", "P3", "P4", "P5", "P6"}
    amounts = lambda x: (x["billed"], x["allowed"], x["plan_paid"], x["deductible"],  # noqa: E731
                         x["coinsurance"], x["copay"])
    p1 = lines_by_code(a["P1"])
    assert amounts(p1["99213"]) == (15_000, 9_334, 0, 9_334, 0, 0)
    assert amounts(p1["36415"]) == (1_000, 309, 247, 0, 62, 0)
    assert amounts(lines_by_code(a["P2"])["99214"]) == (20_000, 13_189, 10_189, 0, 0, 3_000)
    # 2021, no split given: cost share 7400 - 5920 = 1480 is coinsurance; CO-45 12000 - 7400
    p3 = lines_by_code(a["P3"])["99213"]
    assert amounts(p3) == (12_000, 7_400, 5_920, 0, 1_480, 0)
    assert [(x["group"], x["carc"], x["amount"]) for x in p3["adjustments"]] == [
        ("CO", "45", 4_600), ("PR", "2", 1_480)]
    assert amounts(lines_by_code(a["P4"])["G0439"]) == (18_000, 13_386, 13_386, 0, 0, 0)
    # three decimals, exactly: 10.285 -> 1029 and 2.285 -> 229 (a float reads 1028.4999...)
    assert amounts(lines_by_code(a["P5"])["36415"]) == (1_200, 1_029, 800, 0, 229, 0)
    assert amounts(lines_by_code(a["P6"])["99213"]) == (14_000, 8_000, 6_400, 0, 1_600, 0)


def test_the_run_records_the_setting_and_the_summary_says_so(priced_run):
    ref = orjson.loads((priced_run / "reference.json").read_bytes())
    assert ref["price_from_file"] is True
    s = orjson.loads((priced_run / "run.json").read_bytes())["ingest"]
    assert s["pricing"] == "taken from the file (allowed, plan paid, cost share)"
    assert (s["start"], s["claims"], s["claim_lines"]) == ("2021-06-01", 6, 7)
    line = next(e for e in events(priced_run / "input")
                if e["type"] == "claim.submitted")["data"]["claim"]["lines"][0]
    assert line["file_amounts"] == {"allowed": 7_400, "plan_paid": 5_920, "deductible": 0,
                                    "coinsurance": 1_480, "copay": 0}


def test_audit_replay_reproduces_a_file_priced_run(priced_run, capsys):
    assert claimsim("audit", "replay", priced_run) == 0
    assert "reproduces all" in capsys.readouterr().out


def test_cclf_priced_from_the_file_takes_allowed_and_covered_paid(tmp_path):
    """CCLF5 has no charge and no split: billed = allowed, allowed - paid is coinsurance.
    3001: 99245 allowed 252.70, covered paid 87.30: coinsurance 16540. 1003 (replacing 1001):
    99213 allowed 93.34, paid 0: coinsurance 9334."""
    cclf5, cclf8 = fx.write(tmp_path)
    run = tmp_path / "run"
    assert claimsim("ingest", "--format", "cclf", cclf5, cclf8, "--out", run,
                    "--price-from-file", "--no-progress") == 0
    assert claimsim("adjudicate", run, "--no-progress") == 0
    a = claim_answers(run)
    cardio = lines_by_code(a["3001"])["99245"]
    assert (cardio["billed"], cardio["allowed"], cardio["plan_paid"], cardio["coinsurance"]) == (
        25_270, 25_270, 8_730, 16_540)
    em = lines_by_code(a["1003"])["99213"]
    assert (em["allowed"], em["plan_paid"], em["coinsurance"]) == (9_334, 0, 9_334)
    assert [x["plan_paid"] for x in a["2002"]["reversed_lines"]] == [-17_546]


def test_run_pcf_on_a_file_priced_history_pays_the_flat_fee_over_the_files_amounts(
        priced_run, tmp_path, capsys):
    """PCF over the file's amounts (minimum 1). M1 is attributed to 111111111 from 2023-12-01
    (the 2023-09-12 visit). P1's 99213 on 2024-03-05 is a PCF visit: allowed = min(150.00, flat
    fee $40.82) = 4082, the file's 9334 kept as shadow allowed; the file's 9334 of deductible is
    capped at 4082, so plan paid 0. The lab line 36415 is not an E&M: paid as the file says."""
    out = tmp_path / "pcf"
    assert claimsim("run", "pcf", "--history", priced_run, "--out", out, "--minimum-attributed",
                    "1", "--no-progress") == 0
    assert "checks against the ledger: all reconcile" in capsys.readouterr().out
    p1 = lines_by_code(claim_answers(out)["P1"])
    em, lab = p1["99213"], p1["36415"]
    assert (em["program"], em["attributed"]) == ("pcf", True)
    assert (em["allowed"], em["shadow_allowed"], em["deductible"], em["plan_paid"]) == (
        4_082, 9_334, 4_082, 0)
    assert (lab["allowed"], lab["plan_paid"], lab["coinsurance"]) == (309, 247, 62)
    assert orjson.loads((out / "reference.json").read_bytes())["price_from_file"] is True
    assert claimsim("audit", "replay", out) == 0


def test_whatif_on_a_file_priced_history_moves_cost_share_by_the_flat_fee(priced_run, tmp_path):
    """PCF active (minimum 1) vs FFS (minimum 1000) over the same file-priced claims. FFS paid
    in the program period (2021-12 to 2024-07; P3 of 2021-06 is before it) is the file's either
    way: 6400 (P6) + 247 (P1 lab) + 10189 (P2) + 13386 (P4) + 800 (P5) = 31022, P1's 99213
    paying 0 both ways; members owe 9334 - 4082 = 5252 less of P1's deductible under PCF's flat
    fee, and only PCF pays prospectively."""
    out = tmp_path / "whatif"
    assert claimsim("whatif", "pcf", "--history", priced_run, "--vary",
                    "programs.pcf.minimum_attributed=1,1000", "--out", out, "--jobs", "1",
                    "--no-progress") == 0
    with open(out / "whatif.csv", newline="") as f:
        rows = {r["region.programs.pcf.minimum_attributed"]: r for r in csv.DictReader(f)
                if r["group"] == "all"}
    on, off = rows["1"], rows["1000"]
    assert float(on["ffs_paid_cents"]) == float(off["ffs_paid_cents"]) == 31_022
    assert float(off["member_cost_share_cents"]) - float(on["member_cost_share_cents"]) == 5_252
    assert float(on["prospective_cents"]) > 0 == float(off["prospective_cents"])
