"""The one seam between the run clock (or a load test) and a runtime: adjudicate the input up to
a position, say how far it got, record the clock's epoch facts, close. The embedded runtime
(`embedded.EmbeddedAdjudicator`) and the Kafka runtime (`streaming.runtime.KafkaRuntime`)
implement it, and give byte-identical ledgers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple, Protocol

from claimsim.events.reference import ReferenceData


class Until(NamedTuple):
    """Where adjudication stops: before the first input received on or after `at`, or before
    input seq `seq`, whichever comes first; neither: the end of the input written so far."""

    at: str | None = None
    seq: int | None = None

    @classmethod
    def of(cls, at: dt.date | str | None = None, seq: int | None = None) -> Until:
        return cls(at.isoformat() if isinstance(at, dt.date) else at, seq)


class Progress(NamedTuple):
    answered: int  # inputs the ledger answers: the next input to adjudicate is this seq
    pending: int  # inputs written and not yet answered


class Bar(Protocol):
    """A progress bar the caller owns (a `tqdm`): a runtime advances it by the inputs it
    answers, and leaves it open."""

    def update(self, n: float | None = 1) -> bool | None: ...


class Runtime(Protocol):
    """What the run clock knows of a runtime. `record` appends ledger events that answer no
    input (the clock's epoch facts, payments, snapshots) through the ledger's one writer, and
    every later adjudication sees the facts among them; it returns the stored envelopes.
    `adjudicate`'s `progress`: True for the runtime's own bar, or the caller's `Bar` to advance
    by each input answered (the run clock's, across its epochs)."""

    reference: ReferenceData

    def adjudicate(self, until: Until = Until(), *, progress: bool | Bar = False) -> int: ...

    def progress(self) -> Progress: ...

    def record(self, ledger_events: list[dict[str, Any]]) -> list[dict[str, Any]]: ...

    def sign_head(self) -> None:
        """Sign the ledger's head with the run's key (a no-op for an unsigned run)."""
        ...

    def rest(self) -> None:
        """Give back memory the runtime can rebuild (decoded caches) before the caller's own
        heavy work; answers are unchanged."""
        ...

    def close(self) -> None: ...
