"""`claimsim ingest --format cclf`: a CCLF5/CCLF8 pair built at the Information Packet's positions
(tests/fixtures/cclf_files.py), ingested with its adjustment chains, adjudicated, attributed and paid, with
the figures worked by hand from DOMAIN.md, and every bad record rejected by name."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest


from claimsim.events.interchange import cclf

from ..fixtures import cclf_files as fx
from ..fixtures.ingest import (TUVA_CLAIMS, attribution, claim_answers, claimsim, events,
                               lines_by_code, rejections)


@pytest.fixture(scope="module")
def paid_run(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("cclf")
    cclf5, cclf8 = fx.write(tmp)
    run = tmp / "run"
    assert claimsim("ingest", "--format", "cclf", cclf5, cclf8, "--out", run, "--no-progress") == 0
    assert claimsim("adjudicate", run, "--no-progress") == 0
    return run


def test_reader_layout_agrees_with_the_information_packet_positions():
    for layout, packet in ((cclf.CCLF5, fx.CCLF5_LAYOUT), (cclf.CCLF8, fx.CCLF8_LAYOUT)):
        for name, field in layout.items():
            if name in packet:
                assert (field.start, field.length) == packet[name], name
    first = fx.cclf5_records()[0]
    assert (first[97:102], first[125:134], first[149:150]) == ("99214", fx.FAMILY_TIN, "0")


def test_every_bad_record_is_rejected_naming_file_row_field_and_reason(paid_run):
    assert rejections(paid_run) == sorted([
        ("CCLF8.txt", 3, "BENE_SEX_CD", "bad_code"),
        ("CCLF8.txt", 4, "BENE_RNG_END_DT", "short_record"),
        ("CCLF5.txt", 10, "CLM_ADJSMT_TYPE_CD", "orphan_adjustment"),  # 4002: no original in file
        ("CCLF5.txt", 11, "CLM_TYPE_CD", "not_professional"),  # 72, DMEPOS
        ("CCLF5.txt", 12, "CLM_ADJSMT_TYPE_CD", "bad_code"),  # 5
        ("CCLF5.txt", 13, "CLM_LINE_SRVC_UNIT_QTY", "short_record"),
        ("CCLF5.txt", 14, "BENE_MBI_ID", "missing_value"),
        ("CCLF5.txt", 15, "BENE_MBI_ID", "unknown_member"),  # B9
    ])


def test_adjustment_chains_become_a_replacement_and_a_void(paid_run):
    claims = [e["data"]["claim"] for e in events(paid_run / "input") if e["type"] == "claim.submitted"]
    chain = [(c["claim_id"], c["frequency"], c["original_claim_id"], c["received"]) for c in claims]
    # 1002 (the cancel half of 1003's correction, same day) is folded into the replacement
    assert chain == [("1001", "1", None, "2024-02-20"), ("1003", "7", "1001", "2024-03-10"),
                     ("3001", "1", None, "2024-03-29"), ("2001", "1", None, "2024-04-16"),
                     ("2002", "8", "2001", "2024-05-01")]
    s = orjson.loads((paid_run / "run.json").read_bytes())["ingest"]
    assert s["claims_by_frequency"] == {"1": 3, "7": 1, "8": 1, "cancel+adjustment": 1}
    # CLM_EFCTV_DT for all 7 claim ids grouped (1001, 1002, 1003, 3001, 2001, 2002 and orphan 4002)
    assert s["received_from"] == {"paid_date": 7}
    assert s["roles"] == "clinician roles: 3 from the specialty/taxonomy column"


def test_chain_pays_as_worked_by_hand(paid_run):
    """Part B 2024 (deductible $240 = 24000, 20 % coinsurance); 2024 amounts are 2025's x 1.0291."""
    a = claim_answers(paid_run)
    # 1001: 99214 13189 + 36415 309, all deductible. 1003 replaces it (reversing those lines and
    # the deductible they used): 99213 9334 + 36415 309 = 9643 of deductible.
    assert [x["procedure"] for x in a["1003"]["reversed_lines"]] == ["99214", "36415"]
    replaced = lines_by_code(a["1003"])
    assert [(replaced[k]["allowed"], replaced[k]["deductible"]) for k in ("99213", "36415")] == [
        (9334, 9334), (309, 309)]
    # 3001: 99245 24555 x 1.0291 = 25269.6 -> 25270; deductible left 24000 - 9643 = 14357;
    # coinsurance 20 % of 25270 - 14357 = 10913 -> 2182.6 -> 2183; plan pays 10913 - 2183 = 8730.
    cardio = lines_by_code(a["3001"])["99245"]
    assert (cardio["allowed"], cardio["deductible"], cardio["coinsurance"], cardio["plan_paid"]) \
        == (25270, 14357, 2183, 8730)
    # 2001: the AWV G0438 17050 x 1.0291 = 17546.2 -> 17546, paid in full; 2002 voids it.
    assert lines_by_code(a["2001"])["G0438"]["plan_paid"] == 17546
    assert a["2002"]["type"] == "claim.reversed"
    assert [x["plan_paid"] for x in a["2002"]["reversed_lines"]] == [-17546]


def test_attribution_counts_the_replacement_and_not_the_voided_awv(paid_run):
    # B1: the 99213 (replacing 99214) at the family practice; the cardiologist's 99245 is a
    # specialist consult. B2's only visit, the AWV, was voided: B2 is not attributed.
    assert attribution(paid_run, "2024-06-01") == {("medicare", "B1"): fx.FAMILY_TIN}


def test_enrollment_spans_come_from_cclf8(paid_run):
    spans = [e["data"] for e in events(paid_run / "input") if e["type"] == "member.enrolled"]
    assert [(s["member_id"], s["start"], s["end"], s["sex"], s["plan_id"]) for s in spans] == [
        ("B1", "2024-01-01", "2024-12-31", "F", "medicare:part-b"),
        ("B2", "2024-01-01", "2024-12-31", "M", "medicare:part-b")]


@pytest.mark.parametrize("which", ["claims", "enrollment"])
def test_a_file_that_is_not_cclf_says_so_in_one_line(tmp_path, capsys, which):
    cclf5, cclf8 = fx.write(tmp_path)
    tuva = TUVA_CLAIMS
    args = (tuva, cclf8) if which == "claims" else (cclf5, tuva)
    assert claimsim("ingest", "--format", "cclf", *args, "--out", tmp_path / "run") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"not a {'CCLF5' if which == 'claims' else 'CCLF8'} file" in err


def test_a_repeated_claim_line_is_rejected_naming_the_cclf_field(tmp_path):
    """The first record again, as row 16: `duplicate_line` names CLM_LINE_NUM (the CCLF5 field
    the line number came from), not the Tuva column."""
    cclf5, cclf8 = fx.write(tmp_path)
    records = fx.cclf5_records()
    cclf5.write_text("\n".join([*records, records[0]]) + "\n")
    run = tmp_path / "run"
    assert claimsim("ingest", "--format", "cclf", cclf5, cclf8, "--out", run, "--no-progress") == 0
    rows = (run / "rejections.csv").read_text().splitlines()
    assert "CCLF5.txt,16,CLM_LINE_NUM,duplicate_line,claim 1001 line 1 appears again" \
           " (first at row 1)" in rows
