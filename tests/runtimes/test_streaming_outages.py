"""A worker's stderr says one line when the broker goes away and one when it is back; the
consumer group's own churn (a rebalance answered to a heartbeat or a commit) and a commit timer
running long are not the broker away and say nothing there. The records below are ones workers
really logged (their detail logs, with the logger each message comes from in aiokafka 0.14 and
mode): the outage ones while a test broker was stopped for 3 s, the churn around a kill-worker
load test and a steady run on RocksDB; two more group answers are as aiokafka writes them (not
seen in those runs), and faust's recovery warning that a changelog partition sent nothing."""

from __future__ import annotations

import io
import logging
import time

from claimsim.adjudication.runtimes.streaming.outages import OutageReporter, group_notice

GROUP = "loadtest-03730365"
BROKER_AWAY = [  # (logger, level, message template, args), in the order they came
    ("aiokafka.consumer.fetcher", logging.ERROR, "Failed fetch messages from %s: %s",
     (1, "KafkaConnectionError: Connection at 127.0.0.1:39085 closed")),
    ("aiokafka.consumer.group_coordinator", logging.ERROR,
     "Error sending %s to node %s [%s] -- marking coordinator dead",
     ("HeartbeatRequest", 1, "NodeNotReadyError: Attempt to send a request to node which is not"
      " ready (node id 1).")),
    ("aiokafka.consumer.group_coordinator", logging.WARNING,
     "Marking the coordinator dead (node %s)for group %s.", (1, "outage-00becbe8")),
    ("aiokafka.client", logging.ERROR, "Unable connect to node with id %s: %s",
     (1, "[Errno 111] Connect call failed ('127.0.0.1', 39085)")),
    ("aiokafka.client", logging.ERROR, "Unable to update metadata from %s", ([1],)),
    ("aiokafka.consumer.group_coordinator", logging.ERROR, "Group Coordinator Request failed: %s",
     ("NodeNotReadyError: Attempt to send a request to node which is not ready (node id 1).",)),
]
GROUP_CHURN = [
    ("aiokafka.consumer.group_coordinator", logging.WARNING,
     "Heartbeat failed for group %s because it is rebalancing", (GROUP,)),
    ("mode.timers", logging.WARNING, "Timer %s is overlapping (interval=%r runtime=%r)",
     ("commit", 1.0, 1.20280010800343)),
    # aiokafka's group_coordinator, not seen in the runs above:
    ("aiokafka.consumer.group_coordinator", logging.ERROR,
     "OffsetCommit failed for group %s due to group error (%s), will rejoin",
     (GROUP, "RebalanceInProgressError")),
    ("aiokafka.consumer.group_coordinator", logging.WARNING,
     "Heartbeat failed for group %s: generation id is not  current.", (GROUP,)),
    # faust's recovery, a survivor's stalled one (16:18 UTC, a kill-worker load test here):
    ("faust.tables.recovery", logging.WARNING,
     "[^---Recovery]: No event received for active tp %r since recovery start (started %s)",
     ("TopicPartition(topic='loadtest-41d3835e-family_state-changelog', partition=0)",
      "34.83 seconds ago")),
]


def _record(logger: str, level: int, msg: str, args: tuple, created: float) -> logging.LogRecord:
    record = logging.LogRecord(logger, level, __file__, 0, msg, args, None)
    record.created = created
    return record


def _reporter(tmp_path) -> tuple[OutageReporter, io.StringIO]:
    out = io.StringIO()
    return OutageReporter(tmp_path / "w.detail.log", stream=out, quiet_s=3600), out


def test_group_churn_and_a_long_commit_timer_are_not_an_outage(tmp_path):
    reporter, out = _reporter(tmp_path)
    now = time.time()
    for i, (logger, level, msg, args) in enumerate(GROUP_CHURN * 3):
        reporter.emit(_record(logger, level, msg, args, now + i))
    assert out.getvalue() == ""
    assert reporter.started is None and reporter.records == 0
    assert all(group_notice(_record(*r, now)) for r in GROUP_CHURN)
    assert not any(group_notice(_record(*r, now)) for r in BROKER_AWAY)


def test_a_broker_away_is_one_line_and_the_churn_around_it_is_not_counted(tmp_path):
    # A kill-worker rebalance 10 s before the broker goes (nothing said), the broker away for 2 s
    # (six client records), the group rebalancing as the worker rejoins (not counted).
    reporter, out = _reporter(tmp_path)
    t0 = time.time()
    reporter.emit(_record(*GROUP_CHURN[0], t0))
    for i, r in enumerate(BROKER_AWAY):
        reporter.emit(_record(*r, t0 + 10 + 0.4 * i))
    for r in GROUP_CHURN:
        reporter.emit(_record(*r, t0 + 13))
    (line,) = out.getvalue().splitlines()
    assert line.startswith("kafka: trouble reaching the broker since ")
    assert "(Failed fetch messages from 1: KafkaConnectionError: Connection at 127.0.0.1:39085 closed)" in line
    assert reporter.records == len(BROKER_AWAY)
    assert reporter.started == t0 + 10 and reporter.last == t0 + 10 + 0.4 * 5  # 2.0 s long


def test_our_own_warnings_still_print_one_line_each(tmp_path):
    reporter, out = _reporter(tmp_path)
    reporter.emit(_record("claimsim.adjudication.runtimes.streaming.app", logging.WARNING,
                          "could not leave the consumer group before exiting (%s: %s)",
                          ("KafkaError", "no coordinator"), time.time()))
    assert out.getvalue() == ("WARNING claimsim.adjudication.runtimes.streaming.app: could not"
                              " leave the consumer group before exiting (KafkaError: no"
                              " coordinator)\n")


def test_an_open_outage_says_how_long_it_has_lasted(tmp_path):
    # None open: 0. From the first broker-away record on, the time since it, however many
    # records follow; a group notice alone opens none.
    reporter, _ = _reporter(tmp_path)
    now = time.time()
    assert reporter.open_for(now) == 0.0
    logger, level, msg, args = GROUP_CHURN[0]
    reporter.emit(_record(logger, level, msg, args, now - 50))
    assert reporter.open_for(now) == 0.0
    for k, (logger, level, msg, args) in enumerate(BROKER_AWAY):
        reporter.emit(_record(logger, level, msg, args, now - 130 + k))
    assert reporter.open_for(now) == 130.0
