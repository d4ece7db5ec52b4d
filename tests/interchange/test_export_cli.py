"""`claimsim export`: the summary table and file, the balance verdict, and one-line refusals."""

from __future__ import annotations

import csv

import pytest

from claimsim.events.errors import UserError


def test_export_prints_a_summary_and_writes_it_beside_the_files(demo_run, tmp_path, capsys,
                                                                 run_export):
    out = tmp_path / "eob"
    assert run_export(demo_run, "eob", out) == 0
    printed = capsys.readouterr().out
    assert "balances: all hold" in printed and "claims/s" in printed
    with open(out / "export_summary.csv", newline="") as f:
        summary = {r["item"]: r["value"] for r in csv.DictReader(f)}
    assert summary["total benefit"] == summary["ledger plan paid"]
    assert int(summary["ExplanationOfBenefit resources"]) > 1000


def test_export_refuses_a_folder_that_is_not_empty(demo_run, tmp_path, run_export):
    (tmp_path / "old.835").write_text("x")
    with pytest.raises(UserError, match="not a new or empty directory"):
        run_export(demo_run, "835", tmp_path)


def test_export_of_a_folder_that_is_no_run_is_a_user_error(tmp_path, run_export):
    with pytest.raises(UserError):
        run_export(tmp_path / "missing", "tuva", tmp_path / "out")
