"""`claimsim ingest --format tuva`: the hand-made Tuva Input Layer fixture (tests/fixtures/ingest_data)
ingested, adjudicated, attributed and paid, with every figure worked by hand from DOMAIN.md, and
every kind of bad row rejected by name (file, row, column, reason)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import orjson
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from ..fixtures.ingest import (TUVA_CLAIMS, TUVA_ELIGIBILITY, attribution, claim_answers,
                               claimsim, events, lines_by_code, rejections)

C, E = TUVA_CLAIMS.name, TUVA_ELIGIBILITY.name


@pytest.fixture(scope="module")
def paid_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("tuva") / "run"
    assert claimsim("ingest", "--format", "tuva", TUVA_CLAIMS, TUVA_ELIGIBILITY, "--out", run,
                    "--no-progress") == 0
    assert claimsim("adjudicate", run, "--no-progress") == 0
    return run


def test_every_bad_row_is_rejected_naming_file_row_column_and_reason(paid_run):
    assert rejections(paid_run) == sorted([
        (E, 4, "gender", "bad_code"),  # gender 'x'
        (E, 5, "enrollment_end_date", "dates_reversed"),
        (E, 6, "birth_date", "missing_value"),
        (C, 6, "member_id", "unknown_member"),  # M9 has no eligibility
        (C, 7, "claim_type", "not_professional"),
        (C, 8, "hcpcs_code", "bad_code"),  # 'ABC'
        (C, 9, "service_unit_quantity", "bad_units"),  # 1.5
        (C, 10, "charge_amount", "negative_amount"),
        (C, 11, "claim_line_start_date", "bad_date"),  # 2024-13-01
        (C, 12, "claim_line_start_date", "unsupported_year"),  # 2022: no figures shipped
        (C, 13, "hcpcs_code", "unpriced_code"),  # 90471 is not on the fee schedule
        (C, 14, "claim_line_number", "duplicate_line"),  # C1 line 1 again
        (C, 15, "billing_tin", "claim_conflict"),  # C2 line 2 under another TIN
        (C, 16, "place_of_service_code", "bad_code"),  # 41, ambulance: not a place of service we price
        (C, 17, "claim_id", "missing_value"),
        (C, 18, "claim_end_date", "dates_reversed"),
        (C, 19, "charge_amount", "bad_amount"),  # '1x0.00'
    ])


def test_summary_counts_rows_claims_and_says_where_received_dates_and_roles_came_from(paid_run):
    s = orjson.loads((paid_run / "run.json").read_bytes())["ingest"]
    assert s["files"] == {E: 6, C: 19}
    # 6 eligibility rows - 3 rejected = 3 spans; 19 claim rows - 14 rejected = 5 lines in 4 claims
    assert (s["members"], s["enrollments"], s["claims"], s["claim_lines"]) == (3, 3, 4, 5)
    assert sum(s["rejections"].values()) == 17
    assert s["received_from"] == {"paid_date": 4}  # no received_date column: paid_date
    assert "3 from the primary-care default" in s["roles"]
    assert (s["start"], s["service_end"]) == ("2024-03-01", "2024-07-01")
    assert "members_with_payers" not in s  # nobody has two payers: run.json as before


def test_a_member_with_two_payers_is_counted_and_named_in_the_summary(tmp_path, capsys):
    """M2 (acme all 2024) enrolled with medicare in 2025: one member of three with two
    payers, counted in run.json and printed; the fixture's own run has none (and no such key)."""
    eligibility = tmp_path / E
    eligibility.write_text(TUVA_ELIGIBILITY.read_text() + "P2,M2,S2,male,white,1980-05-05,,0,"
                           "2025-01-01,2025-12-31,medicare,medicare,part b,,,,self,fixture\n")
    run = tmp_path / "run"
    assert claimsim("ingest", "--format", "tuva", TUVA_CLAIMS, eligibility, "--out", run,
                    "--no-progress") == 0
    s = orjson.loads((run / "run.json").read_bytes())["ingest"]
    assert (s["members"], s["enrollments"], s["members_with_payers"]) == (3, 4, 1)
    row = next(r for r in capsys.readouterr().out.splitlines() if r.startswith("members with"))
    assert row.split()[:8] == ["members", "with", "two", "payers", "or", "more", "1:", "each"]


