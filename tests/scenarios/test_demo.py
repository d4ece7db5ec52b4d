"""The README's main job, `claimsim demo`, end to end on a tiny region: it runs, its logs verify,
its table reconciles with the ledger, and the same seed gives the same bytes."""

from __future__ import annotations

import csv

import orjson

from claimsim.cli import main
from claimsim.events.log import read

from ..fixtures.run_dirs import ledger_bytes

ARGS = ["--members", "300", "--months", "4", "--seed", "11"]


def test_demo_reconciles_with_its_ledger_and_is_deterministic(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["demo", "--out", str(a), *ARGS]) == 0
    out = capsys.readouterr().out
    assert "hash chain verified" in out and "total" in out
    # `--members` is the population on the first day; the count simulated is everyone ever enrolled,
    # and the first line says both, so 300 asked for and more simulated is not a surprise
    summary = orjson.loads((a / "run.json").read_bytes())["summary"]
    assert summary["members"] == 300 and summary["members_ever"] > 300
    assert summary["new_families"] > 0
    assert (f"Simulated {summary['members_ever']:,} members in {summary['families_ever']:,}"
            f" families (300 members at the start, then {summary['new_families']:,} families"
            " joining);") in out

    # the "next:" line names a real practice and month, and the command it shows runs
    next_line = next(line for line in out.splitlines() if line.strip().startswith("next:"))
    command = next_line.split("next: claimsim ", 1)[1].split("   |")[0].split()
    assert command[:3] == ["audit", "explain", "payment"] and "PRACTICE" not in command
    capsys.readouterr()
    assert main(command) == 0
    assert f"/ {command[4]} / {command[5]}: net $" in capsys.readouterr().out

    with open(a / "reports" / "demo_summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows
    for row in rows:  # the line invariant, in aggregate per program (cost share = what members
        # owe + what Medicaid pays for QMB members)
        assert int(row["allowed_cents"]) == (
            int(row["plan_paid_cents"]) + int(row["member_cost_share_cents"])
            + int(row["medicaid_cost_share_cents"]) + int(row["capitation_offset_cents"])
            + int(row["sequestration_cents"]))
    paid = 0
    for env in read(a / "ledger"):
        for line in env["data"].get("lines", ()) if env["type"] == "claim.adjudicated" else ():
            paid += line["plan_paid"]
        for line in env["data"].get("reversed_lines", ()) if env["type"].startswith("claim.") else ():
            paid += line["plan_paid"]
    assert sum(int(r["plan_paid_cents"]) for r in rows) == paid

    assert main(["demo", "--out", str(b), *ARGS]) == 0
    assert ledger_bytes(a) == ledger_bytes(b)


def test_demo_refuses_to_overwrite_without_force(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["demo", "--out", str(run), *ARGS]) == 0
    capsys.readouterr()
    assert main(["demo", "--out", str(run), *ARGS]) == 2
    assert "pass --force" in capsys.readouterr().err
    before = ledger_bytes(run)
    # A flag error, or a key that cannot be read, leaves the run --force would replace whole.
    for bad in (["--members", "0"], ["--signing-key", str(tmp_path / "no.key")]):
        assert main(["demo", "--out", str(run), "--force", *ARGS, *bad]) == 2
        assert ledger_bytes(run) == before and (run / "run.json").is_file()
    assert main(["demo", "--out", str(run), "--force", *ARGS]) == 0
