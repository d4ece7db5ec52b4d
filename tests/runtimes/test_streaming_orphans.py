"""A group leader that assigned partitions on a metadata without the run's topics (a broker just
back from a restart) leaves every partition of the run unassigned while the group is stable and
idle; the run must still complete with the embedded ledger. The fault (`faults.py`) makes a
worker's first assignment as leader blind to the run's topics, either in faust's assignor only
(`blind-assign`: aiokafka sees no metadata change, so only the worker's orphan watch can end it)
or in the consumer's metadata until its next update (`blind-metadata`: what the broker restart
did; aiokafka's own snapshot then sees the topics come back). The workers join before the input
is published, so the faulty assignment is the one the whole run starts from.

Measured before the orphan watch (this file's fault hooks, the watch's call taken out): every
`blind-assign` case ended "the ledger was not complete after 60 s"; `blind-metadata` passed, the
leader rejoining at its next metadata refresh (10 s), and with faust's default refresh (5 min)
it too answered nothing in 90 s."""

from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path

import pytest

from claimsim.adjudication.runtimes.streaming import runner
from claimsim.adjudication.runtimes.streaming.app import FAULT_ENV
from claimsim.adjudication.runtimes.streaming.runner import spawn_worker, stop_worker
from claimsim.adjudication.runtimes.streaming.sink import LedgerSink
from claimsim.adjudication.runtimes.streaming.topics import (
    RunTopics, create_topics, delete_topics, new_prefix, wait_for_members,
)
from claimsim.simulator.config import SimConfig
from claimsim.simulator.run_dir import simulate_to_dir

from ..fixtures.run_dirs import embedded_ledger, fresh_copy, ledger_bytes

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

DEADLINE_S = 60.0  # the run takes a few seconds; a group left unassigned never ends by itself


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("orphans") / "run"
    simulate_to_dir(SimConfig(members=60, months=2, seed=3), run)
    return run


def _run_with_deadline(run: Path, bootstrap: str, partitions: int, workers: int,
                       tmp_path: Path, deadline: float = DEADLINE_S) -> list[Path]:
    """Start `workers` workers on new topics, wait until their group is stable with all of them
    (the faulty assignment made), then publish and answer the run's input (`adjudicate_kafka`
    attached to them); the worker logs. Fails when the ledger is not complete in DEADLINE_S (a
    group left with nothing assigned never ends by itself)."""
    topics = RunTopics(new_prefix("orphan"))
    asyncio.run(create_topics(bootstrap, topics, partitions))
    LedgerSink(run).close()  # the manifest the workers read
    procs = [spawn_worker(run, bootstrap, topics.prefix, partitions, i, log_dir=tmp_path)
             for i in range(workers)]
    try:
        assert asyncio.run(wait_for_members(bootstrap, topics, workers, timeout=60))
        done = threading.Event()

        def answer() -> None:
            runner.adjudicate_kafka(run, bootstrap=bootstrap, partitions=partitions, workers=0,
                                    prefix=topics.prefix, keep_topics=True)
            done.set()

        threading.Thread(target=answer, daemon=True).start()  # left behind if it never ends
        assert done.wait(deadline), f"the ledger was not complete after {deadline:.0f} s"
    finally:
        for proc, _ in procs:
            stop_worker(proc)
        asyncio.run(delete_topics(bootstrap, topics))
    return [log_path for _, log_path in procs]


def _detail(logs: list[Path]) -> str:
    return "\n".join(p.with_suffix(".detail.log").read_text(errors="replace") for p in logs)


