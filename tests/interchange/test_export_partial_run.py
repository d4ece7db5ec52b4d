"""A run adjudicated part way (`adjudicate --until`) is exported as what its payer has applied:
the enrollments and alignments past its last answered input are not in the Tuva eligibility and
alignment tables yet. Before, every enrollment of the input log was exported, so a mid-year
export listed members the adjudication had not met."""

from __future__ import annotations

import csv

from claimsim.cli import main
from claimsim.events.ignored import answered_inputs, ignored_inputs

from ..fixtures.damaged_runs import copy, entries, rewrite_log, simulate


def test_a_partly_adjudicated_run_exports_only_the_inputs_it_answered(tmp_path):
    partial = simulate(tmp_path / "partial")
    assert main(["adjudicate", str(partial), "--until", "2025-03-01", "--no-progress"]) == 0
    answers = [e["cause"] for e in entries(partial / "ledger") if e["cause"] is not None]
    last = answers[-1]
    assert answers == list(range(last + 1))
    assert answered_inputs(partial / "ledger") == (ignored_inputs(partial / "ledger"), last)
    inputs = entries(partial / "input")
    later = [e for e in inputs[last + 1:] if e["type"] == "member.enrolled"]
    assert later  # enrollments the adjudication has not met (else this proves nothing)
    # The same ledger over only the inputs it answered: what the payer has applied.
    answered_only = copy(partial, tmp_path / "answered-only")
    rewrite_log(answered_only / "input", lambda bodies: bodies[:last + 1])
    for run_dir in (partial, answered_only):
        assert main(["export", str(run_dir), "--format", "tuva", "--out",
                     str(tmp_path / f"tuva-{run_dir.name}"), "--no-progress"]) == 0
    names = sorted(p.name for p in (tmp_path / "tuva-partial").iterdir())
    assert "eligibility.csv" in names and "medical_claim.csv" in names
    for name in names:
        assert ((tmp_path / "tuva-partial" / name).read_bytes()
                == (tmp_path / "tuva-answered-only" / name).read_bytes()), name
    # A member first enrolled after the last answer is in neither table.
    met = {e["data"]["member_id"] for e in inputs[:last + 1] if e["type"] == "member.enrolled"}
    new = {e["data"]["member_id"] for e in later} - met
    assert new
    eligibility = (tmp_path / "tuva-partial" / "eligibility.csv").read_text()
    assert not [m for m in new if m in eligibility]


def test_a_partly_adjudicated_runs_open_spans_end_on_its_last_answered_day(tmp_path):
    """Adjudicated until 2025-03-01: the payer has met no day after its last answered input (on
    or before 2025-02-28), so no span runs past it, whatever the ledger's later paid dates."""
    partial = simulate(tmp_path / "partial")
    assert main(["adjudicate", str(partial), "--until", "2025-03-01", "--no-progress"]) == 0
    last = answered_inputs(partial / "ledger")[1]
    last_day = entries(partial / "input")[last]["at"]
    assert "2025-02-01" <= last_day <= "2025-02-28"
    out = tmp_path / "tuva"
    assert main(["export", str(partial), "--format", "tuva", "--out", str(out),
                 "--no-progress"]) == 0
    with open(out / "eligibility.csv", newline="") as f:
        ends = [r["enrollment_end_date"] for r in csv.DictReader(f)]
    assert max(ends) == last_day
