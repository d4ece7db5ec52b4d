"""`claimsim simulate`: writes a run directory and a summary table; refuses to overwrite a run;
user mistakes are one-line errors with exit status 2."""

from __future__ import annotations

import orjson

from claimsim.cli import main
from claimsim.events.log_verify import verify


def test_simulate_writes_a_run_directory_and_prints_the_summary(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["simulate", "--members", "300", "--months", "2", "--seed", "9",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    manifest = orjson.loads((out / "run.json").read_bytes())
    assert (manifest["scenario"], manifest["seed"], manifest["members"], manifest["months"]) == (
        "default", 9, 300, 2)
    assert (out / "reference.json").is_file()
    claims = manifest["summary"]["claims"]
    assert verify(out / "input").by_type["claim.submitted"] == claims > 0
    assert verify(out / "truth").ok
    assert "claims submitted" in printed and f"{claims:,}" in printed
    assert "referrals (avoidable / total)" in printed
    for kind in ("duplicate", "replacement", "void", "malformed", "late"):
        assert f"faults: {kind}" in printed


def test_simulate_refuses_a_non_empty_run_directory(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["simulate", "--members", "10", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "not empty" in err and str(out) in err and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_simulate_rejects_bad_arguments_in_one_line(tmp_path, capsys):
    for args, message in (
        (["--members", "0"], "--members must be at least 1"),
        (["--start", "2025-02-30"], "--start: not an ISO date"),
        (["--start", "2025-02-03"], "first day of a month"),
        (["--start", "2026-06-01", "--months", "12"], "service years [2027]"),
    ):
        assert main(["simulate", *args, "--out", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "x").exists()
