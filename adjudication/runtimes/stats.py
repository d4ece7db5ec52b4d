"""What a run of the adjudicator did: inputs answered, claims adjudicated, reversed and rejected,
and the plan's payments, counted from the ledger answers as they are written (the embedded
runtime, its forked workers, the streaming runner)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class RunStats:
    """What a run (or the part of it since opening) did."""

    inputs: int = 0
    claims_adjudicated: int = 0  # claim.adjudicated (originals and replacements)
    claims_reversed: int = 0  # claim.reversed (voids)
    claims_rejected: int = 0
    no_effect: int = 0
    plan_paid: int = 0  # cents, net of reversals

    def count(self, event: dict[str, Any]) -> None:
        self.count_all((event,))

    def count_all(self, events: Sequence[dict[str, Any]]) -> None:
        """Count a batch of ledger answers: one pass with the counters in locals, without a call
        and its attribute writes per answer (30,000 synthetic claims' answers read back from
        their ledger: 1.47 us an answer against 1.72 one at a time; most of either is reaching
        the lines' dicts, which in the run are still in cache)."""
        adjudicated = reversed_ = rejected = 0
        paid = self.plan_paid
        # Typed locals: compiled, each is a dict or list op and each sum a tagged-int add, not
        # a generic one.
        lines: list[dict[str, Any]]
        data: dict[str, Any]
        cents: int
        for event in events:
            kind = event["type"]
            if kind == "claim.adjudicated":
                adjudicated += 1
                data = event["data"]
                lines = data["lines"]
                for line in lines:
                    cents = line["plan_paid"]
                    paid += cents
                lines = data["reversed_lines"]
                for line in lines:
                    cents = line["plan_paid"]
                    paid += cents
            elif kind == "claim.reversed":
                reversed_ += 1
                data = event["data"]
                lines = data["reversed_lines"]
                for line in lines:
                    cents = line["plan_paid"]
                    paid += cents
            elif kind == "claim.rejected":
                rejected += 1
        self.inputs += len(events)
        self.claims_adjudicated += adjudicated
        self.claims_reversed += reversed_
        self.claims_rejected += rejected
        self.no_effect += len(events) - adjudicated - reversed_ - rejected
        self.plan_paid = paid

    def add(self, other: RunStats) -> None:
        """Add what another `RunStats` counted (a worker's, for one batch)."""
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)
