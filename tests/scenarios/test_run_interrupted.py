"""`claimsim run` over a folder a killed run left: refused with what state the run is in and how
to continue (`--resume`) or start over; `--resume` finishes it into the very ledger an
uninterrupted run writes. Small practices below their program's minimum volume are named in the
summary. The Kafka runtime has no silent broker default and checks its broker before simulating."""

from __future__ import annotations

import csv
import signal
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from claimsim.cli import main
from claimsim.scenarios.run import NAMED_PER_PROGRAM, minimum_volume_warning

from ..fixtures.damaged_runs import RUN_ARGS, copy, cut_log, entries, run
from ..fixtures.processes import CLAIMSIM_WITH_SIGINT, assert_interrupted, children
from ..fixtures.run_dirs import ledger_bytes


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    return run(tmp_path_factory.mktemp("interrupted") / "r")


def test_rerun_over_a_killed_run_says_it_is_incomplete_and_how_to_go_on(whole, tmp_path, capsys):
    half = copy(whole, tmp_path / "half", skip=("projections", "reports"))
    cut_log(half / "ledger", len(entries(whole / "ledger")) // 2)
    assert main(["run", *RUN_ARGS, "--seed", "7", "--out", str(half)]) == 2
    err = capsys.readouterr().err
    assert "incomplete run" in err and "--resume" in err
    assert "directory is not empty" not in err


def test_run_over_a_simulate_folder_says_resume_cannot_continue_it(tmp_path, capsys):
    """A `claimsim simulate` folder is an incomplete run of another scenario: `run` says so and
    points to `adjudicate` or a new --out, instead of to --resume (which then refused it)."""
    sim = tmp_path / "sim"
    assert main(["simulate", "--members", "60", "--months", "2", "--out", str(sim),
                 "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["run", *RUN_ARGS, "--seed", "7", "--out", str(sim)]) == 2
    err = capsys.readouterr().err
    assert "incomplete run of another scenario (simulated, not yet paid; differs in" in err
    assert "`claimsim adjudicate`" in err and "--resume" not in err


def test_resume_finishes_a_killed_run_into_the_uninterrupted_ledger(whole, tmp_path, capsys):
    half = copy(whole, tmp_path / "half", skip=("projections", "reports"))
    cut_log(half / "ledger", len(entries(whole / "ledger")) // 2)
    assert main(["run", *RUN_ARGS, "--seed", "7", "--out", str(half), "--resume"]) == 0
    assert ledger_bytes(half) == ledger_bytes(whole)
    assert "all reconcile" in capsys.readouterr().out
    assert main(["audit", "verify", str(half)]) == 0


def test_resume_clears_the_working_files_a_run_killed_while_paying_leaves(whole, tmp_path, capsys):
    """A run killed while paying leaves the embedded runtime's scratch family store (and, on
    Kafka, its topics and sink position files): `--resume` knows them as the run's own, and
    removes them with the partial ledger before paying again."""
    half = copy(whole, tmp_path / "half", skip=("projections", "reports"))
    cut_log(half / "ledger", len(entries(whole / "ledger")) // 2)
    (half / ".family-state").mkdir()
    (half / ".family-state" / "000001.sst").write_bytes(b"scratch")
    (half / ".kafka-run.json").write_text("{}")
    assert main(["run", *RUN_ARGS, "--seed", "7", "--out", str(half)]) == 2
    assert "incomplete run" in capsys.readouterr().err
    assert main(["run", *RUN_ARGS, "--seed", "7", "--out", str(half), "--resume"]) == 0
    assert ledger_bytes(half) == ledger_bytes(whole)
    assert not (half / ".kafka-run.json").exists()


def test_the_payment_working_files_are_named_as_their_runtimes_name_them():
    from claimsim.adjudication.runtimes.family_storage import STATE_DIR
    from claimsim.adjudication.runtimes.streaming.resume import RunState as TopicsFile
    from claimsim.adjudication.runtimes.streaming.runner import WORKER_LOGS
    from claimsim.adjudication.runtimes.streaming.sink import ResumePoint
    from claimsim.events.files import PART_SUFFIX
    from claimsim.scenarios.run_state import PAY_WORK

    parts = [f + PART_SUFFIX for f in (TopicsFile.FILE, ResumePoint.FILE)]
    assert set(PAY_WORK) == {STATE_DIR, TopicsFile.FILE, ResumePoint.FILE, WORKER_LOGS, *parts}


def test_resume_redoes_a_simulation_that_was_killed(whole, tmp_path, capsys):
    partial = copy(whole, tmp_path / "sim", skip=("run.json", "ledger", "projections", "reports",
                                                    "runclock.json", "scenario.json"))
    cut_log(partial / "input", 100)
    assert main(["run", *RUN_ARGS, "--seed", "7", "--out", str(partial)]) == 2
    assert "simulation did not finish" in capsys.readouterr().err
    assert main(["run", *RUN_ARGS, "--seed", "7", "--out", str(partial), "--resume"]) == 0
    assert ledger_bytes(partial) == ledger_bytes(whole)


def test_resume_refuses_a_run_of_another_scenario(whole, tmp_path, capsys):
    half = copy(whole, tmp_path / "half", skip=("projections", "reports"))
    cut_log(half / "ledger", 50)
    assert main(["run", *RUN_ARGS, "--seed", "8", "--out", str(half), "--resume"]) == 2
    assert "seed" in capsys.readouterr().err


def test_practices_below_minimum_volume_are_named_in_the_summary_and_reports(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", "--members", "300", "--months", "6", "--seed", "7", "--no-progress",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "below minimum volume" in text and "minimum_attributed" in text
    with open(out / "reports" / "practices.csv") as f:
        rows = list(csv.DictReader(f))
    below = [r for r in rows if int(r["epochs_below_minimum"]) > 0]
    assert below and all(r["program"] != "ffs" for r in below)
    for program in {r["program"] for r in below}:
        ids = sorted({r["practice_id"] for r in below if r["program"] == program})
        assert all(p in text for p in ids[:NAMED_PER_PROGRAM])
        if len(ids) > NAMED_PER_PROGRAM:
            assert f"and {len(ids) - NAMED_PER_PROGRAM:,} more ({len(ids):,} practices)" in text


def test_the_minimum_volume_warning_names_a_few_practices_a_program_and_counts_the_rest():
    """A million-member region had some 800 practices below minimum (small Medicaid panels): the
    warning named every one, a screenful. It names six a program and counts the rest."""
    rows = [{"program": "pcf", "practice_id": f"PC{i:03d}", "epochs_below_minimum": 1 + i % 2}
            for i in range(1, 101)] + [
        {"program": "mcp_t1", "practice_id": "PC900", "epochs_below_minimum": 2},
        {"program": "mcp_t1", "practice_id": "PC901", "epochs_below_minimum": 0}]
    contracts = [SimpleNamespace(program=SimpleNamespace(kind=SimpleNamespace(value=kind),
                                                         minimum_attributed=125))
                 for kind in ("pcf", "mcp_t1")]
    state = SimpleNamespace(reference=SimpleNamespace(contracts=contracts))
    text = minimum_volume_warning(rows, state)
    assert ("mcp_t1 (minimum 125): PC900 (2 epochs); pcf (minimum 125): PC001 (2 epochs),"
            " PC002 (1 epoch), PC003 (2 epochs), PC004 (1 epoch), PC005 (2 epochs), PC006 (1 epoch)"
            " and 94 more (100 practices). The setting") in text
    assert "PC007" not in text and "PC901" not in text
    assert minimum_volume_warning(rows[-1:], state) is None


def test_kafka_run_with_no_broker_configured_fails_in_one_line_before_simulating(tmp_path, capsys,
                                                                                   monkeypatch):
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    out = tmp_path / "k"
    assert main(["run", *RUN_ARGS, "--out", str(out), "--runtime", "kafka"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "KAFKA_BOOTSTRAP_SERVERS" in err[-1] and "--bootstrap" in err[-1]
    assert not (out / "input").exists()


def test_kafka_run_with_an_unreachable_broker_fails_before_simulating(tmp_path, capsys):
    out = tmp_path / "k"
    assert main(["run", *RUN_ARGS, "--out", str(out), "--runtime", "kafka",
                 "--bootstrap", "127.0.0.1:1"]) == 2
    assert "127.0.0.1:1" in capsys.readouterr().err
    assert not (out / "input").exists()


@pytest.mark.parametrize("argv", [["adjudicate", "RUN", "--runtime", "kafka"], ["worker", "RUN", "--prefix", "p"]])
def test_kafka_commands_with_no_broker_configured_say_how_to_set_one(argv, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    run_dir = tmp_path / "RUN"
    run_dir.mkdir()
    assert main([a if a != "RUN" else str(run_dir) for a in argv]) == 2
    err = capsys.readouterr().err
    assert "KAFKA_BOOTSTRAP_SERVERS" in err and "--bootstrap" in err


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_a_stop_while_the_child_simulates_ends_both_at_once(tmp_path, sig):
    """`claimsim run` simulates in a forked child: Ctrl-C or `kill` of the command ends it and
    the child at once (exit 130 or 143), not once the simulation is done (a million members'
    takes a minute and a half)."""
    out = tmp_path / "big"
    proc = subprocess.Popen([*CLAIMSIM_WITH_SIGINT, "run", "--members", "1000000", "--out",
                             str(out), "--no-progress"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline, kids = time.monotonic() + 60, []
    while not kids and time.monotonic() < deadline and proc.poll() is None:
        kids = children(proc.pid)  # the simulation's child
        time.sleep(0.05)
    assert kids, "the simulation never started in a child"
    time.sleep(1)
    began = time.monotonic()
    assert_interrupted(proc, kids, sig)
    assert time.monotonic() - began < 30


def _stopped_while_reporting(out: Path, monkeypatch) -> Path:
    """A `run` into `out` stopped (Ctrl-C) after its payment and some report files (the practice
    tables, the aligned tables), before the HTML report."""
    from claimsim.scenarios import html_report

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(html_report, "run_report", stopped)
        assert main(["run", *RUN_ARGS, "--seed", "7", "--out", str(out)]) == 130
    return out


def _written(directory: Path) -> dict[str, tuple[int, int]]:
    """Each file's (inode, mtime in ns): what a rewrite, even of the same bytes, changes."""
    return {str(p.relative_to(directory)): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in sorted(directory.rglob("*")) if p.is_file()}


def test_a_run_stopped_while_it_reports_is_resumed_not_taken_as_finished(whole, tmp_path,
                                                                         monkeypatch, capsys):
    """The folder is a paid run whose reports were not written, never a finished one (checks.csv
    comes last). `--resume` writes only the reports: from the ledger folded again, nothing paid
    again (the ledger, the checkpoint and the practice lists written while paying are not
    touched), and they are the uninterrupted run's, file for file and byte for byte."""
    out = _stopped_while_reporting(tmp_path / "stopped", monkeypatch)
    assert (out / "reports" / "practices.csv").exists()
    assert not (out / "reports" / "checks.csv").exists()
    assert not list((out / "reports").glob("*.part"))
    capsys.readouterr()
    assert main(["run", *RUN_ARGS, "--seed", "7", "--out", str(out)]) == 2
    assert "the reports were not written" in capsys.readouterr().err
    paid = {**_written(out / "ledger"), **_written(out / "projections")}
    lists = {p.name: p.stat().st_mtime_ns for p in (out / "reports").glob("attribution_[0-9]*.csv")}
    assert lists, "the run clock writes each boundary's practice list while it pays"
    (out / "reports" / "practices.csv.part").write_bytes(b"half a table")  # a kill before a rename
    assert main(["run", *RUN_ARGS, "--seed", "7", "--out", str(out), "--resume"]) == 0
    captured = capsys.readouterr()
    assert "paid in full; writing its reports from the ledger" in captured.err
    assert "all reconcile" in captured.out
    assert {**_written(out / "ledger"), **_written(out / "projections")} == paid
    assert {p.name: p.stat().st_mtime_ns for p in (out / "reports").glob("attribution_[0-9]*.csv")} == lists
    assert ledger_bytes(out) == ledger_bytes(whole)
    names = sorted(p.name for p in (whole / "reports").iterdir())
    assert sorted(p.name for p in (out / "reports").iterdir()) == names
    for name in names:
        if not name.endswith((".png", ".parquet")):  # their bytes carry a library's metadata
            assert (out / "reports" / name).read_bytes() == (whole / "reports" / name).read_bytes(), name
    assert main(["audit", "verify", str(out)]) == 0


def _stopped_while_checkpointing(out: Path, monkeypatch) -> Path:
    """A `run` into `out` killed while it wrote its payer-state checkpoint (after the ledger's
    last entry): half the checkpoint's bytes in its part file, as a kill leaves them."""
    from claimsim.scenarios import runclock

    def killed(run_dir, state, last_seq, last_hash):
        part = run_dir / runclock.CHECKPOINT
        part = part.with_name(part.name + ".part")
        part.write_bytes(b'{"last_hash":"' + last_hash.encode() + b'","last_seq":')
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(runclock, "save_checkpoint", killed)
        assert main(["run", *RUN_ARGS, "--seed", "7", "--out", str(out)]) == 130
    return out


@pytest.mark.parametrize("stopped_in", ["reports", "checkpoint"])
def test_a_paid_run_whose_checkpoint_or_mark_is_not_the_ledgers_end_is_paid_again(
        whole, tmp_path, monkeypatch, capsys, stopped_in):
    """A checkpoint, or the paid mark of a run stopped while writing it, that does not name the
    ledger's last entry (a ledger cut or extended after it) proves no finished payment:
    `--resume` pays again from the input, into the uninterrupted run's ledger."""
    from claimsim.scenarios.run_state import PAID_MARK

    stop = _stopped_while_reporting if stopped_in == "reports" else _stopped_while_checkpointing
    out = stop(tmp_path / "stopped", monkeypatch)
    cut_log(out / "ledger", len(entries(whole / "ledger")) - 1)
    capsys.readouterr()
    assert main(["run", *RUN_ARGS, "--seed", "7", "--out", str(out), "--resume"]) == 0
    err = capsys.readouterr().err
    assert "paid in full" not in err and "simulation kept, paying again" in err
    assert ledger_bytes(out) == ledger_bytes(whole)
    assert not (out / PAID_MARK).exists()
    assert (out / "reports" / "checks.csv").read_bytes() == (whole / "reports" / "checks.csv").read_bytes()
    assert main(["audit", "verify", str(out)]) == 0


@pytest.mark.parametrize("left", ["no checkpoint", "a stale checkpoint"])
def test_a_run_stopped_while_it_writes_its_checkpoint_keeps_its_payment(whole, tmp_path,
                                                                       monkeypatch, capsys, left):
    """The ledger is whole once the paid mark (`run_state.PAID_MARK`) names its last entry:
    `--resume` pays nothing again, writes the checkpoint from the ledger's fold (the bytes the
    payment would have written) and then the reports, and removes the mark and the part. A
    checkpoint beside the mark that names another entry (a folder edited since) is not the
    payment's: it is written again, as a missing one is."""
    from claimsim.scenarios.run_state import CHECKPOINT, PAID_MARK

    assert not (whole / PAID_MARK).exists(), "a finished payment removes its mark"
    out = _stopped_while_checkpointing(tmp_path / "stopped", monkeypatch)
    assert (out / PAID_MARK).is_file() and not (out / CHECKPOINT).exists()
    if left == "a stale checkpoint":  # the payment's, but naming the entry before the last
        last_seq = len(entries(whole / "ledger")) - 1
        stale = (whole / CHECKPOINT).read_bytes().replace(
            b'"last_seq":%d,' % last_seq, b'"last_seq":%d,' % (last_seq - 1), 1)
        assert stale != (whole / CHECKPOINT).read_bytes()
        (out / CHECKPOINT).write_bytes(stale)
    capsys.readouterr()
    assert main(["run", *RUN_ARGS, "--seed", "7", "--out", str(out)]) == 2
    assert "paid; its checkpoint and reports were not written" in capsys.readouterr().err
    ledger = _written(out / "ledger")
    lists = {p.name: p.stat().st_mtime_ns for p in (out / "reports").glob("attribution_[0-9]*.csv")}
    assert main(["run", *RUN_ARGS, "--seed", "7", "--out", str(out), "--resume"]) == 0
    captured = capsys.readouterr()
    assert "paid in full; writing its checkpoint and its reports from the ledger" in captured.err
    assert "all reconcile" in captured.out
    assert _written(out / "ledger") == ledger
    assert {p.name: p.stat().st_mtime_ns for p in (out / "reports").glob("attribution_[0-9]*.csv")} == lists
    assert (out / CHECKPOINT).read_bytes() == (whole / CHECKPOINT).read_bytes()
    assert sorted(p.name for p in (out / "projections").iterdir()) == [CHECKPOINT.name]
    assert (out / "reports" / "checks.csv").read_bytes() == (whole / "reports" / "checks.csv").read_bytes()
    assert main(["audit", "verify", str(out)]) == 0


def test_a_reports_only_resume_shows_the_fold_and_each_report_step(whole, tmp_path, monkeypatch,
                                                                   capsys):
    """On a terminal: a bar over the ledger's fold, then one over the report steps (minutes each
    at a million members), named as they start and all counted at the end."""
    import sys

    out = _stopped_while_reporting(tmp_path / "stopped", monkeypatch)
    capsys.readouterr()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    args = [a for a in RUN_ARGS if a != "--no-progress"]
    assert main(["run", *args, "--seed", "7", "--out", str(out), "--resume"]) == 0
    err = capsys.readouterr().err
    folded = len(entries(out / "ledger"))
    assert "folding the ledger: 100%" in err and f"{folded}/{folded}" in err
    for named in ("snapshots, summary and reconciliation", "attribution.csv", "leakage.csv",
                  "attribution_accuracy.csv", "practices.csv", "checks against the ledger",
                  "aligned-payer reports", "charts and index.html", "checks.csv"):
        assert named in err, named
    assert "reports 9/9" in err


@pytest.mark.parametrize("charts_too", [True, False], ids=["charts", "no-charts"])
def test_the_report_bar_counts_every_step_it_is_told_of(whole, tmp_path, monkeypatch, charts_too):
    """The bar's total is the number of steps the reports name (it is filled at the end
    whatever it counted, so a miscount would show only as a jump): counted here."""
    from claimsim.scenarios import run as run_module
    from claimsim.scenarios.report import ReportSteps

    seen: dict[str, int] = {}

    class Counted(ReportSteps):
        def __init__(self, progress, total):
            super().__init__(progress, total)
            seen["total"], seen["calls"] = total, 0

        def __call__(self, what):
            seen["calls"] += 1
            super().__call__(what)

    monkeypatch.setattr(run_module, "ReportSteps", Counted)
    out = copy(whole, tmp_path / "r")
    (out / "reports" / "checks.csv").unlink()
    scenario = SimpleNamespace(scenario="default")  # its name titles the charts
    run_module.report_paid(scenario, out, charts_too=charts_too)
    assert seen["total"] == seen["calls"] == (9 if charts_too else 8)


def test_a_paid_run_missing_a_practice_list_is_paid_again(whole, tmp_path, monkeypatch, capsys):
    """A boundary's practice list is made while paying (that boundary's attribution run): a
    paid run that lost one cannot get it back from its reports alone, so `--resume` pays again,
    and the list is the uninterrupted run's."""
    out = _stopped_while_reporting(tmp_path / "stopped", monkeypatch)
    lists = sorted((out / "reports").glob("attribution_[0-9]*.csv"))
    lists[0].unlink()
    capsys.readouterr()
    assert main(["run", *RUN_ARGS, "--seed", "7", "--out", str(out), "--resume"]) == 0
    assert "simulation kept, paying again" in capsys.readouterr().err
    assert lists[0].read_bytes() == (whole / "reports" / lists[0].name).read_bytes()
    assert ledger_bytes(out) == ledger_bytes(whole)


def test_resuming_the_reports_of_a_kafka_run_needs_no_broker(whole, tmp_path, monkeypatch, capsys):
    """Only paying needs the broker: a paid Kafka run's reports are written without one."""
    out = _stopped_while_reporting(tmp_path / "stopped", monkeypatch)
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    capsys.readouterr()
    assert main(["run", *RUN_ARGS, "--seed", "7", "--out", str(out), "--resume",
                 "--runtime", "kafka"]) == 0
    assert "paid in full" in capsys.readouterr().err
    assert (out / "reports" / "checks.csv").read_bytes() == (whole / "reports" / "checks.csv").read_bytes()


def test_a_table_stopped_mid_write_leaves_no_file(tmp_path):
    """Both ways `write_csv` writes (rows read once, or a list read for its header first),
    stopped after a row: neither the table nor its ".part" is left."""
    from claimsim.adjudication.audit.tables import write_csv

    class Stop:
        def __str__(self):  # the csv writer formats the cell: a Ctrl-C lands here
            raise KeyboardInterrupt

    def rows():
        yield {"a": 1}
        yield {"a": Stop()}

    with pytest.raises(KeyboardInterrupt):
        write_csv(tmp_path / "t.csv", rows(), columns=["a"], only_columns=True)
    with pytest.raises(KeyboardInterrupt):
        write_csv(tmp_path / "u.csv", [{"a": 1}, {"a": Stop()}])
    assert list(tmp_path.iterdir()) == []


def test_a_chart_or_page_stopped_mid_write_leaves_no_file(tmp_path, monkeypatch):
    """A PNG chart stopped part way through its bytes, and an HTML page whose text cannot be
    written (the file already opened): neither the file nor its ".part" is left."""
    from claimsim.scenarios import charts, html_report

    fig, _ = charts.plt.subplots()

    def half(fname, **kwargs):
        Path(fname).write_bytes(b"\x89PNG half a chart")
        raise KeyboardInterrupt

    monkeypatch.setattr(fig, "savefig", half)
    with pytest.raises(KeyboardInterrupt):
        charts._save(fig, tmp_path / "chart.png")
    with pytest.raises(UnicodeEncodeError):
        html_report.write(tmp_path / "index.html", "<p>half a page \ud800</p>")
    assert list(tmp_path.iterdir()) == []
