"""`claimsim scenarios`, `claimsim run SCENARIO` and `claimsim whatif` from the command line:
listings, the summary that reconciles, overrides, files written, and one-line user errors that
name the file and key."""

from __future__ import annotations

import csv

import pytest

from claimsim.cli import main

SMALL = ["--members", "300", "--months", "6", "--no-progress"]


def test_scenarios_lists_each_builtin_with_a_description(capsys):
    assert main(["scenarios"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in lines[:5]]
    assert names == ["cpcplus", "demo", "mcp", "multipayer", "pcf"]
    assert all(len(line.split(None, 1)[1]) > 20 for line in lines[:5])


def test_scenarios_show_and_reference(capsys):
    assert main(["scenarios", "--show", "demo"]) == 0
    assert "minimum_attributed = 30" in capsys.readouterr().out
    assert main(["scenarios", "--reference"]) == 0
    assert "| `hybrid_bp` |" in capsys.readouterr().out


def test_run_builtin_with_overrides_prints_a_reconciled_summary_and_writes_files(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "demo", *SMALL, "--minimum-attributed", "3", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "checks against the ledger: all reconcile" in text
    assert "PC001" in text and "MEDICARE-FFS" in text
    with open(out / "reports" / "practices.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["payer_id"] for r in rows} == {"COMMERCIAL", "MEDICAID", "MEDICARE-ADV", "MEDICARE-FFS"}
    assert all(r["ok"] == "True" for r in csv.DictReader(open(out / "reports" / "checks.csv")))
    import orjson

    scenario = orjson.loads((out / "scenario.json").read_bytes())
    assert (scenario["members"], scenario["months"], scenario["scenario"]) == (300, 6, "demo")
    assert scenario["region"]["programs"]["pcf"]["minimum_attributed"] == 3
    for name in ("input", "truth", "ledger"):
        assert (out / name).is_dir()
    assert (out / "reports" / "practice_revenue.png").exists()


def test_run_scenario_file_with_an_unknown_key_is_one_line_naming_file_and_key(tmp_path, capsys):
    path = tmp_path / "region.toml"
    path.write_text("members = 300\n[referrals]\navoidable_slop_bp = 1\n")
    assert main(["run", str(path), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "claimsim: error: region.toml: referrals.avoidable_slop_bp: unknown key"


@pytest.mark.parametrize("argv, message", [
    (["run", "nosuch"], "nosuch: not a built-in scenario (cpcplus, demo, mcp, multipayer, pcf)"),
    (["run", "demo", "--months", "30"], "--months must be between 1 and 24"),
    (["whatif", "demo", "--vary", "programs.cpcplus_t2.hybrid=0,1"],
     "'hybrid' is not a key of region.programs.cpcplus_t2 (choose from"),
    (["whatif", "demo", "--vary", "programs.cpcplus_t2.hybrid_bp=0,20000"],
     "region.programs.cpcplus_t2.hybrid_bp=20000: region.programs.cpcplus_t2.hybrid_bp:"),
    (["whatif", "demo", "--vary", "seed"], "expected KEY=V1,V2"),
])
def test_user_errors_are_one_line(argv, message, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_whatif_prints_the_table_and_writes_tables_and_chart(tmp_path, capsys):
    out = tmp_path / "w"
    assert main(["whatif", "demo", *SMALL, "--vary", "programs.cpcplus_t2.hybrid_bp=0,6500",
                 "--out", str(out), "--jobs", "2"]) == 0
    text = capsys.readouterr().out
    assert "hybrid_bp" in text and "cpcplus_t2 practices" in text
    for name in ("whatif.csv", "whatif.parquet", "replicates.csv", "whatif.png"):
        assert (out / name).stat().st_size > 0


def test_a_minimal_scenario_file_runs_on_the_defaults(tmp_path, capsys):
    """Only a size: everything else (region, programs, behaviour, clock) is the defaults."""
    path = tmp_path / "tiny.toml"
    path.write_text("members = 200\nmonths = 4\n")
    assert main(["run", str(path), "--no-progress", "--out", str(tmp_path / "r")]) == 0
    assert "all reconcile" in capsys.readouterr().out
    import orjson

    scenario = orjson.loads((tmp_path / "r" / "scenario.json").read_bytes())
    assert scenario["scenario"] == "tiny" and scenario["region"]["programs"]["cpcplus_t2"]["hybrid_bp"] == 4000
