"""Worker faults seen in manual runs, each made to happen on purpose: a worker that meets a gap in
its input seeks the partition back in its own process, and starts again in its own process (same
pid: nobody else need restart it) when the gap stays, so does one that stops consuming a
partition it holds or whose rebalance never ends, and a worker asked to stop while its broker is down
exits within its grace period instead of retrying the group coordinator for over a minute."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from claimsim.adjudication.runtimes.streaming.app import (
    EXIT_GAP, EXIT_STOP_TIMEOUT, FAULT_ENV, GAP_RESTARTS_ENV, MAX_GAP_RESTARTS, STOP_GRACE_S,
)
from claimsim.adjudication.runtimes.streaming.faust_settings import (
    SESSION_TIMEOUT_ENV, SESSION_TIMEOUT_S,
)
from claimsim.adjudication.runtimes.streaming.outages import QUIET_S
from claimsim.adjudication.runtimes.streaming.producer import plan_stream
from claimsim.adjudication.runtimes.streaming.reseek import MAX_SEEKS
from claimsim.adjudication.runtimes.streaming.runner import spawn_worker, stop_worker
from claimsim.adjudication.runtimes.streaming.sink import LedgerSink
from claimsim.adjudication.runtimes.streaming.topics import (
    RunTopics, _admin, create_topics, delete_topics, new_prefix,
)
from claimsim.adjudication.runtimes.streaming.watchdog import STALL_S, rebalance_limit_s
from claimsim.adjudication.runtimes.streaming.wire import encode_items, input_item
from claimsim.events.encoding import canonical
from claimsim.simulator.config import SimConfig
from claimsim.simulator.run_dir import simulate_to_dir

from ..fixtures.broker import own_broker
from ..fixtures.run_dirs import embedded_ledger, fresh_copy, ledger_bytes

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("worker-faults") / "run"
    simulate_to_dir(SimConfig(members=60, months=2, seed=3), run)
    return run


@pytest.fixture
def broker(tmp_path):
    yield from own_broker(tmp_path)


async def _wait_stable(bootstrap: str, group: str, timeout: float = 90) -> None:
    admin = await _admin(bootstrap)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                (g,) = (await admin.describe_consumer_groups([group]))[0].groups
            except KafkaError:  # a new broker has no coordinator until its offsets topic exists
                g = (None, group, "", "", "", [])
            if g[2] == "Stable" and g[5]:
                return
            await asyncio.sleep(0.3)
        raise AssertionError(f"group {group} never became stable")
    finally:
        await admin.close()


async def _send(bootstrap: str, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, partition=0)
    finally:
        await producer.stop()


def _wait_exit(proc: subprocess.Popen, timeout: float) -> int | None:
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


def _logged_at(detail_log: Path, text: str) -> list[float]:
    """Seconds (epoch) of each detail-log record whose message contains `text`."""
    import datetime as dt

    times = []
    for line in detail_log.read_text(errors="replace").splitlines():
        if text in line:
            stamp = line[1:line.index("]")]  # "[2026-11-30 22:05:42,983] [pid] ..."
            times.append(dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp())
    return times


def test_a_worker_that_meets_a_gap_leaves_its_group_and_starts_again_in_its_own_process(
        simulated, tmp_path, kafka_bootstrap, monkeypatch):
    # The partition has applied nothing, and the first message says it starts at stream item 5:
    # items 0..4 went missing for good. The worker seeks the partition back and meets the same
    # gap again at the same offset, MAX_SEEKS times; then it leaves its group, restarts in place
    # (exec: same pid) and, the gap still there, does the same; with one restart left before the
    # limit, it then exits with EXIT_GAP. Had it not left, its new process's first rebalance would have waited
    # for the old member's session to expire before handing it the partition: a session of
    # 30 s here, far longer than the worker takes to start again.
    monkeypatch.setenv(SESSION_TIMEOUT_ENV, "30")
    run = fresh_copy(simulated, tmp_path / "run")
    LedgerSink(run).close()  # the manifest the worker reads
    topics = RunTopics(new_prefix("gap"))
    asyncio.run(create_topics(kafka_bootstrap, topics, 1))
    first = next(item for item in plan_stream(run) if item.kind == "input")
    asyncio.run(_send(kafka_bootstrap, topics.inbound,
                      encode_items([canonical(input_item(first.envelope))], 5)))
    os.environ[GAP_RESTARTS_ENV] = str(MAX_GAP_RESTARTS - 1)
    try:
        proc, log_path = spawn_worker(run, kafka_bootstrap, topics.prefix, 1, log_dir=tmp_path)
    finally:
        del os.environ[GAP_RESTARTS_ENV]
    try:
        code = _wait_exit(proc, 120)
        log_text = log_path.read_text(errors="replace")
        assert code == EXIT_GAP, log_text[-3000:]
        assert (log_text.count("starts at stream item 5 but the partition has applied 0")
                == 2 * MAX_SEEKS)
        assert log_text.count(f"came back after {MAX_SEEKS} seeks") == 2
        assert f"{MAX_GAP_RESTARTS} restarts on gaps in the input; giving up" in log_text
        assert "could not leave the consumer group" not in log_text
        first, second = _logged_at(log_path.with_suffix(".detail.log"), "came back after")
        assert second - first < 30, log_text[-3000:]
    finally:
        stop_worker(proc)
        asyncio.run(delete_topics(kafka_bootstrap, topics))


STALLS = {
    # The worker takes its first message and never finishes it (as faust left a killed worker's
    # partitions assigned and unconsumed): its partition watch sees messages waiting and nothing
    # moving for STALL_S.
    "stall": (STALL_S, f"none of them has moved for {STALL_S:.0f} s", "has been rebalancing"),
    # The same, with faust's rebalancing flag left set (as a survivor of a kill-worker load test
    # sat 120 s, no watch firing): the partition and orphan watches wait for a rebalance to end,
    # so only the rebalance's own limit (10 s + a 6 s session) catches it.
    "stuck-rebalance": (rebalance_limit_s(SESSION_TIMEOUT_S), "has been rebalancing for",
                        "none of them has moved"),
}


@pytest.mark.parametrize("fault", sorted(STALLS))
def test_a_worker_that_stops_consuming_starts_again_and_the_ledger_completes(
        simulated, tmp_path, kafka_bootstrap, monkeypatch, fault):
    # Either way it starts again in place and the run ends with the embedded ledger.
    from claimsim.adjudication.runtimes.streaming.runner import adjudicate_kafka

    stalled_s, said, not_said = STALLS[fault]
    expected = embedded_ledger(simulated, tmp_path / "expected")
    run = fresh_copy(simulated, tmp_path / "run")
    monkeypatch.setenv(FAULT_ENV, fault)
    monkeypatch.setenv("CLAIMSIM_KEEP_WORKER_LOGS", "1")
    # Unwatched, the run would wait forever: at 120 s its workers are killed, and the runner
    # then stops with "every worker stopped" (the test fails instead of hanging).
    deadline = threading.Timer(120, subprocess.run,
                               args=(["pkill", "-9", "-f", f"claimsim worker {run} "],))
    deadline.daemon = True
    deadline.start()
    t0 = time.monotonic()
    try:
        result = adjudicate_kafka(run, bootstrap=kafka_bootstrap, partitions=2, workers=1)
    finally:
        deadline.cancel()
    assert time.monotonic() - t0 > stalled_s  # it did stall
    assert ledger_bytes(run) == expected
    (log_path,) = result.worker_logs
    text = log_path.read_text(errors="replace")
    assert said in text and not_said not in text


def test_a_worker_that_meets_a_gap_seeks_back_in_its_own_process_and_the_ledger_completes(
        simulated, tmp_path, kafka_bootstrap, monkeypatch):
    # The worker skips a partition's second message unacknowledged (as faust can drop one around
    # a rebalance), so the partition's third starts past what it has applied. The worker seeks
    # that partition back to its committed offset without leaving its process (no exec, no
    # second start, no rebalance), takes the skipped message again and ends with the embedded
    # runtime's ledger.
    import re

    from claimsim.adjudication.runtimes.streaming.runner import adjudicate_kafka

    expected = embedded_ledger(simulated, tmp_path / "expected")
    run = fresh_copy(simulated, tmp_path / "run")
    monkeypatch.setenv(FAULT_ENV, "drop")
    monkeypatch.setenv("CLAIMSIM_KEEP_WORKER_LOGS", "1")
    monkeypatch.setenv("CLAIMSIM_WORKER_LOGLEVEL", "info")
    # Five inputs a message: each partition gets a dozen or so, so the dropped one has successors.
    result = adjudicate_kafka(run, bootstrap=kafka_bootstrap, partitions=2, workers=1, batch=5)
    assert ledger_bytes(run) == expected
    (log_path,) = result.worker_logs
    detail = log_path.with_suffix(".detail.log").read_text(errors="replace")
    dropped = re.findall(r"fault injected: \S+\[(\d)\]@1 dropped", detail)
    assert len(dropped) == 1, detail[-3000:]
    partition = dropped[0]
    gap = re.search(rf"\[{partition}\]@(\d+) starts at stream item (\d+) but the partition has"
                    rf" applied (\d+)", detail)
    assert gap is not None, detail[-3000:]
    offset, pos, applied = map(int, gap.groups())
    assert offset >= 2 and pos > applied  # a later message, past the dropped one's items
    assert re.search(rf"\[{partition}\] sought back to offset [01] in process \(gap", detail)
    # One process from start to end: the same pid on every record, faust's worker started once,
    # no restart (exec) and no exit on the gap.
    assert set(re.findall(r"^\[[^]]+\] \[(\d+)\]", detail, re.M)) == {str(result_pid(detail))}
    assert "starting the worker again" not in detail
    assert detail.count("[^BoundedStopWorker]: Starting...") == 1


def result_pid(detail: str) -> int:
    """The pid on the detail log's first record."""
    import re

    return int(re.search(r"^\[[^]]+\] \[(\d+)\]", detail, re.M).group(1))


