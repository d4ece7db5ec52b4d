"""A scenario that scores quality from claims: it simulates HbA1c tests for members with diabetes,
prices them, pays PCF's performance adjustment and reconciles PBIP on the claims-based score, and
`audit replay` reproduces every payment byte for byte. The same scenario without the setting
simulates no test and lists no HbA1c code beyond 83036."""

from __future__ import annotations

import pyarrow.parquet as pq

from claimsim.adjudication.audit.replay import replay
from claimsim.adjudication.projections.claims_quality import SCORE_COLUMNS
from claimsim.cli import main
from claimsim.events.log import read
from claimsim.events.reference import ReferenceData
from claimsim.scenarios.aligned_report import _with_units
from claimsim.scenarios.run import run_scenario
from claimsim.scenarios.spec import validate
from claimsim.scenarios.vary import with_value
from claimsim.simulator.hba1c import HBA1C_MONTHLY_BP_FOR_CLAIMS

from .test_builtin_scenarios import small


def _claims(name: str, **kw):
    scenario = small(name, **kw)
    data = with_value(scenario.model_dump(mode="json", exclude_unset=True),
                      "clock.projections.quality_source", "claims")
    return validate(data, name)


def test_claims_quality_scenario_gets_hba1c_tests_by_default_and_a_default_one_does_not():
    assert _claims("pcf").quality.hba1c_monthly_bp == HBA1C_MONTHLY_BP_FOR_CLAIMS
    assert small("pcf").quality.hba1c_monthly_bp == 0


def test_pcf_on_claims_quality_pays_from_the_ledger_and_replays(tmp_path):
    result = run_scenario(_claims("pcf", members=600, months=9), tmp_path / "run", charts_too=False)
    run_dir = result.run_dir
    fees = ReferenceData.load(run_dir).fee_schedules[0].amounts[2025]
    assert (fees["83037"], fees["3044F"], fees["3046F"]) == (971, 0, 0)
    tests = [line for env in read(run_dir / "ledger") if env["type"] == "claim.adjudicated"
             for line in env["data"]["lines"] if line["procedure"] == "83037"]
    assert tests and all(line["allowed"] <= 971 for line in tests)
    assert any(line["status"] != "denied" and line["allowed"] > 0 for line in tests)
    pbp = [env["data"]["detail"]["basis"] for env in read(run_dir / "ledger")
           if env["type"] == "payment.prospective" and env["data"]["kind"] == "pbp"
           and "basis" in env["data"]["detail"]]
    assert pbp and all(b["quality_source"] == "claims" for b in pbp)
    assert any(b["diabetic_members"] > 0 for b in pbp)
    report = (run_dir / "reports" / "reconciliation.csv").read_text()
    assert "hba1c_rate_bp" in report.splitlines()[0]
    scores = result.aligned["quality_scores"]
    assert {r["use"] for r in scores} == {"pcf_performance"}  # PCF pays no PBIP
    assert len(scores) == len(pbp_keys := {(r["payer_id"], r["practice_id"], r["quality_period"])
                                           for r in scores})
    assert pbp_keys == {(e["data"]["payer_id"], e["data"]["practice_id"],
                         e["data"]["detail"]["basis"]["quality_period"])
                        for e in read(run_dir / "ledger") if e["type"] == "payment.prospective"
                        and "basis" in e["data"]["detail"] and e["data"]["kind"] == "pbp"}
    assert replay(run_dir).ok


def test_a_claims_quality_run_that_scored_nothing_writes_its_tables_header(tmp_path):
    """`run demo --quality-source claims` at 300 members over 3 months scores no PCF boundary and
    pays no PBIP year: its quality_scores table is the header alone (the report step raised on an
    empty table, and `--resume` raised again); a scored run's rows have exactly these columns."""
    out = tmp_path / "run"
    assert main(["run", "demo", "--quality-source", "claims", "--members", "300", "--months", "3",
                 "--out", str(out), "--no-progress"]) == 0
    reports = out / "reports"
    header = ("payer_id,practice_id,use,quality_period,medicare_members,awv_members,awv_rate_bp,"
              "diabetic_members,hba1c_tested,hba1c_rate_bp,score_bp,performance_bp,"
              "pbip_paid_cents,pbip_kept_cents")
    assert (reports / "quality_scores.csv").read_text() == header + "\n"
    assert pq.read_table(reports / "quality_scores.parquet").column_names == header.split(",")
    assert ",".join(_with_units(dict.fromkeys(SCORE_COLUMNS))) == header
