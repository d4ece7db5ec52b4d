"""How long a worker's consumer lets the broker hold a fetch that finds no record: faust fixes
aiokafka's `fetch_max_wait_ms` at 1,500 ms; the worker asks for `FETCH_MAX_WAIT_MS`.

Why: aiokafka sends one fetch at a time to a broker, for the partitions with nothing left in its
buffer. With a backlog the inbound partitions still hold records when the next fetch goes out, so
it asks only for partitions with nothing new (the faust leader-assignor topic's partition, which
the group's leader holds and nothing writes) and the broker holds it the whole wait: no inbound
record can be fetched meanwhile, the stream drains and waits, and the next fetch brings 1.5 s of
input at once, drained while the next empty fetch waits. Measured on the survivor of a
kill-worker load test (load 4 to 5): its fetches took turns of 1.0 s with no record and one with
about 250, answers came in a cycle of about 0.8 s on and 0.8 s off, 1.3 s behind the offered
rate, and never caught up; with a 100 ms wait it caught up within 2 s of answering again.

Choices where DESIGN.md is silent: 100 ms, so an idle worker asks its broker ten times a second
(a fetch is one small request); the wait applies to every faust worker app in the process (a
worker process runs one).
"""

from __future__ import annotations

FETCH_MAX_WAIT_MS = 100


def shorten_fetch_wait(wait_ms: int | None = None) -> None:
    """Make every worker consumer faust creates in this process ask the broker to hold a fetch
    at most `FETCH_MAX_WAIT_MS` (or `wait_ms`) when none of its partitions has a record; calling
    it again changes the wait."""
    from faust.transport.drivers import aiokafka as driver

    wait = FETCH_MAX_WAIT_MS if wait_ms is None else wait_ms
    thread = driver.AIOKafkaConsumerThread
    create = getattr(thread, "claimsim_create_worker_consumer", thread._create_worker_consumer)

    def create_worker_consumer(self, transport):
        consumer = create(self, transport)
        consumer._fetch_max_wait_ms = wait  # read when it starts (its Fetcher takes it)
        return consumer

    thread.claimsim_create_worker_consumer = create
    thread._create_worker_consumer = create_worker_consumer
