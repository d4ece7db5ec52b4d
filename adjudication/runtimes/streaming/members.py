"""A run's consumer group as the process that started its workers sees it: each worker names
itself in the group by its pid (`worker_client_id`), so when one of them dies the runner can
remove it from the group at once (`evict_dead`) instead of letting every partition wait out the
dead member's session.

Why: a worker killed with -9 (or one whose host's process just vanished) cannot send its own
LeaveGroup; the group coordinator notices only when its session expires (6 s at least on a
broker's defaults), and the ledger, written in input order, stands still with its partitions
meanwhile. The runner knows sooner: it is the dead process's parent and reaps it. A LeaveGroup
naming the dead member's id (any client may send one: the coordinator checks the member, not the
connection) starts the rebalance at once; the survivors hear of it on their next heartbeat.

Choices where DESIGN.md is silent: only members whose client id names a worker on this host
that the caller saw die are removed, never one it cannot account for (workers on other hosts,
even with the same pid, keep the session's judgement); a removal that fails (the broker away,
the member already gone) is logged and left to the session.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import Iterable

from aiokafka.errors import KafkaError
from aiokafka.protocol.group import LeaveGroupRequest

from claimsim.adjudication.runtimes.streaming.topics import RunTopics, _admin

log = logging.getLogger(__name__)

CLIENT_ID_PREFIX = "claimsim-worker-"
_ID = re.compile(rf"^{CLIENT_ID_PREFIX}(?P<host>.+)-(?P<pid>\d+)$")


def worker_client_id(pid: int, host: str | None = None) -> str:
    """The client id a worker process gives its Kafka clients (its member's name in the group):
    its host's name and its pid, so a runner never takes another host's worker for its own."""
    return f"{CLIENT_ID_PREFIX}{host or socket.gethostname()}-{pid}"


def worker_pid(client_id: str, host: str | None = None) -> int | None:
    """The pid `worker_client_id` put in a client id, for a worker on `host` (default this
    one); None for any other client."""
    match = _ID.match(client_id)
    if match is None or match.group("host") != (host or socket.gethostname()):
        return None
    return int(match.group("pid"))


def member_ids_by_pid(members: Iterable[tuple], pids: set[int],
                      host: str | None = None) -> list[str]:
    """The member ids, among a DescribeGroups response's members, of this host's (`host`'s)
    workers with those pids. A member is (member_id, [group_instance_id,] client_id,
    client_host, metadata, assignment): the client id is the string after the member id that
    names a worker."""
    found = []
    for member in members:
        for field in member[1:3]:
            if isinstance(field, str) and worker_pid(field, host) in pids:
                found.append(member[0])
                break
    return found


async def evict_dead(bootstrap: str, topics: RunTopics, pids: Iterable[int],
                     timeout: float = 5.0) -> list[str]:
    """Remove from the run's consumer group every member whose worker process (by pid) has died;
    returns the member ids removed. Never raises: the session expiry is the fallback."""
    pids = set(pids)
    if not pids:
        return []
    try:
        return await asyncio.wait_for(_evict(bootstrap, topics.app_id, pids), timeout)
    except (KafkaError, OSError, asyncio.TimeoutError, ValueError) as e:
        log.warning("could not remove dead worker(s) %s from group %s (%s: %s); their partitions"
                    " wait for the session to expire", sorted(pids), topics.app_id,
                    type(e).__name__, e)
        return []


async def _evict(bootstrap: str, group: str, pids: set[int]) -> list[str]:
    admin = await _admin(bootstrap)
    try:
        coordinator = await admin.find_coordinator(group)
        (described,) = (await admin.describe_consumer_groups([group], coordinator))[0].groups
        members = described[5]  # (error, group, state, protocol type, protocol, members, ...)
        removed = []
        for member_id in member_ids_by_pid(members, pids):
            response = await admin._send_request(LeaveGroupRequest(group, member_id), coordinator)
            if response.error_code == 0:
                removed.append(member_id)
            else:
                log.info("LeaveGroup for %s in %s: error code %d (already gone?)", member_id,
                         group, response.error_code)
        return removed
    finally:
        await admin.close()
