"""A Ctrl-C or `kill` whose exception Python printed and dropped (it landed in a finalizer:
`tests/fixtures/processes.drop_a_stop`) still stops each long command at its next checkpoint,
not at its end: the simulator at the next simulated day, one-pass adjudication after the batch
it was writing (which a rerun resumes from), the fold at its next progress step."""

from __future__ import annotations

import pytest

from claimsim import native
from claimsim.adjudication.audit import run_dir as audit_run_dir
from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator
from claimsim.cli import main
from claimsim.events.processes import Terminated, sigterm_as_interrupt
from claimsim.simulator import model

from ..fixtures.damaged_runs import copy, entries, simulate
from ..fixtures.processes import drop_a_stop
from ..fixtures.run_dirs import ledger_bytes

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return simulate(tmp_path_factory.mktemp("dropped") / "clean")


def test_the_simulator_stops_at_the_next_day(tmp_path, monkeypatch, capsys):
    days = []

    class Bar(model.tqdm):
        def update(self, n=1):
            days.append(n)
            if len(days) == 10:
                drop_a_stop()
            return super().update(n)

    monkeypatch.setattr(model, "tqdm", Bar)
    assert main(["simulate", "--members", "150", "--months", "4", "--no-progress",
                 "--out", str(tmp_path / "run")]) == 143
    assert capsys.readouterr().err.endswith("claimsim: terminated\n")
    assert len(days) == 10  # of some 120 days (and 90 more of claims received)


@pytest.mark.skipif(native.runtimes_kind() == "native",
                    reason="patches the runtime's `_commit_encoded`, which its compiled class"
                           " calls directly (the Python sources, the suite's default, run it)")
def test_one_pass_adjudication_stops_after_its_batch_and_resumes_to_the_same_ledger(
        clean, tmp_path, monkeypatch, capsys):
    whole = copy(clean, tmp_path / "whole")
    assert main(["adjudicate", str(whole), "--no-progress", "--no-passes"]) == 0
    commits, real = [], EmbeddedAdjudicator._commit_encoded

    def commit(self, *args):
        commits.append(1)
        if len(commits) == 1:
            drop_a_stop()  # while the first batch is written: it stays written
        return real(self, *args)

    monkeypatch.setattr(EmbeddedAdjudicator, "_commit_encoded", commit)
    stopped = copy(clean, tmp_path / "stopped")
    command = ["adjudicate", str(stopped), "--no-progress", "--no-passes", "--batch", "100"]
    assert main(command) == 143
    assert commits == [1]
    assert len(entries(stopped / "ledger")) == 1 + 100  # the manifest and the first batch
    capsys.readouterr()
    assert main(command) == 0
    assert ledger_bytes(stopped) == ledger_bytes(whole)


def test_the_fold_stops_at_its_next_progress_step(clean, tmp_path, monkeypatch):
    run = copy(clean, tmp_path / "r")
    assert main(["adjudicate", str(run), "--no-progress"]) == 0
    monkeypatch.setattr(audit_run_dir, "PROGRESS_EVERY", 100)
    steps = []

    def progress(n):
        steps.append(n)
        if len(steps) == 1:
            drop_a_stop()

    with sigterm_as_interrupt():
        with pytest.raises(Terminated):
            audit_run_dir.fold(run, on_progress=progress)
    assert steps == [100]
