"""`claimsim run SCENARIO --history RUN_DIR` and `claimsim whatif ... --history RUN_DIR` on an
ingested run: the scenario's programs pay last year's claims on the run clock, the reports
reconcile with the ledger like a simulated run's, and what needs the simulator's truth says it is
not available for ingested runs."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from claimsim.scenarios.tuva_sample import write_tuva_sample

from ..fixtures.ingest import claimsim


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("history-cli")
    claims, eligibility = write_tuva_sample(tmp, 6000, tins=6)
    run = tmp / "ingested"
    assert claimsim("ingest", "--format", "tuva", claims, eligibility, "--out", run,
                    "--no-progress") == 0
    return run


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_run_pcf_on_history_reconciles_and_says_truth_is_not_available(history, tmp_path, capsys):
    out = tmp_path / "pcf"
    assert claimsim("run", "pcf", "--history", history, "--out", out, "--minimum-attributed", "10",
                    "--no-progress") == 0
    printed = capsys.readouterr().out
    assert "checks against the ledger: all reconcile" in printed
    assert "not available for ingested runs" in printed
    assert {r["ok"] for r in _csv(out / "reports" / "checks.csv")} == {"True"}
    rows = _csv(out / "reports" / "practices.csv")
    pcf = [r for r in rows if r["program"] == "pcf" and int(r["member_months"]) >= 100]
    assert pcf and all(int(r["prospective_cents"]) > 0 for r in pcf)
    assert {r["leakage_cost_true_cents"] for r in rows} == {""}  # not available: empty, never 0
    assert not (out / "truth").exists()
    assert not (out / "reports" / "attribution_accuracy.csv").exists()


def test_history_runs_refuse_flags_that_shape_a_simulation(history, tmp_path, capsys):
    assert claimsim("run", "pcf", "--history", history, "--members", "10", "--out",
                    tmp_path / "x") == 2
    assert "--members does not apply with --history" in capsys.readouterr().err


def test_whatif_on_history_compares_the_leakage_adjustment_on_the_same_claims(history, tmp_path,
                                                                              capsys):
    out = tmp_path / "whatif"
    assert claimsim("whatif", "pcf", "--history", history, "--vary",
                    "programs.pcf.leakage_adjustment=false,true", "--vary",
                    "programs.pcf.minimum_attributed=10", "--out", out, "--jobs", "1",
                    "--no-progress") == 0
    rows = {(r["region.programs.pcf.leakage_adjustment"], r["group"]): r
            for r in _csv(out / "whatif.csv")}
    off, on = rows[("False", "pcf")], rows[("True", "pcf")]
    # the same claims both times: FFS is unchanged; the leakage adjustment only lowers PBP
    assert float(on["ffs_paid_cents"]) == float(off["ffs_paid_cents"])
    assert float(on["prospective_cents"]) < float(off["prospective_cents"])
    assert on["leakage_cost_true_cents"] == "" and "n/a" in capsys.readouterr().out


def test_observed_risk_and_attributed_counts_need_no_truth(history, tmp_path):
    out = tmp_path / "cpc"
    assert claimsim("run", "cpcplus", "--history", history, "--out", out, "--minimum-attributed",
                    "10", "--no-progress") == 0
    rows = [r for r in _csv(out / "reports" / "practices.csv") if r["practice_kind"] == "primary_care"]
    assert sum(int(r["attributed"]) for r in rows) > 0
    assert all(int(r["risk_observed_milli"]) > 0 for r in rows if int(r["attributed"]))
    assert {r["risk_true_milli"] for r in rows} == {""}
    # CPC+ Track 2 withholds 40 % of capitated FFS for attributed members: offsets appear
    assert sum(int(r["capitation_offset_cents"]) for r in rows if r["program"] == "cpcplus_t2") > 0


def test_whatif_on_history_sizes_the_sweep_by_the_history_not_the_scenario(history, tmp_path,
                                                                           capsys):
    """Every point pays the history's claims, so the printed size (and the limit that needs
    `--yes`) counts the history's members and months, not the scenario's 9,000 x 12. 1,001
    points are past the 1,000-run limit: refused before anything runs."""
    info = json.loads((history / "run.json").read_text())
    per_run = info["ingest"]["members"] * info["months"]
    values = ",".join(str(n) for n in range(1001))
    assert claimsim("whatif", "pcf", "--history", history, "--vary",
                    f"programs.pcf.minimum_attributed={values}", "--out", tmp_path / "w") == 2
    err = capsys.readouterr().err
    assert f"about {per_run * 1001:,} member-months" in err
    assert f"1,001 runs, {per_run * 1001:,} member-months: past the limits" in err
    assert not (tmp_path / "w").exists()


def test_whatif_on_history_names_the_history_it_re_paid_not_seeds(history, tmp_path, capsys):
    """A history sweep draws nothing at random: its table and its page say which history every
    point re-paid and how many members it holds, not the scenario's unused seed ('seeds
    21..21')."""
    info = json.loads((history / "run.json").read_text())
    out = tmp_path / "w"
    assert claimsim("whatif", "pcf", "--history", history, "--vary",
                    "programs.pcf.minimum_attributed=10", "--out", out, "--jobs", "1",
                    "--no-progress") == 0
    printed = capsys.readouterr().out
    source = (f"each re-paying the history {history} ({info['ingest']['members']:,} members,"
              f" {info['months']} months)")
    assert source in printed.splitlines()[0]
    page = (out / "index.html").read_text()
    assert source in page
    for text in (printed, page):
        assert not re.search(r"seeds \d", text) and "replicate(s)" not in text
    rows = list(csv.DictReader((out / "replicates.csv").open()))
    assert rows and all(row["seed"] == "" for row in rows)  # nothing was drawn


