"""How the worker keeps Python's cyclic garbage collector off its family states: a worker process
turns automatic collection off (`start`) and collects itself, between messages, every
`FREEZE_EVERY` answers and at least every `AT_LEAST_EVERY_S` seconds; each time, what survived
is moved into the collector's permanent generation (`gc.freeze`), so the next collection scans
only what is new. Family states are acyclic trees (`events.acyclic`); rescanning them again and
again cost the worker about a third of its time.

Measured replaying a 10,000-member year through the processor as the worker runs it (decode,
adjudicate, encode the ledger, pack the changelog; 4 partitions, load 2-4): 116-131 us per claim
with the collector as Python sets it, 87-88 with it paused during each message and a freeze
every 5,000 answers, on messages of 200 inputs. In the worker (py-spy) that pause still left
12 % of the time to the collections its re-enabling set off after every message, hence
collections only at these points.

Choices where DESIGN.md is silent: faust, aiokafka and asyncio make cycles (futures, callbacks,
exceptions), which wait at most `FREEZE_EVERY` answers or `AT_LEAST_EVERY_S` seconds. A cycle
among frozen objects that later becomes garbage (a client object dropped on a rebalance) waits
for `thaw()`, which the worker calls on every rebalance: the next collection sees everything.
"""

from __future__ import annotations

import gc
import time

FREEZE_EVERY = 5000  # answers between collections (each scans only what came since the last)
AT_LEAST_EVERY_S = 5.0  # an idle worker still collects faust's and aiokafka's cycles


class Collector:
    def __init__(self, freeze_every: int = FREEZE_EVERY,
                 at_least_every_s: float = AT_LEAST_EVERY_S):
        self.freeze_every, self.at_least_every_s = freeze_every, at_least_every_s
        self.started = False
        self.since = 0
        self.last = time.monotonic()
        self.collections = 0

    def start(self) -> None:
        """Take collection over for this process (a worker process, never a test's)."""
        gc.disable()
        self.started = True

    def answered(self, count: int) -> None:
        """Count a message's answers; every `freeze_every`, collect. Call between messages."""
        self.since += count
        if self.started and self.since >= self.freeze_every:
            self.collect()

    def tick(self) -> None:
        """From a timer: collect when the last collection is `at_least_every_s` old."""
        if self.started and time.monotonic() - self.last >= self.at_least_every_s:
            self.collect()

    def collect(self) -> None:
        gc.collect()
        gc.freeze()
        self.since, self.last = 0, time.monotonic()
        self.collections += 1

    def thaw(self) -> None:
        """Give every frozen object back to the collector (on a rebalance)."""
        gc.unfreeze()
