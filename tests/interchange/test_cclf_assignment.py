"""`claimsim ingest --format cclf CCLF5 [CCLF8] --assignment FILE`: Medicare FFS coverage from a
beneficiary assignment list instead of CCLF8's coverage range, each bad row rejected by name;
the CCLF fixture's claims then pay exactly as with CCLF8 coverage."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from ..fixtures import cclf_files as fx
from ..fixtures.ingest import (attribution, claim_answers, claimsim, events, lines_by_code,
                               rejections)

LIST = """BENE_MBI_ID,TIN,NPI,ALGN_EFCTV_DT,ALGN_END_DT,BENE_BRTH_DT,BENE_SEX_CD
B1,123456789,1111111111,2024-01-01,2024-12-31,1950-03-01,2
B1,987654321,2222222222,2024-01-01,2024-12-31,1950-03-01,2
B2,123456789,1111111112,20240101,,1948-06-15,1
B3,12345,,2024-01-01,,1950-01-01,1
B4,,,2024-13-01,,1950-01-01,1
B5,,,2024-06-01,2024-01-31,1950-01-01,1
,,,2024-01-01,,1950-01-01,1
B6,,,2024-01-01,,,1
B7,,,2024-01-01,,1950-01-01,7
"""


@pytest.fixture(scope="module")
def assigned_run(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("assignment")
    cclf5, _ = fx.write(tmp)
    (tmp / "assignment.csv").write_text(LIST)
    run = tmp / "run"
    assert claimsim("ingest", "--format", "cclf", cclf5, "--assignment", tmp / "assignment.csv",
                    "--out", run, "--no-progress") == 0
    assert claimsim("adjudicate", run, "--no-progress") == 0
    return run


def test_bad_assignment_rows_are_rejected_naming_file_row_column_and_reason(assigned_run):
    rows = [r for r in rejections(assigned_run) if r[0] == "assignment.csv"]
    assert rows == [
        ("assignment.csv", 4, "TIN", "bad_code"),  # 5 digits
        ("assignment.csv", 5, "ALGN_EFCTV_DT", "bad_date"),  # 2024-13-01
        ("assignment.csv", 6, "ALGN_END_DT", "dates_reversed"),
        ("assignment.csv", 7, "BENE_MBI_ID", "missing_value"),
        ("assignment.csv", 8, "BENE_BRTH_DT", "missing_value"),  # and no CCLF8 to give it
        ("assignment.csv", 9, "BENE_SEX_CD", "bad_code"),  # 7
    ]


def test_each_beneficiary_span_is_one_enrollment_whatever_its_tins(assigned_run):
    spans = [e["data"] for e in events(assigned_run / "input") if e["type"] == "member.enrolled"]
    assert [(s["member_id"], s["start"], s["end"], s["sex"], s["birth_date"], s["plan_id"])
            for s in spans] == [
        ("B1", "2024-01-01", "2024-12-31", "F", "1950-03-01", "medicare:part-b"),
        ("B2", "2024-01-01", None, "M", "1948-06-15", "medicare:part-b")]  # YYYYMMDD, open end
    s = orjson.loads((assigned_run / "run.json").read_bytes())["ingest"]
    assert s["assignment"] == ("2 beneficiaries assigned to 2 TINs / 3 NPIs"
                               " (coverage only: attribution is computed from the claims)")
    assert s["files"] == {"assignment.csv": 9, "CCLF5.txt": 15}


def test_claims_pay_and_attribute_as_with_cclf8_coverage(assigned_run):
    """The same figures as test_ingest_cclf's worked example: 3001's 99245 allowed 25270,
    deductible 14357 (24000 - 9643 used by the 1003 replacement), coinsurance 2183, paid 8730."""
    a = claim_answers(assigned_run)
    cardio = lines_by_code(a["3001"])["99245"]
    assert (cardio["allowed"], cardio["deductible"], cardio["coinsurance"], cardio["plan_paid"]) \
        == (25_270, 14_357, 2_183, 8_730)
    assert a["2002"]["type"] == "claim.reversed"
    assert attribution(assigned_run, "2024-06-01") == {("medicare", "B1"): fx.FAMILY_TIN}


def test_cclf8_beside_the_list_fills_demographics_but_not_coverage(tmp_path):
    cclf5, cclf8 = fx.write(tmp_path)
    (tmp_path / "a.csv").write_text("MBI,COVERAGE_START,COVERAGE_END\nB1,2024-02-01,\nB2,2024-03-01,\n")
    run = tmp_path / "run"
    assert claimsim("ingest", "--format", "cclf", cclf5, cclf8, "--assignment", tmp_path / "a.csv",
                    "--out", run, "--no-progress") == 0
    spans = [e["data"] for e in events(run / "input") if e["type"] == "member.enrolled"]
    assert [(s["member_id"], s["start"], s["end"], s["sex"], s["birth_date"]) for s in spans] == [
        ("B1", "2024-02-01", None, "F", "1950-03-01"), ("B2", "2024-03-01", None, "M", "1948-06-15")]
    # CCLF8's own bad records are still rejected by name
    assert ("CCLF8.txt", 3, "BENE_SEX_CD", "bad_code") in rejections(run)


@pytest.mark.parametrize("args, message", [
    (("--format", "tuva", "C", "E", "--assignment", "A"), "--assignment is a CCLF enrollment source"),
    (("--format", "cclf", "C"), "ENROLLMENT is missing: give the CCLF8 file, or --assignment FILE"),
])
def test_assignment_only_with_cclf_and_cclf_needs_an_enrollment_source(tmp_path, capsys, args, message):
    assert claimsim("ingest", *args, "--out", tmp_path / "run") == 2
    assert message in capsys.readouterr().err


def test_a_csv_without_the_columns_is_not_an_assignment_list(tmp_path, capsys):
    cclf5, _ = fx.write(tmp_path)
    (tmp_path / "a.csv").write_text("BENE_MBI_ID,TIN\nB1,123456789\n")
    assert claimsim("ingest", "--format", "cclf", cclf5, "--assignment", tmp_path / "a.csv",
                    "--out", tmp_path / "run") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "not a beneficiary assignment list (missing columns: ALGN_EFCTV_DT" in err
