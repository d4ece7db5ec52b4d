"""A worker that dies is removed from its consumer group by the process that started it, so its
partitions move to the others at once instead of after its session: the members named by pid,
and (with a broker) a killed worker's partitions reassigned well inside a 30 s session."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from claimsim.adjudication.runtimes.streaming.faust_settings import SESSION_TIMEOUT_ENV
from claimsim.adjudication.runtimes.streaming.members import (
    evict_dead, member_ids_by_pid, worker_client_id, worker_pid,
)
from claimsim.adjudication.runtimes.streaming.runner import DeadWorkers, spawn_worker, stop_worker
from claimsim.adjudication.runtimes.streaming.sink import LedgerSink
from claimsim.adjudication.runtimes.streaming.topics import (
    RunTopics, _admin, create_topics, delete_topics, new_prefix, wait_for_members,
)
from claimsim.simulator.config import SimConfig
from claimsim.simulator.run_dir import simulate_to_dir

from ..fixtures.run_dirs import fresh_copy

# Members as a 3.9 broker's DescribeGroups v2 lists them (a worker's, copied from a live group on
# host "vm"), and in the v4+ shape, where the group instance id (None: dynamic member) precedes
# the client id; a worker of another host with the same pid; another app's member.
V2_MEMBER = ("claimsim-worker-vm-27869-f25eb50c-4122-4094-967a-14b4e36cf7a7",
             "claimsim-worker-vm-27869", "/127.0.0.1", b"\x00\x04", b"\x00\x04")
V4_MEMBER = ("claimsim-worker-vm-4711-0c7d", None, "claimsim-worker-vm-4711", "/127.0.0.1", b"", b"")
OTHER_HOST = ("claimsim-worker-worker-b.example-12201-77aa", "claimsim-worker-worker-b.example-12201",
              "/10.0.0.7", b"", b"")
OTHER_APP = ("faust-0.15.3-79c752b4", "faust-0.15.3", "/127.0.0.1", b"", b"")


def test_a_worker_names_itself_by_its_host_and_pid_and_only_this_hosts_are_read_back():
    assert worker_client_id(12201, "vm") == "claimsim-worker-vm-12201"
    assert worker_pid("claimsim-worker-vm-12201", "vm") == 12201
    assert worker_pid("claimsim-worker-my-host-7-12201", "my-host-7") == 12201  # dashes in a name
    assert worker_pid("claimsim-worker-vm-12201", "other") is None  # another host's worker
    assert worker_pid("faust-0.15.3", "vm") is None
    assert worker_pid(worker_client_id(os.getpid())) == os.getpid()  # this host by default


def test_only_this_hosts_members_of_dead_pids_are_picked_in_either_response_shape():
    members = [V2_MEMBER, V4_MEMBER, OTHER_HOST, OTHER_APP]
    assert member_ids_by_pid(members, {27869}, "vm") == [V2_MEMBER[0]]
    assert member_ids_by_pid(members, {4711, 27869}, "vm") == [V2_MEMBER[0], V4_MEMBER[0]]
    assert member_ids_by_pid(members, {12201}, "vm") == []  # only the other host has a 12201
    assert member_ids_by_pid(members, {1}, "vm") == []  # a pid of no member: nothing removed


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("members") / "run"
    simulate_to_dir(SimConfig(members=60, months=2, seed=3), run)
    return run


async def _members(bootstrap: str, group: str) -> tuple[str, list[str]]:
    admin = await _admin(bootstrap)
    try:
        (g,) = (await admin.describe_consumer_groups([group]))[0].groups
        return g[2], [m[1] for m in g[5]]
    finally:
        await admin.close()


async def _wait_alone(bootstrap: str, group: str, client_id: str, timeout: float) -> float:
    """Seconds until the group is stable with `client_id` its only member."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if await _members(bootstrap, group) == ("Stable", [client_id]):
            return time.monotonic() - t0
        await asyncio.sleep(0.1)
    raise AssertionError(f"{group} still {await _members(bootstrap, group)} after {timeout} s")


@pytest.mark.kafka
def test_a_killed_worker_is_out_of_its_group_well_inside_its_session_once_the_runner_sees_it_die(
        simulated, tmp_path, kafka_bootstrap, monkeypatch):
    # Two workers with a 30 s session. One is killed with -9: it cannot leave, so on its own the
    # group would hold its partitions for 30 s. The runner's watch (DeadWorkers, as
    # adjudicate_kafka runs it) sees the process gone and removes its member: the group is
    # stable with the survivor alone within a few seconds (its next heartbeat and a rebalance).
    monkeypatch.setenv(SESSION_TIMEOUT_ENV, "30")
    run = fresh_copy(simulated, tmp_path / "run")
    LedgerSink(run).close()
    topics = RunTopics(new_prefix("evict"))
    asyncio.run(create_topics(kafka_bootstrap, topics, 2))
    procs = [spawn_worker(run, kafka_bootstrap, topics.prefix, 2, i, log_dir=tmp_path)[0]
             for i in range(2)]
    try:
        assert asyncio.run(wait_for_members(kafka_bootstrap, topics, 2, 90))
        victim, survivor = procs
        victim.send_signal(signal.SIGKILL)
        victim.wait()

        async def watch_and_wait() -> tuple[float, list]:
            dead = DeadWorkers(kafka_bootstrap, topics)
            t0 = time.monotonic()
            dead.evict(procs)
            await dead.settle()
            took = await _wait_alone(kafka_bootstrap, topics.app_id,
                                     worker_client_id(survivor.pid), 25)
            return time.monotonic() - t0, took

        took, _ = asyncio.run(watch_and_wait())
        assert took < 10, f"{took:.1f} s"
        # Evicting again finds nothing to remove (the member is gone), and says nothing wrong.
        assert asyncio.run(evict_dead(kafka_bootstrap, topics, [victim.pid])) == []
    finally:
        for proc in procs:
            stop_worker(proc)
        asyncio.run(delete_topics(kafka_bootstrap, topics))
