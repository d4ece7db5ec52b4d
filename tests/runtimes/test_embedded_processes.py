"""The embedded runtime over N worker processes (`--processes N`): the same ledger bytes as one
process for any N, epoch facts included, across a reopen, and whichever worker a family lands on.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator
from claimsim.adjudication.runtimes.family_storage import STATE_DIR, worker_store_path
from claimsim.adjudication.runtimes.parallel import family_of, partition_of
from claimsim.cli import main
from claimsim.events.errors import UserError
from claimsim.events.log import read
from claimsim.scenarios.synthetic import attribution_events, write_synthetic_run

from ..fixtures.run_dirs import fresh_copy, ledger_bytes

BOUNDARIES = ("2025-04-01", "2025-07-01", None)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """800 synthetic claims (replacements, voids, duplicates and malformed claims among them),
    attribution from April, and the one-process ledger of the run clock's pattern."""
    root = tmp_path_factory.mktemp("processes")
    run = root / "run"
    run.mkdir()
    facts = write_synthetic_run(run, 800, seed=5)
    attribution = [dict(e, data=dict(e["data"], effective="2025-04-01"))
                   for e in attribution_events(facts["members"], share=0.8)]
    one = _epochs(fresh_copy(run, root / "one"), attribution, processes=1)
    return run, attribution, one


def _epochs(run_dir: Path, attribution: list[dict], *, processes: int, reopen: bool = False,
            cache_families: int | None = None, seen: Callable[[Path], None] = lambda _: None
            ) -> Path:
    """Adjudicate to each boundary, recording attribution at the first (as the run clock does);
    `seen(run_dir)` after each boundary's run."""
    def opened():
        return EmbeddedAdjudicator(run_dir, processes=processes, cache_families=cache_families)

    rt = opened()
    try:
        for i, boundary in enumerate(BOUNDARIES):
            rt.run(until_at=boundary)
            seen(run_dir)
            if i == 0:
                rt.record([dict(e, data=dict(e["data"])) for e in attribution])
            if reopen:
                rt.close()
                rt = opened()
    finally:
        rt.close()
    return run_dir


def test_the_fixture_exercises_what_the_ledger_must_keep(synthetic):
    """Voids, replacements, rejections and capitation offsets (from the attribution recorded
    mid-run) are all in the one-process ledger the other tests compare against."""
    _, _, one = synthetic
    ledger = list(read(one / "ledger"))
    kinds = Counter(e["type"] for e in ledger)
    assert kinds["claim.reversed"] > 0 and kinds["claim.rejected"] > 0
    assert kinds["attribution.assigned"] > 0
    replacements = [e for e in ledger if e["type"] == "claim.adjudicated" and e["data"]["reversed_lines"]]
    assert replacements
    offsets = [ln["cap_offset"] for e in ledger if e["type"] == "claim.adjudicated"
               for ln in e["data"]["lines"]]
    assert sum(1 for o in offsets if o > 0) > 10


@pytest.mark.parametrize("processes", [2, 3])
def test_n_processes_write_the_one_process_ledger_byte_for_byte(synthetic, tmp_path, processes):
    run, attribution, one = synthetic
    many = _epochs(fresh_copy(run, tmp_path / "many"), attribution, processes=processes)
    assert ledger_bytes(many) == ledger_bytes(one)


@pytest.mark.parametrize("processes,reopen", [(2, False), (3, False), (2, True)])
def test_n_processes_over_their_own_disk_stores_write_the_one_process_ledger(
        synthetic, tmp_path, processes, reopen):
    """A bounded cache (8 families; the 800 claims' families do not fit) with N processes: each
    worker keeps its share (8 // N) decoded over a scratch store of its own while it runs, the
    parent's store handed over and gone; reopened at each boundary, the parent's rebuilt states
    go to the workers that own them. The same bytes as one process keeping every family."""
    run, attribution, one = synthetic
    stores = []

    def seen(run_dir):
        stores.append(sorted(p.name for p in run_dir.iterdir() if p.name.startswith(STATE_DIR)))

    many = _epochs(fresh_copy(run, tmp_path / "many"), attribution, processes=processes,
                   cache_families=8, reopen=reopen, seen=seen)
    assert ledger_bytes(many) == ledger_bytes(one)
    assert stores == [[worker_store_path(many, i).name for i in range(processes)]] * 3
    assert not [p for p in many.iterdir() if p.name.startswith(STATE_DIR)]  # removed on close


