"""`claimsim ingest --format tuva` on files a real extract can hold by mistake: rows of the wrong
width, quoted line ends, old line-ending conventions, null-looking amounts, unreadable and
nested-typed files. A bad row is one rejection naming its row; the rest of the file still
ingests; a file that cannot be read at all is one line and exit status 2."""

from __future__ import annotations

import csv
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from claimsim.events.interchange import tabular

from ..fixtures.ingest import claimsim

HEADER = ("claim_id,claim_line_number,claim_type,member_id,payer,plan,claim_start_date,"
          "claim_end_date,claim_line_start_date,place_of_service_code,hcpcs_code,"
          "service_unit_quantity,rendering_npi,billing_tin,paid_date,charge_amount,"
          "allowed_amount,paid_amount")
ELIGIBILITY = ("member_id,gender,birth_date,enrollment_start_date,enrollment_end_date,payer,"
               "payer_type,plan\n"
               "M1,female,1980-03-01,2024-01-01,2024-12-31,acme,commercial,silver\n")


def line(claim_id: str, charge: str = "150.00") -> str:
    return (f"{claim_id},1,professional,M1,acme,silver,2024-03-05,2024-03-05,2024-03-05,11,99213,"
            f"1,1000000001,111111111,2024-03-20,{charge},93.34,70.00")


def ingest(tmp_path: Path, claims: str | bytes, eligibility: str = ELIGIBILITY,
           name: str = "claims.csv") -> tuple[int, Path]:
    data = claims.encode() if isinstance(claims, str) else claims
    (tmp_path / name).write_bytes(data)
    (tmp_path / "elig.csv").write_text(eligibility)
    run = tmp_path / "run"
    status = claimsim("ingest", "--format", "tuva", tmp_path / name, tmp_path / "elig.csv",
                      "--out", run, "--no-progress")
    return status, run


def rejected(run: Path) -> list[list[str]]:
    with open(run / "rejections.csv", newline="") as f:
        return list(csv.reader(f))[1:]


def summary(run: Path) -> dict:
    return orjson.loads((run / "run.json").read_bytes())["ingest"]


def test_a_row_of_the_wrong_width_is_one_rejection_and_the_rows_after_keep_their_numbers(
        tmp_path):
    short = line("C2").rsplit(",", 1)[0]  # 17 fields
    rows = [HEADER, line("C1"), short, line("C3"), line("C4", "x"), line("C5") + ",extra"]
    status, run = ingest(tmp_path, "\n".join(rows) + "\n")
    assert status == 0
    assert rejected(run) == [
        ["claims.csv", "2", "", "bad_row", f"expected 18 fields, got 17: {short[:80]}..."],
        ["claims.csv", "4", "charge_amount", "bad_amount", "charge_amount: not an amount: 'x'"],
        ["claims.csv", "5", "", "bad_row",
         f"expected 18 fields, got 19: {(line('C5') + ',extra')[:80]}..."],
    ]
    assert summary(run)["claims"] == 2  # C1 and C3
    assert summary(run)["files"]["claims.csv"] == 5


def test_a_quoted_line_end_across_the_block_cut_is_read_as_one_row(tmp_path, monkeypatch):
    """The cutter's 16-byte block ends inside C2's quoted note: it takes the note's next line
    too, so C2 is one good row and C4's bad amount is still row 4."""
    monkeypatch.setattr(tabular, "CSV_BLOCK_BYTES", len(line("C1")) + 16)
    rows = [HEADER + ",note", line("C1") + ",plain", line("C2") + ',"two\nlines"',
            line("C3") + ",plain", line("C4", "x") + ",plain"]
    status, run = ingest(tmp_path, "\n".join(rows) + "\n")
    assert status == 0
    assert rejected(run) == [
        ["claims.csv", "4", "charge_amount", "bad_amount", "charge_amount: not an amount: 'x'"]]
    assert summary(run)["claims"] == 3


def test_cr_only_line_endings_are_refused_in_one_line(tmp_path, capsys):
    status, _ = ingest(tmp_path, "\r".join([HEADER, line("C1"), line("C2")]) + "\r")
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"claimsim: error: {tmp_path / 'claims.csv'}: not a Tuva medical_claim table"
                   " (CR-only line endings: save it with LF or CRLF line endings)")


def test_null_looking_text_in_an_amount_is_a_bad_amount_not_an_empty_cell(tmp_path):
    rows = [HEADER, line("C1"), *(line(f"N{i}", v) for i, v in
                                  enumerate(["NaN", "N/A", "NULL", "#N/A"]))]
    status, run = ingest(tmp_path, "\n".join(rows) + "\n")
    assert status == 0
    assert rejected(run) == [
        ["claims.csv", str(i + 2), "charge_amount", "bad_amount",
         f"charge_amount: not an amount: {v!r}"]
        for i, v in enumerate(["NaN", "N/A", "NULL", "#N/A"])]
    assert summary(run)["claims"] == 1


def test_an_unreadable_input_is_one_line_naming_it(tmp_path, monkeypatch, capsys):
    """The open a process without read permission gets (a test run as root cannot chmod its way
    to one, so the open is made to fail as it would)."""
    target = tmp_path / "claims.csv"

    def no_read(path, *args, **kwargs):
        if Path(path) == target:
            raise PermissionError(13, "Permission denied", str(path))
        return open(path, *args, **kwargs)

    monkeypatch.setattr(tabular, "open", no_read, raising=False)
    status, _ = ingest(tmp_path, "\n".join([HEADER, line("C1")]) + "\n")
    assert status == 2
    assert capsys.readouterr().err.strip() == (
        f"claimsim: error: {target}: cannot be read (Permission denied)")