def test_a_worker_asked_to_stop_while_its_broker_is_down_exits_within_its_grace(simulated, tmp_path, broker):
    run = fresh_copy(simulated, tmp_path / "run")
    LedgerSink(run).close()
    topics = RunTopics(new_prefix("term"))
    asyncio.run(create_topics(broker.bootstrap, topics, 2))
    proc, log_path = spawn_worker(run, broker.bootstrap, topics.prefix, 2, log_dir=tmp_path)
    try:
        asyncio.run(_wait_stable(broker.bootstrap, topics.app_id))
        broker.stop()
        time.sleep(2)  # the worker notices: its coordinator is gone
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = _wait_exit(proc, STOP_GRACE_S + 10)
        took = time.monotonic() - t0
        assert code is not None, f"still running {took:.0f} s after SIGTERM"
        assert code in (0, EXIT_STOP_TIMEOUT, -signal.SIGTERM), log_path.read_text(errors="replace")[-3000:]
        assert took <= STOP_GRACE_S + 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_broker_restart_is_one_line_on_stderr_and_the_detail_is_in_the_plain_log(simulated, tmp_path, broker):
    run = fresh_copy(simulated, tmp_path / "run")
    LedgerSink(run).close()
    topics = RunTopics(new_prefix("outage"))
    asyncio.run(create_topics(broker.bootstrap, topics, 2))
    proc, log_path = spawn_worker(run, broker.bootstrap, topics.prefix, 2, log_dir=tmp_path)
    try:
        asyncio.run(_wait_stable(broker.bootstrap, topics.app_id))
        broker.stop()
        time.sleep(3)
        broker.start()
        asyncio.run(_wait_stable(broker.bootstrap, topics.app_id))
        time.sleep(QUIET_S + 3)  # quiet long enough for the outage to be called over
        stderr = log_path.read_text(errors="replace")
        detail = log_path.with_suffix(".detail.log").read_text(errors="replace")
        assert stderr.count("kafka: trouble reaching the broker since") == 1, stderr
        assert stderr.count("kafka: broker trouble over after") == 1, stderr
        assert "[ERROR]" not in stderr and "aiokafka" not in stderr.replace("kafka: ", "")
        assert detail.count("[ERROR]") + detail.count("[WARNING]") >= 2  # the flood, kept here
        assert "\x1b[" not in detail and "\x1b[" not in stderr
    finally:
        stop_worker(proc)