def test_a_workers_store_left_by_a_killed_run_is_removed_on_open(synthetic, tmp_path):
    run, _, _ = synthetic
    target = fresh_copy(run, tmp_path / "r")
    left = worker_store_path(target, 1)
    left.mkdir()
    (left / "000001.sst").write_bytes(b"scratch")
    with EmbeddedAdjudicator(target):
        assert not left.exists()


def test_store_keys_go_with_their_family():
    """A family's state, claim records and results go to the worker its inputs go to (the
    subscriber id's `partition_of`); the partition's own keys to every worker."""
    keys = (b"f:F000123", b"c:F000123/CLM-9", b"r:F000123/000000000042")
    assert [family_of(key) for key in keys] == [b"F000123"] * 3
    assert family_of(b"e:0/000000000007") is None and family_of(b"p:0") is None
    assert family_of(b"h:0") is None


def test_reopening_with_processes_resumes_the_same_ledger(synthetic, tmp_path):
    """Closed and reopened at every boundary (the parent replays the ledger, then forks the
    workers with the rebuilt states), switching from 1 to 2 processes on the way."""
    run, attribution, one = synthetic
    target = fresh_copy(run, tmp_path / "r")
    with EmbeddedAdjudicator(target) as rt:
        rt.run(until_at=BOUNDARIES[0])
        rt.record([dict(e, data=dict(e["data"])) for e in attribution])
    for boundary in BOUNDARIES[1:]:
        with EmbeddedAdjudicator(target, processes=2) as rt:
            rt.run(until_at=boundary)
    assert ledger_bytes(target) == ledger_bytes(one)


def test_families_spread_over_every_worker_and_stay_put():
    keys = [f"F{i:06d}" for i in range(300)]
    owners = [partition_of(k, 3) for k in keys]
    assert set(owners) == {0, 1, 2}
    assert min(owners.count(i) for i in range(3)) > 60  # roughly even: 100 each expected
    assert owners == [partition_of(k, 3) for k in keys]  # no per-process salt (unlike hash())
    assert partition_of("F000000", 1) == 0


def test_cli_processes_gives_the_same_ledger_and_summary(synthetic, tmp_path, capsys):
    run, _, _ = synthetic
    outputs = []
    for n in (1, 2):
        target = fresh_copy(run, tmp_path / f"p{n}")
        assert main(["adjudicate", str(target), "--processes", str(n), "--no-progress"]) == 0
        outputs.append((ledger_bytes(target), capsys.readouterr().out.split(":", 1)[1]))
    assert outputs[0] == outputs[1]


def test_processes_past_the_cpus_are_said_on_stderr(synthetic, tmp_path, capsys, monkeypatch):
    """More workers than CPUs is allowed (the same ledger) but said: they only take turns."""
    run, _, _ = synthetic
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    said = []
    for n in (1, 2):
        target = fresh_copy(run, tmp_path / f"p{n}")
        assert main(["adjudicate", str(target), "--processes", str(n), "--no-progress"]) == 0
        said.append(capsys.readouterr().err)
    assert "--processes" not in said[0]
    assert ("--processes 2 is more than the 1 CPU(s) this process may use: the workers take"
            " turns on them (the same ledger, no faster)") in said[1]


def test_processes_past_the_cpus_counted_where_there_is_no_affinity(capsys, monkeypatch):
    """Where `os.sched_getaffinity` does not exist (macOS), the machine's CPU count is used
    (`events.processes.usable_cpus`, which `audit replay`'s passes count with too)."""
    from claimsim.adjudication.runtimes.cli import warn_past_cpus
    from claimsim.events.processes import usable_cpus

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    assert usable_cpus() == 2
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    assert usable_cpus() == 3
    warn_past_cpus(3)
    assert capsys.readouterr().err == ""
    warn_past_cpus(4)
    assert "--processes 4 is more than the 3 CPU(s)" in capsys.readouterr().err


def test_processes_below_one_are_a_user_error(synthetic, tmp_path):
    run, _, _ = synthetic
    target = fresh_copy(run, tmp_path / "r")
    with pytest.raises(UserError, match="at least 1"):
        EmbeddedAdjudicator(target, processes=0)
    shutil.rmtree(target / "ledger", ignore_errors=True)


