"""`claimsim demo --out DIR --force` replaces only a folder that is recognisably a claimsim run
(its run.json); any other non-empty folder is refused, naming what is in it, and left alone."""

from __future__ import annotations

import orjson

from claimsim.cli import main


def test_force_refuses_a_folder_that_is_not_a_run_and_keeps_its_files(tmp_path, capsys):
    p = tmp_path / "p"
    p.mkdir()
    (p / "thesis.txt").write_text("x")
    assert main(["demo", "--out", str(p), "--force", "--members", "100", "--months", "3"]) == 2
    err = capsys.readouterr().err
    assert "not a claimsim run" in err and "thesis.txt" in err
    assert (p / "thesis.txt").read_text() == "x"
    assert sorted(x.name for x in p.iterdir()) == ["thesis.txt"]


def test_force_refuses_a_run_folder_holding_other_files_too(tmp_path, capsys):
    """A run.json beside the user's own files is not a run folder to delete wholesale."""
    p = tmp_path / "p"
    p.mkdir()
    (p / "run.json").write_bytes(orjson.dumps({"scenario": "demo", "seed": 7, "summary": {}}))
    (p / "notes.md").write_text("mine")
    assert main(["demo", "--out", str(p), "--force", "--members", "100", "--months", "3"]) == 2
    assert "notes.md" in capsys.readouterr().err
    assert (p / "notes.md").read_text() == "mine"


def test_force_refuses_the_working_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "code.py").write_text("print(1)")
    assert main(["demo", "--out", ".", "--force", "--members", "100", "--months", "3"]) == 2
    assert (tmp_path / "code.py").exists()


def test_force_replaces_a_previous_demo_run(tmp_path, capsys):
    out = tmp_path / "demo"
    small = ["--members", "100", "--months", "3", "--seed", "2"]
    assert main(["demo", "--out", str(out), *small]) == 0
    ledger = sorted((out / "ledger").glob("*.jsonl"))[0].read_bytes()
    (out / "reports" / "stale.csv").write_text("old report")  # reports/ belongs to the run
    assert main(["demo", "--out", str(out), "--force", *small]) == 0
    assert sorted((out / "ledger").glob("*.jsonl"))[0].read_bytes() == ledger
    assert not (out / "reports" / "stale.csv").exists()