def test_reference_has_payers_and_plans_from_the_file_and_practices_from_billing_tins(paid_run):
    ref = orjson.loads((paid_run / "reference.json").read_bytes())
    assert {(p["payer_id"], p["lob"]) for p in ref["payers"]} == {
        ("acme", "commercial"), ("medicare", "medicare_ffs")}
    plans = {p["plan_id"]: p for p in ref["plans"]}
    assert set(plans) == {"acme:Acme Silver PPO", "medicare:part b"}
    # Part B 2024: the $240 deductible; "Silver" in the plan name takes the silver design
    assert plans["medicare:part b"]["benefits"]["2024"]["deductible_individual"] == 24_000
    assert plans["acme:Acme Silver PPO"]["benefits"]["2024"]["copays"]["pcp"] == 3_000
    practices = {p["practice_id"]: [c["npi"] for c in p["clinicians"]] for p in ref["practices"]}
    # 333333333 appears only on a rejected (conflicting) row: no practice for it
    assert practices == {"111111111": ["1000000001", "1000000002"], "222222222": ["2000000001"]}


def test_ingested_claims_are_repriced_and_paid_as_worked_by_hand(paid_run):
    """2024 amounts are 2025's x 1.0291 (conversion factor 33.2875 / 32.3465), half up."""
    answers = claim_answers(paid_run)
    assert set(answers) == {"C1", "C2", "C3", "C4"}
    c1 = lines_by_code(answers["C1"])
    # 99213: 9070 x 1.0291 = 9333.9 -> 9334; 36415: 300 x 1.0291 = 308.7 -> 309. Part B 2024
    # deductible $240 untouched before: both go entirely to the deductible, plan pays 0.
    assert [(c1[k]["allowed"], c1[k]["deductible"], c1[k]["plan_paid"]) for k in ("99213", "36415")] \
        == [(9334, 9334, 0), (309, 309, 0)]
    # C2, commercial silver (2025 design carried back to 2024): 99214 12816 x 1.0291 = 13188.9
    # -> 13189; a PCP visit's $30 copay on its E&M line; plan pays 13189 - 3000 = 10189.
    c2 = lines_by_code(answers["C2"])["99214"]
    assert (c2["allowed"], c2["copay"], c2["deductible"], c2["plan_paid"]) == (13189, 3000, 0, 10189)
    # C3, AWV G0439 under Part B: 13007 x 1.0291 = 13385.5 -> 13386, $0 to the member.
    c3 = lines_by_code(answers["C3"])["G0439"]
    assert (c3["allowed"], c3["cost_share"], c3["plan_paid"]) == (13386, 0, 13386)
    # C4, a child's preventive visit 99392: 11134 x 1.0291 = 11458.0; ACA preventive at $0.
    c4 = lines_by_code(answers["C4"])["99392"]
    assert (c4["allowed"], c4["cost_share"], c4["plan_paid"]) == (11458, 0, 11458)
    # received = paid_date; paid = received + 14 processing days
    assert (answers["C1"]["received"], answers["C1"]["paid"]) == ("2024-03-20", "2024-04-03")


def test_ingested_members_are_attributed_by_plurality_of_primary_care_visits(paid_run):
    # M1: 99213 and the AWV at 111111111; M2: 99214 there; M3's only visit is a preventive
    # 99392, which does not qualify (DOMAIN.md §6), so M3 is not attributed.
    assert attribution(paid_run, "2024-08-01") == {
        ("medicare", "M1"): "111111111", ("acme", "M2"): "111111111"}


def test_input_log_is_in_received_date_order_with_enrollments_first(paid_run):
    log = events(paid_run / "input")
    assert [e["type"] for e in log[:3]] == ["member.enrolled"] * 3
    ats = [e["at"] for e in log]
    assert ats == sorted(ats)
    claim = next(e for e in log if e["type"] == "claim.submitted")["data"]["claim"]
    assert claim["lines"][0]["diagnoses"] == ["E11.9", "I10"]  # kept, in ICD-10-CM's dotted form
    assert claim["subscriber_id"] == "M1"