@pytest.mark.parametrize("partitions, workers", [(2, 1), (2, 2), (1, 2)])
def test_a_leader_blind_to_the_run_topics_leaves_nothing_assigned_and_the_watch_rejoins(
        simulated, tmp_path, kafka_bootstrap, monkeypatch, partitions, workers):
    # The leader's assignor alone misses the topics: faust logs "Ignoring missing topic", the
    # group is stable with no partition of the run assigned, and aiokafka, whose metadata never
    # changes, never rejoins. A worker's orphan watch sees an inbound partition with messages
    # past the group's committed offset that no member holds, twice a check apart, and asks for
    # a rejoin: the next assignment hands the partitions out and the run completes. On main
    # (no orphan watch) the workers sit idle until the deadline kills them. The fault acts on
    # the first assignment of a group with every worker in it; with one partition and two
    # workers, one worker is then idle by rights, and nobody asks again.
    expected = embedded_ledger(simulated, tmp_path / "expected")
    run = fresh_copy(simulated, tmp_path / "run")
    monkeypatch.setenv(FAULT_ENV, f"blind-assign@{workers}")
    logs = _run_with_deadline(run, kafka_bootstrap, partitions, workers, tmp_path)
    assert ledger_bytes(run) == expected
    detail = _detail(logs)
    assert "fault injected (blind-assign)" in detail, detail[-3000:]
    assert "Ignoring missing topic" in detail
    asked = re.findall(r"partition\(s\) \[([\d, ]+)\] hold messages past the group's committed"
                       r" offsets and no member of the group holds them", detail)
    assert asked, detail[-3000:]
    assert set(asked) == {", ".join(map(str, range(partitions)))}  # every one, each time
    assert len(asked) <= workers  # one episode: each worker asks at most once
    assert "asking the group to rebalance again" not in detail
    assert "starting the worker again" not in detail  # the rejoin did it, not a restart


def test_a_worker_whose_rebalances_keep_leaving_partitions_to_nobody_starts_again_in_place(
        simulated, tmp_path, kafka_bootstrap, monkeypatch):
    # Every assignment the leader makes is blind: the watch asks for MAX_REJOINS rebalances, each
    # leaves the partitions to nobody, and the worker starts again in its own process (same
    # pid: exec), whose new process (no fault) takes the partitions and completes the ledger.
    from claimsim.adjudication.runtimes.streaming.orphans import MAX_REJOINS

    expected = embedded_ledger(simulated, tmp_path / "expected")
    run = fresh_copy(simulated, tmp_path / "run")
    monkeypatch.setenv(FAULT_ENV, "blind-assign-every")
    logs = _run_with_deadline(run, kafka_bootstrap, 2, 1, tmp_path, deadline=120)
    assert ledger_bytes(run) == expected
    detail = _detail(logs)
    assert detail.count("fault injected (blind-assign-every)") >= MAX_REJOINS + 1, detail[-3000:]
    assert len(re.findall(r"asking the group to rebalance\b", detail)) == MAX_REJOINS
    assert f"still held by no member after {MAX_REJOINS} rebalances" in detail
    assert "starting the worker again in its own process (exec" in detail
    assert len(set(re.findall(r"^\[[^]]+\] \[(\d+)\]", detail, re.M))) == 1  # one pid


def test_a_leader_whose_metadata_lacked_the_run_topics_rejoins_once_they_are_back(
        simulated, tmp_path, kafka_bootstrap, monkeypatch):
    # As after a broker restart: the consumer's metadata itself lacks the run's topics from the
    # assignment to its next update. The orphan watch refreshes a worker's metadata when it does
    # not know the inbound topic; aiokafka's leader then sees its subscription's partitions
    # change and rejoins by itself (on main the periodic refresh, every 10 s, does the same).
    expected = embedded_ledger(simulated, tmp_path / "expected")
    run = fresh_copy(simulated, tmp_path / "run")
    monkeypatch.setenv(FAULT_ENV, "blind-metadata")
    logs = _run_with_deadline(run, kafka_bootstrap, 2, 1, tmp_path)
    assert ledger_bytes(run) == expected
    detail = _detail(logs)
    assert "fault injected (blind-metadata)" in detail, detail[-3000:]
    assert "the run's topics are back in the metadata" in detail
    assert "starting the worker again" not in detail
