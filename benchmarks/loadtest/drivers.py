"""What the harness offers inputs to: a driver makes inputs up to a seq available to its runtime
and stamps each input's answer with the time the ledger took it.

`EmbeddedDriver` drives any `Runtime` (the embedded one in process, or a test's stalled stand-in):
offering inputs below a seq is `adjudicate(Until(seq=...))`, in chunks so each chunk's answers
are stamped when that chunk is written. `streaming_driver.KafkaDriver` publishes to Kafka and
stamps answers as its sink appends them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from claimsim.adjudication.runtimes.protocol import Runtime, Until

from claimsim.benchmarks.loadtest.measure import Fault, Timings

CHUNK = 500  # inputs per adjudicate call: finer stamps, at little cost (the core runs per input)


class Driver(Protocol):
    name: str
    timings: Timings
    answered: int  # inputs answered so far, all below this seq (the ledger is in cause order)
    dead_letters: int

    async def offer(self, upto: int) -> None: ...

    def cpu_seconds(self) -> dict[str, float]: ...  # CPU seconds so far by process name

    async def pump(self) -> list[Fault]: ...  # what happened unplanned (a worker that exited)

    async def fault(self, name: str) -> Fault: ...

    async def close(self) -> None: ...


class EmbeddedDriver:
    """Offers inputs to a `Runtime` in this process; a call returns once their answers are written."""

    name = "embedded"

    def __init__(self, runtime: Runtime, timings: Timings, clock: Callable[[], float],
                 first_seq: int = 0):
        self.runtime, self.timings, self.clock = runtime, timings, clock
        self.answered = first_seq
        self.dead_letters = 0  # the embedded runtime answers bad input with rejections

    async def offer(self, upto: int) -> None:
        while self.answered < upto:
            stop = min(upto, self.answered + CHUNK)
            self.runtime.adjudicate(Until(seq=stop))
            self.timings.appended[self.answered:stop] = self.clock()
            self.answered = stop

    async def pump(self) -> list[Fault]:
        return []

    def cpu_seconds(self) -> dict[str, float]:
        import os

        from claimsim.benchmarks.loadtest.cpu import cpu_seconds

        seconds = cpu_seconds(os.getpid())
        return {} if seconds is None else {"embedded": seconds}

    async def fault(self, name: str) -> Fault:
        from claimsim.events.errors import UserError

        raise UserError(f"--fault {name}: faults apply to --runtime kafka only")

    async def close(self) -> None:
        self.runtime.close()
