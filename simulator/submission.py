"""The submission queue: holds what providers and enrollment have sent until the payer receives it.

Everything the payer receives goes through here, ordered by (received day, priority, arrival),
and is released to the sinks as the simulation clock passes, so the input log is in
received-date order while memory holds only what is still in flight (the lag window). Days are
buckets (a dict of lists) rather than one heap: pushing is an append, and each day is sorted once.
"""

from __future__ import annotations

from operator import itemgetter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Sink = Callable[[dict[str, Any]], Any]

# Same-day order: enrollment changes first (so a member is known before their claims), then
# quality reports, then claims.
PRIORITY_ENROLLMENT = 0
PRIORITY_QUALITY = 1
PRIORITY_CLAIM = 2
PRIORITY_TRUTH = 3


@dataclass
class Released:
    """Counts of what reaches the sinks (the run summary is made from these)."""

    input_by_type: dict[str, int] = field(default_factory=dict)
    truth_by_type: dict[str, int] = field(default_factory=dict)
    claims_by_frequency: dict[str, int] = field(default_factory=dict)
    faults_by_kind: dict[str, int] = field(default_factory=dict)
    referrals: int = 0
    avoidable_referrals: int = 0
    dropped_after_horizon: int = 0
    max_in_flight: int = 0


class SubmissionQueue:
    def __init__(self, horizon_day: int, input_sink: Sink, truth_sink: Sink):
        self.horizon_day = horizon_day  # first day not received within the run
        self._days: dict[int, list[tuple[int, dict | None, dict | None]]] = {}
        # Every day before this one has been released; this day itself may still take events
        # (a same-day flush, as the initial enrollment does to keep memory flat).
        self._open_day = 0
        self._in_flight = 0
        self._originals = 0  # pushed by push_original, counted into `released` on demand
        self._input = input_sink
        self._truth = truth_sink
        self.released = Released()

    def __len__(self) -> int:
        return self._in_flight

    def counts(self) -> Released:
        """The counts, with the hot path's original claims folded in."""
        r = self.released
        if self._originals:
            kind = "claim.submitted"
            r.input_by_type[kind] = r.input_by_type.get(kind, 0) + self._originals
            r.claims_by_frequency["1"] = r.claims_by_frequency.get("1", 0) + self._originals
            self._originals = 0
        return r

    def push(self, day: int, priority: int, input_event: dict | None,
             truth_event: dict | None = None) -> bool:
        """Queue an input event (and the truth that goes with it) for `day`; False if past the run.

        Counting happens here: everything queued before the horizon is released by the end.
        """
        released = self.released
        if day >= self.horizon_day:
            released.dropped_after_horizon += 1
            return False
        if day < self._open_day:
            raise ValueError(f"day {day} was already released (now {self._open_day})")
        bucket = self._days.get(day)
        if bucket is None:
            bucket = self._days[day] = []
        bucket.append((priority, input_event, truth_event))
        self._in_flight += 1
        if input_event is not None:
            kind = input_event["type"]
            released.input_by_type[kind] = released.input_by_type.get(kind, 0) + 1
            if kind == "claim.submitted":
                freq = input_event["data"]["claim"].get("frequency", "?")
                released.claims_by_frequency[freq] = released.claims_by_frequency.get(freq, 0) + 1
        if truth_event is not None:
            kind = truth_event["type"]
            released.truth_by_type[kind] = released.truth_by_type.get(kind, 0) + 1
            if kind == "truth.fault":
                fk = truth_event["data"]["kind"]
                released.faults_by_kind[fk] = released.faults_by_kind.get(fk, 0) + 1
            elif kind == "truth.referral":
                released.referrals += 1
                released.avoidable_referrals += truth_event["data"]["avoidable"]
        return True

    def push_original(self, day: int, claim_event: dict) -> None:
        """`push` for the common case, an original claim with no truth attached (the hot path).

        The caller has already checked the horizon."""
        if day < self._open_day:
            raise ValueError(f"day {day} was already released (now {self._open_day})")
        bucket = self._days.get(day)
        if bucket is None:
            bucket = self._days[day] = []
        bucket.append((PRIORITY_CLAIM, claim_event, None))
        self._in_flight += 1
        self._originals += 1

    def release_until(self, day: int) -> int:
        """Hand every event received on or before `day` to the sinks, in received order."""
        if self._in_flight > self.released.max_in_flight:
            self.released.max_in_flight = self._in_flight
        input_sink, truth_sink, n = self._input, self._truth, 0
        for d in range(self._open_day, day + 1):
            bucket = self._days.pop(d, None)
            if not bucket:
                continue
            # A stable sort by priority keeps each priority's events in the order they were sent.
            bucket.sort(key=_PRIORITY)
            for _, event, truth in bucket:
                if event is not None:
                    input_sink(event)
                    n += 1
                if truth is not None:
                    truth_sink(truth)
            self._in_flight -= len(bucket)
        self._open_day = max(self._open_day, day)
        return n


_PRIORITY = itemgetter(0)
