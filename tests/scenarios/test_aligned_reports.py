"""The built-in multipayer scenario (at test size) reports all four aligned-payer measures per
payer, and they are reproducible: the ledger replays, and the measures rebuilt from seq 0 (in a
child process, as a payer-scale run computes them) are the written files byte for byte."""

from __future__ import annotations

from pathlib import Path

from claimsim.adjudication.audit.replay import replay
from claimsim.adjudication.audit.run_dir import fold
from claimsim.scenarios.aligned_report import write_aligned
from claimsim.scenarios.run import run_scenario

from .test_builtin_scenarios import small

NAMES = ("primary_care_spend", "apm_adoption", "vbp_participation", "practice_prospective_share",
         "claims_quality", "equity")


def test_multipayer_reports_every_measure_per_payer_and_replay_reproduces_them(tmp_path):
    result = run_scenario(small("multipayer", members=600, months=6), tmp_path / "run", charts_too=False)
    payers = {"MEDICARE-FFS", "MEDICARE-ADV", "MEDICAID", "COMMERCIAL"}
    found = result.aligned
    assert {r["payer_id"] for r in found["primary_care_spend"]} == payers | {"all"}
    assert {(r["payer_id"], r["convention"]) for r in found["apm_adoption"]} == {
        (p, c) for p in payers | {"all"} for c in ("payment", "contract")}
    assert {r["payer_id"] for r in found["vbp_participation"]} == payers | {"all"}
    assert {(r["payer_id"], r["dimension"]) for r in found["equity"]} == {
        (p, d) for p in payers | {"all"} for d in ("race", "ethnicity", "language")}
    for r in found["apm_adoption"]:  # every dollar is in exactly one category
        assert r["total"] == sum(r[k] for k in ("cat_1", "cat_2A", "cat_2C", "cat_3A_3B", "cat_4A", "cat_4B"))
    assert replay(result.run_dir).ok
    rebuilt = tmp_path / "rebuilt"
    (rebuilt / "reports").mkdir(parents=True)
    for name in ("input", "ledger", "truth", "reference.json"):
        (rebuilt / name).symlink_to(result.run_dir / name)
    years = sorted({r["year"] for r in found["primary_care_spend"]})
    # Rebuilt in a child process handed the state's digest (as a payer-scale run does), where the
    # run wrote them in process: the same tables, the same bytes.
    _, apart = write_aligned(rebuilt, fold(result.run_dir), result.window.as_of, years, apart=True)
    assert apart == found
    for name in NAMES:
        written = (result.run_dir / "reports" / f"{name}.csv").read_bytes()
        assert written == (rebuilt / "reports" / f"{name}.csv").read_bytes(), name
