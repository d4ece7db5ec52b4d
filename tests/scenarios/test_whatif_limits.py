"""`claimsim whatif` says how much work it is before starting, refuses absurd sizes without
`--yes`, stops on SIGINT, and leaves no pool process behind when its parent is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from claimsim.cli import main

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


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


# `python -m claimsim`, with Python's SIGINT handler installed whatever SIGINT's disposition was
# when the test run started: a process started in the background by a shell without job control
# (`cmd &` in a script, under nohup) inherits SIGINT ignored, and Python then installs no handler,
# so the SIGINT below would be lost and the sweep run to its end.
CLAIMSIM_WITH_SIGINT = [sys.executable, "-c", "import runpy, signal;"
                        " signal.signal(signal.SIGINT, signal.default_int_handler);"
                        " runpy.run_module('claimsim', run_name='__main__', alter_sys=True)"]


def _start(tmp_path):
    proc = subprocess.Popen(
        [*CLAIMSIM_WITH_SIGINT, "whatif", "demo", "--vary",
         "programs.cpcplus_t2.hybrid_bp=0,2500,4000,6500", "--replicates", "4", "--jobs", "2",
         "--members", "3000", "--months", "12", "--no-progress", "--out", str(tmp_path / "w")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        kids = _children(proc.pid)
        if len(kids) >= 2:
            return proc, kids
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("the pool never started")


def _wait_gone(pids, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.2)
    return [p for p in pids if _alive(p)]


def test_sigint_stops_the_sweep_and_its_pool(tmp_path):
    proc, kids = _start(tmp_path)
    os.kill(proc.pid, signal.SIGINT)
    try:
        code = proc.wait(timeout=60)
    finally:
        proc.kill()
    assert code == 130, proc.stderr.read().decode()[-2000:]
    assert _wait_gone(kids, 30) == []


def test_no_orphans_after_the_parent_is_killed(tmp_path):
    proc, kids = _start(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    left = _wait_gone(kids, 30)
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert left == []
