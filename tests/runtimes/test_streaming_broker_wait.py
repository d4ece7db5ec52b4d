"""A worker started while its broker is away waits for it (`topics.wait_for_broker`), saying so
once, instead of dying in faust's bootstrap with a traceback; past the wait, one line naming the
broker."""

from __future__ import annotations

import asyncio
import os
import socket
import time

import pytest

from claimsim.adjudication.runtimes.streaming import topics
from claimsim.adjudication.runtimes.streaming.topics import BrokerUnreachable, wait_for_broker


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_broker_at_all_ends_the_wait_with_one_line_naming_it():
    said: list[str] = []
    bootstrap = f"127.0.0.1:{_closed_port()}"
    start = time.monotonic()
    with pytest.raises(BrokerUnreachable) as e:
        asyncio.run(wait_for_broker(bootstrap, timeout=1.5, say=said.append))
    assert time.monotonic() - start < 10
    assert bootstrap in str(e.value) and "\n" not in str(e.value)
    assert said == [f"no Kafka broker answers at {bootstrap} yet; waiting for it (up to 2 s)"]


def test_a_broker_that_comes_back_ends_the_wait(monkeypatch):
    attempts: list[float] = []

    class _Admin:
        async def close(self):
            attempts.append(-1.0)

    async def admin(bootstrap):
        attempts.append(time.monotonic())
        if len(attempts) < 3:
            raise BrokerUnreachable("not yet")
        return _Admin()

    monkeypatch.setattr(topics, "_admin", admin)
    said: list[str] = []
    waited = asyncio.run(wait_for_broker("h:1", timeout=30, say=said.append))
    assert len(attempts) == 4 and attempts[-1] == -1.0  # two refusals, one answer, closed
    assert 0.7 <= waited < 5  # 0.25 s, then 0.5 s between the tries
    assert len(said) == 1


@pytest.mark.kafka
def test_a_broker_that_answers_is_not_waited_for():
    said: list[str] = []
    waited = asyncio.run(wait_for_broker(os.environ["KAFKA_BOOTSTRAP_SERVERS"], timeout=30,
                                         say=said.append))
    assert said == [] and waited < 10
