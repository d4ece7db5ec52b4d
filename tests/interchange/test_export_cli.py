"""`claimsim export`: the summary table and file, one-line refusals, and the same bytes for the
same run (nothing in an export depends on the wall clock)."""

from __future__ import annotations

import csv

from claimsim.cli import main

from ..fixtures.ingest import TUVA_CLAIMS, TUVA_ELIGIBILITY


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


def test_export_refuses_a_folder_that_is_not_empty(demo_run, tmp_path, run_export, capsys):
    (tmp_path / "old.835").write_text("x")
    assert run_export(demo_run, "835", tmp_path) == 2
    assert capsys.readouterr().err.strip().endswith("not a new or empty directory")


def test_export_of_a_folder_that_is_no_run_is_a_one_line_error(tmp_path, run_export, capsys):
    assert run_export(tmp_path / "missing", "tuva", tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a run directory" in err


def test_same_run_exports_to_the_same_bytes(demo_run, exported, tmp_path, run_export):
    first = exported(demo_run, "835")
    assert run_export(demo_run, "835", tmp_path / "again") == 0
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in (tmp_path / "again").iterdir())
    for name in names:
        assert (first / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name


def test_an_export_stopped_part_way_leaves_nothing_and_the_same_out_takes_the_next_try(
        demo_run, exported, tmp_path, run_export, monkeypatch):
    """Ctrl-C (or kill) while the 835 files are written: exit 130 and an empty `--out` (no file
    without its trailer, no summary of a partial export); the next try writes the whole export."""
    from claimsim.events.interchange import remit_files

    real, written = remit_files.segments_text, []

    def stopped_after_some(segments):
        written.append(1)
        if len(written) == 40:
            raise KeyboardInterrupt
        return real(segments)

    out = tmp_path / "835"
    with monkeypatch.context() as m:
        m.setattr(remit_files, "segments_text", stopped_after_some)
        assert run_export(demo_run, "835", out) == 130
    assert len(written) == 40 and out.is_dir() and list(out.iterdir()) == []
    assert run_export(demo_run, "835", out) == 0
    first = exported(demo_run, "835")
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in first.iterdir())


def test_check_roundtrip_on_a_run_without_its_scenario_is_refused_before_exporting(
        tmp_path, capsys):
    """An ingested run has no scenario.json: the round trip cannot pay it again, so the command
    says so first (exit 2) and writes nothing, rather than reporting an export then deleting it."""
    run = tmp_path / "run"
    assert main(["ingest", "--format", "tuva", str(TUVA_CLAIMS), str(TUVA_ELIGIBILITY),
                 "--out", str(run), "--no-progress"]) == 0
    assert main(["adjudicate", str(run), "--no-progress"]) == 0
    capsys.readouterr()
    out = tmp_path / "tuva"
    assert main(["export", str(run), "--format", "tuva", "--out", str(out), "--check-roundtrip",
                 "--no-progress"]) == 2
    captured = capsys.readouterr()
    assert "balances" not in captured.out and "-> " not in captured.out
    assert captured.err.count("\n") == 1 and "no scenario.json" in captured.err
    assert not out.exists()