def test_workers_over_their_own_stores_write_past_rocksdb_flushes(synthetic, tmp_path):
    """With a RocksDB store open and flushed in this process (its background pool started), the
    workers' own stores still flush: handed 12 MB of claim records over 1 MB write buffers,
    each worker answers, a SIGINT notwithstanding. Forked workers, whose pool has no threads,
    waited forever here."""
    from functools import partial

    from claimsim.adjudication.engine.context import Settings
    from claimsim.adjudication.runtimes.diskstore import RocksStore
    from claimsim.adjudication.runtimes.family_storage import worker_store
    from claimsim.adjudication.runtimes.parallel import OwnStores, PartitionWorkers
    from claimsim.adjudication.runtimes.processor import PartitionProcessor
    from claimsim.adjudication.runtimes.stats import RunStats
    from claimsim.events.reference import ReferenceData

    run, _, _ = synthetic
    records = [(b"c:F%06d/CLM-%d" % (i % 500, i), bytes(1000)) for i in range(12_000)]
    with RocksStore(tmp_path / "parent", scratch=True, cache_mb=4) as parent:
        for key, value in records:
            parent[key] = value
        assert sum(1 for _ in parent.items(b"c:")) == len(records)
        processor = PartitionProcessor(ReferenceData.load(run), Settings())
        own = OwnStores(partial(worker_store, tmp_path, cache_mb=4, warm_mb=0), 8)
        workers = PartitionWorkers(processor, parent, 2, RunStats, own=own)
        loaded: list[int] = []
        try:  # a stuck worker stops reading: the load waits in a thread, to be given up on
            def load() -> None:
                loaded.append(workers.load(parent.items(b"c:")))
            loader = threading.Thread(target=load, daemon=True)
            loader.start()
            loader.join(120)
            assert loaded == [len(records)], "a worker stopped taking keys"
            for proc in workers._procs:  # a Ctrl-C reaches the group: the parent's to act on
                os.kill(proc.pid, signal.SIGINT)
            workers.submit([])
            assert all(conn.poll(120) for conn in workers._conns), "a worker did not answer"
            assert workers.collect() == ([], [RunStats(), RunStats()])
        finally:
            if loaded != [len(records)]:
                for proc in workers._procs:  # (`close` would wait to send them "stop")
                    proc.kill()
            workers.close()
    assert not any(worker_store_path(tmp_path, i).exists() for i in (0, 1))


def test_workers_stopped_with_a_batch_in_flight_end_at_once_without_being_killed(
        synthetic, tmp_path, monkeypatch):
    """A Ctrl-C while the workers adjudicate a batch: `close` cannot tell them "stop" (a worker
    sending its answers reads nothing more), so it closes its pipe ends and each worker, meeting
    the broken pipe, ends by itself (its store closed and removed), well before the join's wait
    would have it killed."""
    from functools import partial

    from claimsim.adjudication.engine.context import Settings
    from claimsim.adjudication.runtimes import parallel
    from claimsim.adjudication.runtimes.family_storage import STATE_DIR, worker_store
    from claimsim.adjudication.runtimes.parallel import OwnStores, PartitionWorkers
    from claimsim.adjudication.runtimes.processor import MemoryStore, PartitionProcessor
    from claimsim.adjudication.runtimes.stats import RunStats
    from claimsim.events.input_reader import read_checked
    from claimsim.events.reference import ReferenceData

    run, _, _ = synthetic
    inputs = list(read_checked(run / "input"))
    processor = PartitionProcessor(ReferenceData.load(run), Settings())
    own = OwnStores(partial(worker_store, tmp_path, cache_mb=4, warm_mb=0), 64)
    workers = PartitionWorkers(processor, MemoryStore(), 2, RunStats, own=own)
    procs = list(workers._procs)
    killed = []
    for proc in procs:
        monkeypatch.setattr(proc, "kill", lambda proc=proc: (killed.append(proc.pid),
                                                             os.kill(proc.pid, signal.SIGKILL)))
    monkeypatch.setattr(parallel, "STOP_WAIT", 60)
    workers.submit(inputs)  # answers of some megabytes each: more than a pipe holds
    workers.close()
    assert killed == [] and all(proc.exitcode == 0 for proc in procs)
    assert not list(tmp_path.glob(f"{STATE_DIR}-*"))  # each removed its own store
