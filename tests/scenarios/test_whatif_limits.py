"""`claimsim whatif` says how much work it is before starting, refuses absurd sizes without
`--yes`, stops on SIGINT or SIGTERM, and leaves no pool process behind when its parent is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

import claimsim.scenarios.whatif as whatif
from claimsim.cli import main

from ..fixtures.processes import (CLAIMSIM_WITH_SIGINT, assert_interrupted, children, drop_a_stop,
                                  wait_gone)

BIG = ["whatif", "demo", "--vary", "programs.cpcplus_t2.hybrid_bp=0,4000"]


def test_absurd_sweep_is_refused_without_yes(tmp_path, capsys):
    began = time.monotonic()
    assert main([*BIG, "--replicates", "1000000", "--out", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err
    assert "2,000,000 runs" in err and "--yes" in err
    assert time.monotonic() - began < 30 and not (tmp_path / "w" / "runs").exists()


def test_the_work_is_estimated_before_it_starts(tmp_path, capsys):
    assert main(["whatif", "demo", "--vary", "programs.cpcplus_t2.hybrid_bp=0,4000", "--members", "100",
                 "--months", "3", "--no-progress", "--out", str(tmp_path / "w")]) == 0
    err = capsys.readouterr().err
    assert "2 runs" in err and "member-months" in err


def test_the_default_jobs_are_the_cpus_the_process_may_use(tmp_path, monkeypatch, capsys):
    """Under `taskset -c 0` (or a container's CPU set) on a many-core machine, one run at a time:
    more workers would only take turns. `--jobs` still sets it."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    pools, real = [], whatif.ProcessPoolExecutor

    def pool(max_workers, **kwargs):
        pools.append(max_workers)
        return real(max_workers, **kwargs)

    monkeypatch.setattr(whatif, "ProcessPoolExecutor", pool)
    command = [*BIG, "--members", "100", "--months", "3", "--no-progress"]
    assert main([*command, "--out", str(tmp_path / "a")]) == 0
    assert "2 runs" in (err := capsys.readouterr().err) and "on 1 process(es)" in err
    assert main([*command, "--jobs", "2", "--out", str(tmp_path / "b")]) == 0
    assert "on 2 process(es)" in capsys.readouterr().err
    assert pools == [1, 2]


def _start(tmp_path):
    proc = subprocess.Popen(
        [*CLAIMSIM_WITH_SIGINT, "whatif", "demo", "--vary",
         "programs.cpcplus_t2.hybrid_bp=0,2500,4000,6500", "--replicates", "4", "--jobs", "2",
         "--members", "3000", "--months", "12", "--no-progress", "--out", str(tmp_path / "w")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        kids = children(proc.pid)
        if len(kids) >= 2:
            return proc, kids
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("the pool never started")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_a_stop_ends_the_sweep_and_its_pool(tmp_path, sig):
    proc, kids = _start(tmp_path)
    assert_interrupted(proc, kids, sig)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_kill_python_dropped_in_a_finalizer_still_stops_the_sweep(tmp_path, monkeypatch,
                                                                      capsys):
    """A SIGTERM landing in a finalizer (the pool's, as a run's result comes back) is printed
    and dropped by Python: the sweep went on to the end. The checkpoint after each run raises
    it: exit 143, the pool stopped, no table written."""
    real = whatif.as_completed

    def dropping(futures):
        for future in real(futures):
            drop_a_stop()
            yield future

    monkeypatch.setattr(whatif, "as_completed", dropping)
    out = tmp_path / "w"
    assert main([*BIG, "--replicates", "2", "--jobs", "1", "--members", "100", "--months", "3",
                 "--no-progress", "--out", str(out)]) == 143
    assert capsys.readouterr().err.endswith("claimsim: terminated\n")
    assert not (out / "whatif.csv").exists()


def test_no_orphans_after_the_parent_is_killed(tmp_path):
    proc, kids = _start(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    left = wait_gone(kids, 30)
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert left == []


@pytest.mark.slow
def test_a_killed_sweep_goes_on_with_resume(tmp_path, capsys):
    """`kill` once the first run has finished, then the same command with `--resume`: exit 0, the
    finished runs kept (their reports untouched), every table written."""
    from claimsim.scenarios.whatif_resume import METRICS_FILE

    out = tmp_path / "w"
    command = ["whatif", "demo", "--vary", "programs.cpcplus_t2.hybrid_bp=0,4000,6500",
               "--replicates", "2", "--jobs", "2", "--members", "1500", "--months", "6",
               "--no-progress", "--out", str(out)]
    proc = subprocess.Popen([*CLAIMSIM_WITH_SIGINT, *command], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline, finished = time.monotonic() + 120, []
    while not finished and time.monotonic() < deadline and proc.poll() is None:
        finished = list(out.glob(f"runs/*/{METRICS_FILE}"))
        time.sleep(0.1)
    assert finished and proc.poll() is None, "no run finished before the sweep ended"
    assert_interrupted(proc, children(proc.pid), signal.SIGTERM)
    kept = {p.parent.name: (p.parent / "reports" / "practices.csv").stat().st_mtime_ns
            for p in out.glob(f"runs/*/{METRICS_FILE}")}
    assert not (out / "whatif.csv").exists() and len(kept) < 6
    assert main([*command, "--resume"]) == 0
    assert "6 runs" in capsys.readouterr().out
    assert len(list(out.glob(f"runs/*/{METRICS_FILE}"))) == 6
    for name, mtime in kept.items():
        assert (out / "runs" / name / "reports" / "practices.csv").stat().st_mtime_ns == mtime
    assert (out / "whatif.csv").exists() and (out / "index.html").exists()
