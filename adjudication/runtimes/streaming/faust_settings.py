"""How the faust app of a run's worker is set up (`faust_app`, for `app.build_app`): its broker
and group session, producer batches and buffer, fetch sizes, stream buffer, metadata refresh and
table store, each chosen here against a measured cost or a fault seen in the kill tests.
"""

from __future__ import annotations

import os
from pathlib import Path

import faust

from claimsim.events.errors import UserError

from claimsim.adjudication.runtimes.streaming import datadir as datadirs
from claimsim.adjudication.runtimes.streaming.members import worker_client_id
from claimsim.adjudication.runtimes.streaming.security import faust_credentials
from claimsim.adjudication.runtimes.streaming.topics import RunTopics

PRODUCER_BATCH_BYTES = 512 * 1024  # under the broker's default 1 MB message.max.bytes
PRODUCER_BUFFER_MESSAGES = 20_000
# How long a member that stopped heartbeating (killed with -9, its host gone) keeps its
# partitions: every partition of the run waits that long, since the ledger is written in input
# order. 6 s is the shortest a broker accepts by default (group.min.session.timeout.ms). A worker
# the runner started is removed at once when it dies (`members.evict_dead`): the session is the
# fallback for workers nobody supervises. Heartbeats go from aiokafka's own thread every
# HEARTBEAT_INTERVAL_S, so a busy worker does not miss a session's worth; the survivors of a
# removal hear of the rebalance on their next one.
SESSION_TIMEOUT_S = 6.0
SESSION_TIMEOUT_ENV = "CLAIMSIM_WORKER_SESSION_TIMEOUT_S"  # longer, or shorter where a broker allows
HEARTBEAT_INTERVAL_S = 0.5
STORES = {"memory": "memory://", "rocksdb": "rocksdb://"}
# Memory by default: RocksDB measured about 100 us more CPU per claim on a 10,000-member run (its
# writes, flushes and compactions), so a flat memory is opt-in, as in the embedded runtime.
DEFAULT_STORE = "memory"
# Changelog records faust gathers before applying them to the table in recovery (its default,
# 1,000, was made for one small record per table write): a record here is a message's writes,
# up to `changelog.RECORD_BYTES`, and 1,000 of them took a survivor that recovered a partition of
# a 100,000-member run to 1.2 GB (docs/performance.md, "What the Kafka worker costs").
RECOVERY_RECORDS = 16
ROCKSDB_CACHE_FAMILIES = 16_384  # decoded family states a RocksDB worker keeps by default
# faust's RocksDB defaults (a 2 GB block cache and three 64 MB write buffers per partition) would
# let a worker grow to gigabytes; these keep each partition's database to a few tens of MB.
ROCKSDB_OPTIONS = {"block_cache_size": 16 << 20, "block_cache_compressed_size": 0,
                   "write_buffer_size": 8 << 20, "max_write_buffer_number": 2}
FETCH_BYTES = 8 * 1024 * 1024
# Inbound messages (of `producer.DEFAULT_BATCH` inputs, some 50 KB each) faust may hold fetched
# and not yet processed. faust's default, 4,096, let a worker behind a backlog hold 200 MB and
# more of them: the growth with the population of its peak RSS in a closed-loop run, whose
# backlog is the whole year (562 MB at 300,000 members; docs/performance.md, "What the Kafka worker costs").
# 64 is 12,800 inputs read ahead, a second of a worker's work.
STREAM_BUFFER_MESSAGES = 64
METADATA_MAX_AGE_MS = 10_000


def faust_app(topics: RunTopics, bootstrap: str, partitions: int, *, store: str,
              commit_interval: float, datadir: Path | None) -> faust.App:
    """The faust app's settings for one run (its agent, table and topics are `app.build_app`'s)."""
    if datadir is None:
        datadir = datadirs.for_process(topics.prefix)
        datadir.mkdir(parents=True, exist_ok=True)
    return faust.App(
        topics.app_id,
        broker=[f"kafka://{server.strip()}" for server in bootstrap.split(",")],
        broker_credentials=faust_credentials(),  # SASL/TLS from the environment
        store=STORES[store],
        processing_guarantee="at_least_once",  # never exactly_once: open loss/duplicate reports
        topic_partitions=partitions,
        table_standby_replicas=0,  # a worker holds only its own partitions' state
        web_enabled=False,  # several workers share a host in tests and benchmarks
        consumer_auto_offset_reset="earliest",
        key_serializer="raw",
        value_serializer="raw",
        broker_commit_interval=commit_interval,
        # A worker killed with -9 holds its partitions until its session expires (faust's
        # default 60 s).
        broker_session_timeout=session_timeout(),
        # The runner removes a worker it saw die from the group at once (`members.evict_dead`);
        # the survivors hear of the rebalance on their next heartbeat.
        broker_heartbeat_interval=HEARTBEAT_INTERVAL_S,
        broker_client_id=worker_client_id(os.getpid()),  # names this member in the group
        # Family states are a few KB each and one is written per family per message: aiokafka's
        # default 16 KB batches would send them almost one request each.
        producer_max_batch_size=PRODUCER_BATCH_BYTES,
        producer_linger_ms=5,
        # faust fetches 1 MB per partition by default: a few 100 KB messages per round trip to a
        # broker busy taking changelog writes, which halved throughput on one partition.
        consumer_max_fetch_size=FETCH_BYTES,
        stream_buffer_maxsize=STREAM_BUFFER_MESSAGES,
        # A group leader that assigns partitions while its metadata lacks the run's topics (a
        # broker just restarted) assigns none of them; aiokafka rejoins once a refresh shows
        # the topics, which faust's default (5 min) left to after a load test's end.
        consumer_metadata_max_age_ms=METADATA_MAX_AGE_MS,
        datadir=datadir,
    )


def session_timeout() -> float:
    """`SESSION_TIMEOUT_S`, or the seconds `CLAIMSIM_WORKER_SESSION_TIMEOUT_S` sets."""
    raw = os.environ.get(SESSION_TIMEOUT_ENV)
    if not raw:
        return SESSION_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        raise UserError(f"{SESSION_TIMEOUT_ENV}={raw!r}: seconds, a number") from None
    if value < 3.0:
        raise UserError(f"{SESSION_TIMEOUT_ENV}={raw!r}: at least 3 s (several heartbeats)")
    return value


def widen_producer_buffer(app: faust.App) -> None:
    """faust stalls every stream once 100 table writes wait in its producer buffer (flushing them
    one by one); a message here writes up to one state per family it touches."""
    app.producer.buffer.max_messages = PRODUCER_BUFFER_MESSAGES
