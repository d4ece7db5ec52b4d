"""The 835 of an ingested run, where payer ids are the file's payer names and claim ids are the
file's: sender ids that conform (ISA06/08 15 characters, GS02/03 1-15), safe file names, the
full name kept in N1*PR, and separators inside values replaced (names) or refused (ids)."""

from __future__ import annotations

from pathlib import Path

import pytest

from claimsim.events.interchange import InterchangeError
from claimsim.events.interchange.x12_835 import Party, transaction
from claimsim.events.interchange.x12_elements import identifier, name_text, sender_id

from ..fixtures.ingest import claimsim
from .test_x12_835 import pyx12_errors, segments

PAYER = "Acme*Health~Plan of Maryland"
SENDER = "ACMEHEALTH" + "D567E"  # letters and digits cut to 10 + SHA-256's first 5 hex digits
ELIGIBILITY = ("person_id,member_id,subscriber_id,gender,birth_date,enrollment_start_date,"
               "enrollment_end_date,payer,payer_type,plan,subscriber_relation\n"
               f"P1,M1,M1,female,1980-03-01,2024-01-01,2024-12-31,{PAYER},commercial,"
               "Acme Silver PPO,self\n")
CLAIM_HEADER = ("claim_id,claim_line_number,claim_type,member_id,payer,plan,claim_start_date,"
                "claim_end_date,claim_line_start_date,place_of_service_code,hcpcs_code,"
                "service_unit_quantity,rendering_npi,billing_tin,paid_date,charge_amount\n")


def _claim(claim_id: str, day: str) -> str:
    return (f"{claim_id},1,professional,M1,{PAYER},Acme Silver PPO,{day},{day},{day},11,99214,1,"
            f"1000000002,111111111,2024-04-30,200.00\n")


def _paid_run(folder: Path, claim_ids: tuple[str, ...]) -> Path:
    (folder / "eligibility.csv").write_text(ELIGIBILITY)
    days = ("2024-04-10", "2024-04-11")
    (folder / "medical_claim.csv").write_text(
        CLAIM_HEADER + "".join(_claim(c, d) for c, d in zip(claim_ids, days)))
    run = folder / "run"
    assert claimsim("ingest", "--format", "tuva", folder / "medical_claim.csv",
                    folder / "eligibility.csv", "--out", run, "--no-progress") == 0
    assert claimsim("adjudicate", run, "--no-progress") == 0
    return run


def test_sender_id_keeps_a_plain_payer_id_and_derives_one_from_a_name():
    assert sender_id("MEDICARE-FFS") == "MEDICARE-FFS"
    assert sender_id(PAYER) == SENDER
    assert sender_id("acme") != sender_id("ACME") == "ACME"  # case differs: another sender
    assert len(sender_id("x" * 40)) == 15


def test_an_ingested_payer_name_becomes_a_conforming_sender_and_stays_whole_in_n1(tmp_path):
    run = _paid_run(tmp_path, ("C1", "C2"))
    out = tmp_path / "835"
    assert claimsim("export", run, "--format", "835", "--out", out, "--no-progress") == 0
    files = sorted(p.name for p in out.glob("*.835"))
    assert files == [f"{SENDER}_202405.835"]  # received 04-30 + 14 processing days
    path = out / files[0]
    assert pyx12_errors(path) == ""
    segs = {s[0] + (s[1] if s[0] == "N1" else ""): s for s in segments(path)}
    assert segs["ISA"][6] == SENDER and len(SENDER) == 15
    assert (segs["GS"][2], segs["GS"][3]) == (SENDER, "CLEARINGHOUSE")
    assert segs["N1PR"][2] == "Acme Health Plan of Maryland"  # `*`, `~`: spaces
    assert segs["TRN"][2] == f"{SENDER}-111111111-20240514"


def test_a_claim_id_holding_a_separator_is_refused_naming_it_and_nothing_is_left(
        tmp_path, capsys):
    run = _paid_run(tmp_path, ("C1", "C2*22~X"))
    out = tmp_path / "835"
    assert claimsim("export", run, "--format", "835", "--out", out, "--no-progress") == 2
    err = capsys.readouterr().err
    assert "claim 'C2*22~X'" in err and f"payer {PAYER!r}" in err and "'*'" in err
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("value", ["A*B", "A~B", "A:B", "A^B", "A\nB"])
def test_every_separator_in_an_identifier_is_refused(value):
    with pytest.raises(InterchangeError, match="X12 separator"):
        identifier(value, "member id", "claim 'C1'")
    assert name_text(value) == "A B"


def test_a_payee_tin_holding_a_separator_is_refused():
    with pytest.raises(InterchangeError, match="practice 'Lab': its TIN"):
        transaction(1, Party("ACME", "Acme"), Party("LAB*1", "Lab"), "2024-04-30", [], [], 0)