def test_parquet_tables_ingest_to_the_same_bytes_as_csv(tmp_path, paid_run):
    for src in (TUVA_CLAIMS, TUVA_ELIGIBILITY):
        table = pacsv.read_csv(src, convert_options=pacsv.ConvertOptions(
            column_types={n: "string" for n in src.read_text().splitlines()[0].split(",")}))
        pq.write_table(table, tmp_path / (src.stem + ".parquet"))
    run = tmp_path / "run"
    assert claimsim("ingest", "--format", "tuva", tmp_path / "tuva_medical_claim.parquet",
                    tmp_path / "tuva_eligibility.parquet", "--out", run, "--no-progress") == 0
    same = lambda p: b"".join(x.read_bytes() for x in sorted(p.glob("*.jsonl")))  # noqa: E731
    assert same(run / "input") == same(paid_run / "input")
    assert (run / "reference.json").read_bytes() == (paid_run / "reference.json").read_bytes()


def test_roster_gives_clinician_roles_and_a_practice_of_specialists_is_not_primary_care(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("npi,role\n2000000001,specialist\n1000000001,primary_care\n")
    run = tmp_path / "run"
    assert claimsim("ingest", "--format", "tuva", TUVA_CLAIMS, TUVA_ELIGIBILITY, "--out", run,
                    "--roster", roster, "--no-progress") == 0
    ref = orjson.loads((run / "reference.json").read_bytes())
    kinds = {p["practice_id"]: p["kind"] for p in ref["practices"]}
    assert kinds == {"111111111": "primary_care", "222222222": "specialist"}
    roles = orjson.loads((run / "run.json").read_bytes())["ingest"]["roles"]
    assert roles == "clinician roles: 2 from the roster; 1 from the primary-care default"


def test_received_date_column_is_preferred_to_paid_date(tmp_path):
    lines = TUVA_CLAIMS.read_text().splitlines()
    claims = tmp_path / "claims.csv"
    claims.write_text("\n".join([lines[0] + ",received_date"]
                                + [x + ",2024-03-12" for x in lines[1:3]]) + "\n")
    run = tmp_path / "run"
    assert claimsim("ingest", "--format", "tuva", claims, TUVA_ELIGIBILITY, "--out", run,
                    "--no-progress") == 0
    s = orjson.loads((run / "run.json").read_bytes())["ingest"]
    assert s["received_from"] == {"received_date": 1}
    claim = next(e for e in events(run / "input") if e["type"] == "claim.submitted")
    assert claim["at"] == claim["data"]["claim"]["received"] == "2024-03-12"


def test_a_file_that_is_not_a_tuva_table_says_so_in_one_line(tmp_path, capsys):
    assert claimsim("ingest", "--format", "tuva", TUVA_ELIGIBILITY, TUVA_ELIGIBILITY,
                    "--out", tmp_path / "run") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "not a Tuva medical_claim table (missing columns: claim_id, claim_line_number" in err


def test_ingest_twice_writes_identical_bytes(tmp_path, paid_run):
    run = tmp_path / "again"
    shutil.rmtree(run, ignore_errors=True)
    assert claimsim("ingest", "--format", "tuva", TUVA_CLAIMS, TUVA_ELIGIBILITY, "--out", run,
                    "--no-progress") == 0
    for name in ("reference.json", "run.json", "rejections.csv"):
        assert (run / name).read_bytes() == (paid_run / name).read_bytes(), name


NUMERIC_COLUMNS = ("claim_line_number", "service_unit_quantity", "charge_amount", "allowed_amount",
                   "paid_amount", "deductible_amount", "coinsurance_amount", "copayment_amount")


def test_a_number_too_large_for_any_claim_line_is_a_named_rejection_not_a_crash(tmp_path):
    """Twenty digits (beyond 64-bit integers) in each numeric column of the first data row: the
    row is rejected naming that column; every other row still ingests."""
    rows = list(csv.reader(TUVA_CLAIMS.open(newline="")))
    for column in NUMERIC_COLUMNS:
        edited = [list(r) for r in rows]
        edited[1][rows[0].index(column)] = "99999999999999999999"
        folder = tmp_path / column
        folder.mkdir()
        with (folder / "medical_claim.csv").open("w", newline="") as f:
            csv.writer(f).writerows(edited)
        assert claimsim("ingest", "--format", "tuva", folder / "medical_claim.csv", TUVA_ELIGIBILITY,
                        "--out", folder / "run", "--no-progress") == 0
        assert ("medical_claim.csv", 1, column) in {r[:3] for r in rejections(folder / "run")}, column


@pytest.mark.parametrize(("cells", "column", "price_from_file"), [
    # The last date there is: the run's calendar (a day past the last received date) cannot
    # follow it. Found by the ingest fuzz test: an OverflowError before this rule.
    ({"paid_date": "9999-12-31"}, "paid_date", False),
    ({"paid_date": "2034-03-06"}, "paid_date", False),  # 3,653 days after 2024-03-05
    # Priced from the file, the year is not checked against a fee schedule: the service month
    # after December 9999 does not exist.
    ({"claim_line_start_date": "9999-12-01", "claim_start_date": "9999-12-01",
      "claim_end_date": "9999-12-31"}, "claim_line_start_date", True),
    ({"claim_end_date": "9999-12-31"}, "claim_end_date", True),
])
def test_a_date_no_run_calendar_can_hold_is_a_named_rejection_not_a_crash(
        tmp_path, cells, column, price_from_file):
    rows = list(csv.reader(TUVA_CLAIMS.open(newline="")))
    edited = [list(r) for r in rows]
    for name, value in cells.items():
        edited[1][rows[0].index(name)] = value
    with (tmp_path / "medical_claim.csv").open("w", newline="") as f:
        csv.writer(f).writerows(edited)
    run = tmp_path / "run"
    assert claimsim("ingest", "--format", "tuva", tmp_path / "medical_claim.csv", TUVA_ELIGIBILITY,
                    "--out", run, "--no-progress", *(["--price-from-file"] * price_from_file)) == 0
    assert ("medical_claim.csv", 1, column, "bad_date") in set(rejections(run))
    # Within the rule, a year's lag is taken as the file gives it (the engine judges filing).
    assert claimsim("adjudicate", run, "--no-progress") == 0


def test_a_date_within_the_rules_is_not_refused_by_them():
    from claimsim.events.interchange.ingest_model import date_problem, MAX_RECEIVED_LAG_DAYS
    from claimsim.events.interchange.tuva_ingest import read_medical_claims

    line = next(x for x in read_medical_claims(TUVA_CLAIMS) if hasattr(x, "service_date"))
    assert line.service_date == "2024-03-05"
    assert MAX_RECEIVED_LAG_DAYS == 3_650
    assert date_problem(line._replace(paid_date="2034-03-03")) is None  # 3,650 days: the limit
    assert date_problem(line._replace(paid_date="2034-03-04"))[0] == "paid_date"  # 3,651
    assert date_problem(line._replace(received="2034-03-04"))[0] == "received"
    assert date_problem(line._replace(service_date="1899-12-31"))[0] == "service_date"
    assert date_problem(line._replace(service_date="2199-12-31", claim_end="2199-12-31")) is None


def test_an_ingest_that_stopped_is_refused_by_adjudicate_not_taken_as_whole(tmp_path, monkeypatch,
                                                                             capsys):
    """Killed or failed before its run.json, an ingest leaves part of its input: `adjudicate`
    refuses the folder (its mark) instead of paying part of the file as if it were all of it."""
    from claimsim.scenarios import ingest

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt  # as Ctrl-C would, with the input written

    run = tmp_path / "run"
    with monkeypatch.context() as m:
        m.setattr(ingest, "_write_manifest", stopped)
        assert claimsim("ingest", "--format", "tuva", TUVA_CLAIMS, TUVA_ELIGIBILITY, "--out", run,
                        "--no-progress") == 130
    assert (run / "input").is_dir() and not (run / "run.json").exists()
    capsys.readouterr()
    assert claimsim("adjudicate", run, "--no-progress") == 2
    assert "the ingest into it did not finish" in capsys.readouterr().err
    assert not (run / "ledger").exists()


def test_a_finished_ingest_leaves_no_mark(paid_run):
    from claimsim.adjudication.runtimes.whole_run import INGEST_MARK

    assert not (paid_run / INGEST_MARK).exists() and (paid_run / "run.json").exists()
