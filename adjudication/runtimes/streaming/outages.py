"""What a worker says on its stderr while the broker comes and goes: one line when Kafka
trouble starts and one when it is over, with how long it lasted; every record in detail goes to
the worker's log file, plain text (no terminal colour codes). A broker restart otherwise makes
aiokafka and faust print hundreds of ERROR lines, ten a second, into the user's terminal.

Not every client warning is the broker away. A consumer group's own churn (a heartbeat or
commit answered "rebalancing", "generation not current", "member unknown": a worker joined, left
or died) and a timer that ran past its interval (faust's commit on a busy worker) are logged by
the same clients at the same levels; they go to the log file only and neither start nor extend
an outage (`group_notice`).

Choices where DESIGN.md is silent: an outage starts at the first WARNING-or-worse record from
aiokafka, faust or mode, other than a group notice, while none is open, and is over once
`QUIET_S` seconds pass without one; its length is from its first such record to its last. The
worker's own records (claimsim.*) at WARNING or worse still print, one line each.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

CLIENT_LOGGERS = ("aiokafka", "faust", "mode")
# The clients' records (their unformatted messages, as the libraries pinned in constraints.txt
# write them) that speak of the group's churn or of a slow timer, never of a broker away.
GROUP_NOTICES = frozenset({
    "Heartbeat failed for group %s because it is rebalancing",
    "Heartbeat failed for group %s: generation id is not  current.",
    "Heartbeat failed: local member_id was not recognized; resetting and re-joining group",
    "OffsetCommit failed for group %s due to group error (%s), will rejoin",
    "Timer %s is overlapping (interval=%r runtime=%r)",
})
# faust's recovery saying a changelog partition has sent nothing for a while (its message carries
# the service's prefix, so it is matched by this part): a recovery stalled or slow, not the broker
# away (a survivor's stalled recovery was reported as broker trouble for minutes).
RECOVERY_NOTICES = ("No event received for active tp",)
QUIET_S = 5.0
DETAIL_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"


class OutageReporter(logging.Handler):
    """A root handler: Kafka client trouble becomes one line per outage; our own warnings pass."""

    def __init__(self, log_path: Path | str, stream: TextIO | None = None, quiet_s: float = QUIET_S):
        super().__init__(logging.WARNING)
        self.log_path, self.stream, self.quiet_s = str(log_path), stream or sys.stderr, quiet_s
        self.started: float | None = None  # wall time of the open outage's first record
        self.last = 0.0
        self.records = 0
        self._lock_outage = threading.Lock()
        self._watch = threading.Thread(target=self._watch_quiet, daemon=True)
        self._watch.start()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in CLIENT_LOGGERS:
            if group_notice(record):
                return  # the log file has it; the broker is not away
            with self._lock_outage:
                self.last = record.created
                self.records += 1
                if self.started is None:
                    self.started = record.created
                    self._say(f"kafka: trouble reaching the broker since"
                              f" {time.strftime('%H:%M:%S', time.localtime(record.created))}"
                              f" ({_first_line(record)}); detail in {self.log_path}")
            return
        self._say(f"{record.levelname} {record.name}: {_first_line(record)}")

    def open_for(self, now: float | None = None) -> float:
        """Seconds the open outage has lasted so far (0.0 when the broker is not away)."""
        with self._lock_outage:
            if self.started is None:
                return 0.0
            return (time.time() if now is None else now) - self.started

    def _watch_quiet(self) -> None:
        while True:
            time.sleep(min(1.0, self.quiet_s / 2))
            with self._lock_outage:
                if self.started is not None and time.time() - self.last >= self.quiet_s:
                    self._say(f"kafka: broker trouble over after {self.last - self.started:.1f} s"
                              f" ({self.records} client log records in {self.log_path})")
                    self.started, self.records = None, 0

    def _say(self, line: str) -> None:
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass


def group_notice(record: logging.LogRecord) -> bool:
    """A client record about the consumer group's churn, a slow timer or a slow recovery, not
    the broker away."""
    return isinstance(record.msg, str) and (
        record.msg in GROUP_NOTICES or any(notice in record.msg for notice in RECOVERY_NOTICES))


def _first_line(record: logging.LogRecord) -> str:
    try:
        text = record.getMessage()
    except Exception:  # a bad format string in a library's record: show it raw
        text = str(record.msg)
    return text.strip().splitlines()[0] if text.strip() else record.levelname


def default_log_path(prefix: str) -> Path:
    import os
    import tempfile

    return Path(tempfile.gettempdir()) / f"claimsim-worker-{prefix}-{os.getpid()}.detail.log"


def route_client_logs(log_path: Path | str) -> OutageReporter:
    """In a process that is not a faust worker (the load test, a sink): the Kafka clients' records
    go to `log_path` in plain text and stderr gets one line per outage."""
    detail = logging.FileHandler(log_path)
    detail.setFormatter(logging.Formatter(DETAIL_FORMAT))
    reporter = OutageReporter(log_path)
    for name in CLIENT_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [detail, reporter]
        logger.propagate = False
    return reporter