def test_a_directory_given_as_input_is_said_to_be_one(tmp_path, capsys):
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "elig.csv").write_text(ELIGIBILITY)
    assert claimsim("ingest", "--format", "tuva", tmp_path / "folder.csv", tmp_path / "elig.csv",
                    "--out", tmp_path / "run", "--no-progress") == 2
    assert capsys.readouterr().err.strip() == (
        f"claimsim: error: {tmp_path / 'folder.csv'}: is a directory, not a file")


def test_a_parquet_column_of_lists_is_one_line_naming_column_and_type(tmp_path, capsys):
    table = pacsv.read_csv(pa.py_buffer((HEADER + "\n" + line("C1") + "\n").encode()),
                           convert_options=pacsv.ConvertOptions(
                               column_types={c: pa.string() for c in HEADER.split(",")}))
    codes = pa.array([["99213", "36415"]], pa.list_(pa.string()))
    table = table.set_column(table.schema.get_field_index("hcpcs_code"), "hcpcs_code", codes)
    pq.write_table(table, tmp_path / "claims.parquet")
    (tmp_path / "elig.csv").write_text(ELIGIBILITY)
    assert claimsim("ingest", "--format", "tuva", tmp_path / "claims.parquet",
                    tmp_path / "elig.csv", "--out", tmp_path / "run", "--no-progress") == 2
    assert capsys.readouterr().err.strip() == (
        f"claimsim: error: {tmp_path / 'claims.parquet'}: not a Tuva medical_claim table"
        " (column hcpcs_code holds list<element: string>, not single values)")


def test_digit_like_characters_and_a_date_with_junk_are_named_rejections(tmp_path):
    rows = [HEADER, line("C1"), line("C2", "1\u00b2.00"),
            line("C3").replace("C3,1,", "C3,\u00b2,"),
            line("C4").replace("2024-03-05,2024-03-05,2024-03-05", "2024-03-05,2024-03-05,"
                               "2024-03-05 junk")]
    status, run = ingest(tmp_path, "\n".join(rows) + "\n")
    assert status == 0
    assert rejected(run) == [
        ["claims.csv", "2", "charge_amount", "bad_amount",
         "charge_amount: not an amount: '1\u00b2.00'"],
        ["claims.csv", "3", "claim_line_number", "bad_code",
         "claim_line_number: not a line number from 1 to 1,000,000,000: '\u00b2'"],
        ["claims.csv", "4", "claim_line_start_date", "bad_date",
         "claim_line_start_date: not a YYYY-MM-DD date or timestamp: '2024-03-05 junk'"],
    ]
    assert summary(run)["claims"] == 1


ELIGIBILITY_HEADER = ("member_id,subscriber_id,gender,birth_date,enrollment_start_date,"
                      "enrollment_end_date,payer,payer_type,plan")


def test_a_members_second_row_unlike_the_first_is_a_member_conflict(tmp_path):
    """Row 2 names another subscriber, row 3 another sex, row 4 another birth date: each is
    rejected naming its column; row 5 (the same member, a later span) is read."""
    rows = [ELIGIBILITY_HEADER,
            "M1,S1,female,1980-03-01,2024-01-01,2024-06-30,acme,commercial,silver",
            "M1,S9,female,1980-03-01,2024-07-01,2024-12-31,acme,commercial,silver",
            "M1,S1,male,1980-03-01,2024-07-01,2024-12-31,acme,commercial,silver",
            "M1,S1,female,1980-03-02,2024-07-01,2024-12-31,acme,commercial,silver",
            "M1,S1,female,1980-03-01,2024-07-01,2024-12-31,acme,commercial,silver"]
    status, run = ingest(tmp_path, "\n".join([HEADER, line("C1")]) + "\n",
                         eligibility="\n".join(rows) + "\n")
    assert status == 0
    assert rejected(run) == [
        ["elig.csv", "2", "subscriber_id", "member_conflict",
         "member M1: subscriber_id 'S9' differs from row 1's 'S1'"],
        ["elig.csv", "3", "gender", "member_conflict",
         "member M1: gender 'M' differs from row 1's 'F'"],
        ["elig.csv", "4", "birth_date", "member_conflict",
         "member M1: birth_date '1980-03-02' differs from row 1's '1980-03-01'"],
    ]
    assert summary(run)["enrollments"] == 2


def test_a_span_overlapping_another_plans_is_rejected_with_both_date_ranges(tmp_path):
    """The engine covers a member by one plan at a time: gold from June overlaps silver's year
    and is rejected; a gold span after silver ends (row 3) is read."""
    rows = [ELIGIBILITY_HEADER,
            "M1,M1,female,1980-03-01,2024-01-01,2024-12-31,acme,commercial,silver",
            "M1,M1,female,1980-03-01,2024-06-01,,acme,commercial,gold",
            "M1,M1,female,1980-03-01,2025-01-01,,acme,commercial,gold"]
    status, run = ingest(tmp_path, "\n".join([HEADER, line("C1")]) + "\n",
                         eligibility="\n".join(rows) + "\n")
    assert status == 0
    assert rejected(run) == [
        ["elig.csv", "2", "enrollment_start_date", "overlapping_span",
         "member M1: acme/gold 2024-06-01..(open) overlaps row 1's acme/silver"
         " 2024-01-01..2024-12-31"]]
    assert summary(run)["enrollments"] == 2


def test_a_non_empty_out_names_ingest_as_the_command_writing_it(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "keep.txt").write_text("mine")
    status, _ = ingest(tmp_path, "\n".join([HEADER, line("C1")]) + "\n")
    assert status == 2
    assert capsys.readouterr().err.strip() == (
        f"claimsim: error: {tmp_path / 'run'}: directory is not empty; ingest writes a fresh run"
        " directory (choose a new --out or remove this one)")