def test_a_history_run_is_known_as_one_finished_or_stopped_and_resumes(history, tmp_path,
                                                                      monkeypatch, capsys):
    """A finished history run is refused as finished (not as a simulation that stopped); one
    stopped while paying is refused as incomplete, and `--resume --history` pays it again into
    the ledger an uninterrupted one writes; `--resume` without `--history` is refused by name."""
    from claimsim.adjudication.projections.follower import LedgerFollower

    args = ("run", "pcf", "--history", history, "--minimum-attributed", "10", "--no-progress")
    done = tmp_path / "done"
    assert claimsim(*args, "--out", done) == 0
    capsys.readouterr()
    assert claimsim(*args, "--out", done) == 2
    assert "already holds a finished run" in capsys.readouterr().err

    stopped = tmp_path / "stopped"
    real, calls = LedgerFollower.apply, []

    def stop_part_way(self, env):  # Ctrl-C while the ledger is folded, part way through paying
        calls.append(1)
        if len(calls) == 2000:
            raise KeyboardInterrupt
        return real(self, env)

    with monkeypatch.context() as m:
        m.setattr(LedgerFollower, "apply", stop_part_way)
        assert claimsim(*args, "--out", stopped) == 130
    capsys.readouterr()
    assert claimsim(*args, "--out", stopped) == 2
    assert "holds an incomplete run" in capsys.readouterr().err
    assert claimsim("run", "pcf", "--minimum-attributed", "10", "--no-progress", "--out", stopped,
                    "--resume") == 2
    assert "--resume continues it with --history" in capsys.readouterr().err
    assert claimsim(*args, "--out", stopped, "--resume") == 0
    for name in ("ledger", "reports"):
        for path in sorted((done / name).iterdir()):
            assert (stopped / name / path.name).read_bytes() == path.read_bytes(), path.name


def test_a_history_run_stopped_in_its_reports_resumes_with_the_reports_alone(history, tmp_path,
                                                                            monkeypatch, capsys):
    """Stopped after paying the history, while writing its reports: `--resume --history` writes
    the reports alone (the ledger kept as it is), those an uninterrupted history run writes."""
    from claimsim.scenarios import html_report

    args = ("run", "pcf", "--history", history, "--minimum-attributed", "10", "--no-progress")
    done, stopped = tmp_path / "done", tmp_path / "stopped"
    assert claimsim(*args, "--out", done) == 0

    def stop(*a, **k):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(html_report, "run_report", stop)
        assert claimsim(*args, "--out", stopped) == 130
    ledger = {p.name: p.stat().st_mtime_ns for p in (stopped / "ledger").iterdir()}
    capsys.readouterr()
    assert claimsim(*args, "--out", stopped, "--resume") == 0
    assert "paid in full; writing its reports from the ledger" in capsys.readouterr().err
    assert {p.name: p.stat().st_mtime_ns for p in (stopped / "ledger").iterdir()} == ledger
    for name in ("ledger", "reports"):
        for path in sorted((done / name).iterdir()):
            assert (stopped / name / path.name).read_bytes() == path.read_bytes(), path.name
