"""The topics of one streaming run, named from one prefix (unique per run), and their lifecycle:
create before producing, delete everything under the prefix afterwards (faust's changelog and
assignor topics included)."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import time
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from claimsim.events.errors import UserError

BOOTSTRAP_ENV = "KAFKA_BOOTSTRAP_SERVERS"
TABLE = "family_state"


def bootstrap_from_env(value: str | None = None) -> str:
    """The bootstrap servers given (a flag), else `KAFKA_BOOTSTRAP_SERVERS`; no silent default:
    a client attached to whatever broker listens on a well-known port could be someone else's."""
    bootstrap = value or os.environ.get(BOOTSTRAP_ENV)
    if not bootstrap:
        raise UserError(f"no Kafka broker configured: set {BOOTSTRAP_ENV}=HOST:PORT or pass"
                        " --bootstrap HOST:PORT (a local one: eval \"$(scripts/kafka/start.sh)\")")
    for server in bootstrap.split(","):
        host, sep, port = server.strip().rpartition(":")
        if not (sep and host and port.isascii() and port.isdecimal() and 0 < int(port) < 65536):
            where = "--bootstrap" if value else BOOTSTRAP_ENV
            raise UserError(f"{where} {bootstrap!r}: {server.strip()!r} is not HOST:PORT (a port"
                            " from 1 to 65535; several servers comma-separated)")
    return bootstrap


def require_broker(bootstrap: str, timeout: float = 5.0) -> str:
    """`bootstrap` if one of its servers accepts a connection, else a one-line error naming it."""
    problems = []
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
                return bootstrap
        except (OSError, ValueError) as e:
            problems.append(f"{server.strip()}: {e}")
    raise UserError(f"--runtime kafka: no Kafka broker at {bootstrap} ({'; '.join(problems)});"
                    " start one with `eval \"$(scripts/kafka/start.sh)\"` or point"
                    f" {BOOTSTRAP_ENV} / --bootstrap at yours")


def new_prefix(label: str = "claimsim") -> str:
    """A fresh prefix: topic names never collide between runs (random, and never logged)."""
    return f"{label}-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class RunTopics:
    prefix: str

    @property
    def app_id(self) -> str:
        return self.prefix  # faust names its changelog `<app id>-family_state-changelog`

    @property
    def inbound(self) -> str:
        return f"{self.prefix}-inbound"

    @property
    def ledger(self) -> str:
        return f"{self.prefix}-ledger"

    @property
    def dead_letter(self) -> str:
        return f"{self.prefix}-deadletter"

    @property
    def changelog(self) -> str:
        return f"{self.app_id}-{TABLE}-changelog"


class BrokerUnreachable(UserError):
    pass


async def _admin(bootstrap: str) -> AIOKafkaAdminClient:
    """A started admin client, or a one-line error saying how to get a broker."""
    from claimsim.adjudication.runtimes.streaming.security import client_options

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000,
                                **client_options())
    try:
        await admin.start()
    except KafkaError as e:
        raise BrokerUnreachable(f"no Kafka broker at {bootstrap} ({e}); start one with"
                                " `eval \"$(scripts/kafka/start.sh)\"` or set KAFKA_BOOTSTRAP_SERVERS"
                                ) from None
    return admin


BROKER_WAIT_S = 60.0  # how long a worker started while its broker is away waits for it


async def wait_for_broker(bootstrap: str, timeout: float = BROKER_WAIT_S, say=None) -> float:
    """Return (the seconds waited) once a broker of `bootstrap` answers an admin client's start.
    A worker started while the broker is away (a restart script, a host rebooting, the load
    test's replacement for a killed worker during a broker restart) waits for it, saying so once
    through `say`, instead of dying in faust's bootstrap with a traceback; after `timeout` s a
    one-line `BrokerUnreachable`."""
    start = time.monotonic()
    delay, said = 0.25, False
    while True:
        try:
            admin = await _admin(bootstrap)
        except BrokerUnreachable:
            waited = time.monotonic() - start
            if waited + delay > timeout:
                raise BrokerUnreachable(
                    f"no Kafka broker answered at {bootstrap} in {waited:.0f} s; start one with"
                    f" `eval \"$(scripts/kafka/start.sh)\"` or set {BOOTSTRAP_ENV}") from None
            if say is not None and not said:
                say(f"no Kafka broker answers at {bootstrap} yet; waiting for it (up to"
                    f" {timeout:.0f} s)")
                said = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
            continue
        await admin.close()
        return time.monotonic() - start


async def create_topics(bootstrap: str, topics: RunTopics, partitions: int) -> None:
    """The inbound and ledger topics get `partitions` partitions; the dead-letter topic one."""
    admin = await _admin(bootstrap)
    try:
        wanted = [NewTopic(topics.inbound, partitions, 1), NewTopic(topics.ledger, partitions, 1),
                  NewTopic(topics.dead_letter, 1, 1)]
        try:
            await admin.create_topics(wanted)
        except TopicAlreadyExistsError:
            pass
        await wait_for_topics(admin, [t.name for t in wanted])
    finally:
        await admin.close()


async def wait_for_topics(admin: AIOKafkaAdminClient, names: list[str], timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        known = set(await admin.list_topics())
        if all(n in known for n in names):
            return
        if loop.time() > deadline:
            raise UserError(f"Kafka did not create topics {sorted(set(names) - known)} in {timeout} s")
        await asyncio.sleep(0.1)


async def partition_count(bootstrap: str, topic: str) -> int:
    count = await existing_partitions(bootstrap, topic)
    if count is None:
        raise UserError(f"topic {topic} does not exist on {bootstrap}; is the prefix right?")
    return count


async def existing_partitions(bootstrap: str, topic: str) -> int | None:
    """How many partitions `topic` has, or None when it does not exist (yet)."""
    admin = await _admin(bootstrap)
    try:
        if topic not in await admin.list_topics():  # a describe would auto-create it
            return None
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    for t in described:
        if t.get("topic") == topic and t.get("error_code", 0) == 0 and t.get("partitions"):
            return len(t["partitions"])
    return None


async def delete_topics(bootstrap: str, topics: RunTopics) -> list[str]:
    """Delete every topic whose name starts with the run's prefix; returns their names."""
    admin = await _admin(bootstrap)
    try:
        names = sorted(n for n in await admin.list_topics() if n.startswith(topics.prefix + "-"))
        if names:
            await admin.delete_topics(names)
        return names
    finally:
        await admin.close()


async def wait_for_members(bootstrap: str, topics: RunTopics, members: int,
                           timeout: float = 60.0, give_up=None) -> bool:
    """Wait until the run's consumer group is stable with at least `members` members (False
    after `timeout` s, or as soon as `give_up()` says so: every worker stopped). Workers started
    before the input is published then share it from the first message: a worker that joins
    later takes partitions another one has started on (a rebalance, its changelog restored, the
    uncommitted messages redelivered)."""
    admin = await _admin(bootstrap)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                (group,) = (await admin.describe_consumer_groups([topics.app_id]))[0].groups
                state, joined = group[2], len(group[5])  # (error, id, state, protocol type, ...)
            except (KafkaError, ValueError):  # no coordinator yet on a new broker
                state, joined = "", 0
            if state == "Stable" and joined >= members:
                return True
            if give_up is not None and give_up():
                return False
            await asyncio.sleep(0.2)
        return False
    finally:
        await admin.close()
