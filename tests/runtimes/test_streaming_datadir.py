"""Faust data directories: each worker process has its own under the temp directory and none
outlives its process: removed by the worker as it exits, or (killed with -9) by the next sweep."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from claimsim.adjudication.runtimes.streaming import datadir


@pytest.fixture
def temp(tmp_path, monkeypatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # for the workers it starts
    return tmp_path


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: no process has this pid now
    return proc.pid


def test_a_sweep_removes_the_directories_of_processes_that_are_gone_and_keeps_live_ones(temp):
    gone = datadir.for_process("claimsim-ab12", dead_pid())
    mine = datadir.for_process("claimsim-ab12")
    older = datadir.root() / "v1"  # the shared layout of earlier versions: no pid in its name
    for d in (gone / "tables", mine / "tables", older / "tables"):
        d.mkdir(parents=True)
    (gone / "tables" / "000012.sst").write_bytes(b"x" * 100)
    assert sorted(datadir.sweep()) == sorted([gone, older])
    assert not gone.exists() and not older.exists() and mine.is_dir()
    assert mine == temp / "claimsim-faust" / f"claimsim-ab12-{os.getpid()}"


def test_the_last_directory_removed_takes_the_shared_parent_with_it(temp):
    mine = datadir.for_process("p")
    (mine / "v1" / "tables").mkdir(parents=True)
    datadir.remove(mine)
    assert not datadir.root().exists()
    assert datadir.sweep() == []  # nothing there: nothing to do, no error


@pytest.mark.kafka
@pytest.mark.parametrize("how", ["stopped", "killed"])
def test_a_worker_leaves_no_data_directory_behind_stopped_or_killed(how, temp, kafka_bootstrap):
    import asyncio
    import signal

    from claimsim.adjudication.runtimes.streaming.runner import spawn_worker, stop_worker
    from claimsim.adjudication.runtimes.streaming.sink import LedgerSink
    from claimsim.adjudication.runtimes.streaming.topics import (
        RunTopics, create_topics, delete_topics, new_prefix,
    )
    from claimsim.simulator.config import SimConfig
    from claimsim.simulator.run_dir import simulate_to_dir

    run = temp / "run"
    simulate_to_dir(SimConfig(members=20, months=1, seed=3), run)
    LedgerSink(run).close()  # the manifest the worker reads
    topics = RunTopics(new_prefix("datadir"))
    asyncio.run(create_topics(kafka_bootstrap, topics, 1))
    proc, _ = spawn_worker(run, kafka_bootstrap, topics.prefix, 1, log_dir=temp)
    own = datadir.for_process(topics.prefix, proc.pid)
    try:
        deadline = time.monotonic() + 60
        while not (own / "v1").is_dir() and time.monotonic() < deadline:
            assert proc.poll() is None, "the worker stopped while starting"
            time.sleep(0.1)
        assert (own / "v1").is_dir()  # faust made its data directory there
        if how == "stopped":
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
            assert not own.exists()  # the worker removed it as it exited
        else:
            proc.kill()
            proc.wait()
            assert own.is_dir()  # -9: nothing ran in the worker
            stop_worker(proc)  # what a runner does with a worker that ended
            assert not own.exists()
        assert not datadir.root().exists()
    finally:
        stop_worker(proc)
        asyncio.run(delete_topics(kafka_bootstrap, topics))
