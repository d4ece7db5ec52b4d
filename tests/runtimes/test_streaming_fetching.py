"""A worker's consumer lets the broker hold an empty fetch 100 ms, not faust's 1,500: with a
backlog, aiokafka's one fetch in flight can ask only for partitions nothing writes, and every
inbound partition then waits out the whole hold (fetching.py has the measurement)."""

from __future__ import annotations

import asyncio

import faust
from faust.transport.drivers import aiokafka as driver

from claimsim.adjudication.runtimes.streaming.fetching import FETCH_MAX_WAIT_MS, shorten_fetch_wait


def test_a_worker_consumer_asks_the_broker_to_hold_an_empty_fetch_100_ms_not_1500(monkeypatch):
    thread_class = driver.AIOKafkaConsumerThread
    # Whatever this test does to faust's class is undone after it.
    monkeypatch.setattr(thread_class, "_create_worker_consumer", thread_class._create_worker_consumer)
    monkeypatch.setattr(thread_class, "claimsim_create_worker_consumer",
                        thread_class._create_worker_consumer, raising=False)

    async def waits() -> list[int]:
        app = faust.App("fetch-wait", broker="kafka://127.0.0.1:1", web_enabled=False,
                        store="memory://")
        thread = app.consumer._thread
        found = []
        for shorten in (False, True, True):  # a second call must not wrap twice
            if shorten:
                shorten_fetch_wait()
            consumer = thread._create_worker_consumer(app.transport)  # created, never started
            found.append(consumer._fetch_max_wait_ms)
            await consumer.stop()
        return found

    assert FETCH_MAX_WAIT_MS == 100
    assert asyncio.run(waits()) == [1500, 100, 100]
