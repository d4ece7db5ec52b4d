"""The Tuva round trip: `export --format tuva` -> `ingest --format tuva --alignment` -> `run
SCENARIO --history` pays every final-action line as the run did. The pieces it needs from
ingest are tested on hand-made rows (Medicare Advantage by name, voluntary alignment, same-day
claims in file order); the whole trip on a 400-member demo run here and on the full `demo`
scenario (slow), each with one perturbed amount to prove the comparison can fail."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from claimsim.adjudication.audit.line_diff import compare_lines, final_action
from claimsim.events.interchange.ingest_reference import line_of_business
from claimsim.events.plans import LineOfBusiness

from ..fixtures.ingest import TUVA_CLAIMS, TUVA_ELIGIBILITY, claimsim, events, rejections


@pytest.mark.parametrize(("payer", "payer_type", "lob"), [
    ("Medicare Advantage plan", "medicare", LineOfBusiness.MEDICARE_ADVANTAGE),
    ("Medicare fee-for-service", "medicare", LineOfBusiness.MEDICARE_FFS),
    ("humana medicare advantage", None, LineOfBusiness.MEDICARE_ADVANTAGE),
    ("Advantage Health Commercial", "commercial", LineOfBusiness.COMMERCIAL),
    ("Medicaid managed care", "medicaid", LineOfBusiness.MEDICAID),
])
def test_medicare_payer_named_advantage_is_medicare_advantage(payer, payer_type, lob):
    """Tuva's payer_type has medicare, medicaid, commercial: the name tells MA from FFS."""
    assert line_of_business(payer, payer_type) is lob


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_alignment_rows_become_input_events_on_their_declared_date(tmp_path):
    alignment = write_csv(tmp_path / "alignment.csv",
                          ["member_id", "payer", "practice_tin", "effective_date", "declared_date"], [
                              ["M2", "acme", "111111111", "2024-02-01", "2024-01-15"],
                              ["M9", "acme", "111111111", "2024-02-01", "2024-01-15"],  # no member
                              ["M3", "acme", "111111111", "2024-02-31", ""],  # no such day
                              ["M1", "medicare", "111111111", "2024-03-01", ""],  # declared = effective
                          ])
    run = tmp_path / "run"
    assert claimsim("ingest", "--format", "tuva", TUVA_CLAIMS, TUVA_ELIGIBILITY, "--alignment",
                    alignment, "--out", run, "--no-progress") == 0
    aligned = [e for e in events(run / "input") if e["type"] == "alignment.declared"]
    assert [(e["at"], e["key"], e["data"]) for e in aligned] == [
        ("2024-01-15", "S2", {"member_id": "M2", "subscriber_id": "S2", "payer_id": "acme",
                              "practice_id": "111111111", "effective": "2024-02-01"}),
        ("2024-03-01", "M1", {"member_id": "M1", "subscriber_id": "M1", "payer_id": "medicare",
                              "practice_id": "111111111", "effective": "2024-03-01"}),
    ]
    assert {r for r in rejections(run) if r[0] == "alignment.csv"} == {
        ("alignment.csv", 2, "member_id", "unknown_member"),
        ("alignment.csv", 3, "effective_date", "bad_date")}


def test_claims_received_on_one_day_keep_the_files_order(tmp_path):
    """Z1 then A1, both received 2024-03-20 for M1: claim-id order would put A1 first and
    give it the deductible Z1 took when the payer received them."""
    header = ["claim_id", "claim_line_number", "claim_type", "member_id", "payer", "plan",
              "claim_end_date", "claim_line_start_date", "place_of_service_code", "hcpcs_code",
              "rendering_npi", "billing_tin", "charge_amount", "received_date"]
    common = ["professional", "M1", "medicare", "part b", "2024-03-05", "2024-03-05", "11"]
    claims = write_csv(tmp_path / "medical_claim.csv", header, [
        ["Z1", "1", *common, "99213", "1000000001", "111111111", "150.00", "2024-03-20"],
        ["A1", "1", *common, "36415", "1000000001", "111111111", "10.00", "2024-03-20"],
    ])
    run = tmp_path / "run"
    assert claimsim("ingest", "--format", "tuva", claims, TUVA_ELIGIBILITY, "--out", run,
                    "--no-progress") == 0
    order = [e["data"]["claim"]["claim_id"] for e in events(run / "input")
             if e["type"] == "claim.submitted"]
    assert order == ["Z1", "A1"]


def test_demo_run_round_trip_pays_every_final_action_line_the_same(demo_run, tmp_path, capsys):
    out = tmp_path / "tuva"
    assert claimsim("export", demo_run, "--format", "tuva", "--out", out, "--check-roundtrip",
                    "--no-progress") == 0
    assert capsys.readouterr().out.rstrip().endswith("round trip: same line results")
    diff = compare_lines(demo_run, out / "roundtrip" / "run")
    assert diff.same and diff.claims_a == diff.claims_b == diff.claims_compared > 2000
    assert diff.lines_differing == 0 and diff.history_claims > 0
    history = final_action(demo_run).reversal_history

    def perturb(fb):  # one cent more plan paid on a line without reversal history
        claim_id = next(c for c in sorted(fb.claims) if c not in history)
        fb.claims[claim_id]["lines"][0]["plan_paid"] += 1

    perturbed = compare_lines(demo_run, out / "roundtrip" / "run", perturb=perturb)
    assert not perturbed.same and dict(perturbed.by_field) == {"plan_paid": 1}


@pytest.mark.slow
def test_demo_scenario_round_trip_pays_every_final_action_line_the_same(tmp_path):
    """`claimsim demo`'s scenario (3,000 members, 12 months), the user guide's figures."""
    run, out = tmp_path / "demo", tmp_path / "tuva"
    assert claimsim("run", "demo", "--out", run, "--no-progress") == 0
    assert claimsim("export", run, "--format", "tuva", "--out", out, "--check-roundtrip",
                    "--no-progress") == 0
    diff = compare_lines(run, out / "roundtrip" / "run")
    assert diff.same and diff.claims_compared == diff.claims_a == diff.claims_b
    assert diff.lines_differing == 0
    # what the trip cannot carry, counted: versions reversed in the run, inputs it rejected
    assert diff.reversed_versions_a > 0 and diff.rejected_inputs_a > 0
    assert 0 < diff.history_claims < diff.claims_a // 5


def test_a_round_trip_stopped_part_way_leaves_the_out_folder_empty(demo_run, tmp_path,
                                                                  monkeypatch):
    """Ctrl-C (or kill) during `--check-roundtrip`'s ingest and run: the export and the partial
    round trip both go, so the same `--out` takes the next try."""
    from claimsim.scenarios import roundtrip

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt  # after the ingest, as the history run starts paying

    out = tmp_path / "tuva"
    monkeypatch.setattr(roundtrip, "run_history", stopped)
    assert claimsim("export", demo_run, "--format", "tuva", "--out", out, "--check-roundtrip",
                    "--no-progress") == 130
    assert out.is_dir() and list(out.iterdir()) == []
