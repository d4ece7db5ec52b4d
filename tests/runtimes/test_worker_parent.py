"""A `claimsim worker` that `adjudicate --runtime kafka` started ends when that process ends,
even by SIGKILL (no cleanup runs there): before, it went on rebalancing for a run nobody
collected (seen alive 71 s later). No broker is needed: a worker waits for one a minute."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from ..fixtures.damaged_runs import simulated_and_paid

PARENT = """
import sys, time
from claimsim.adjudication.runtimes.streaming.runner import spawn_worker
proc, _ = spawn_worker(sys.argv[1], "127.0.0.1:1", "orphan-test", 1, log_dir=sys.argv[2])
print(proc.pid, flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_a_worker_ends_when_the_process_that_started_it_is_killed(tmp_path):
    _, run_dir = simulated_and_paid(tmp_path)  # a ledger with its manifest, as a run has
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(run_dir), str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        worker = int(parent.stdout.readline())
        time.sleep(3)  # the worker is up (importing faust, then waiting for the broker)
        assert _alive(worker)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 20
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(worker)
    finally:
        parent.kill()
        if _alive(worker):
            os.kill(worker, signal.SIGKILL)
