"""The submission queue: holds what providers and enrollment have sent until the payer receives it.

Everything the payer receives goes through here, ordered by (received day, priority, arrival),
and is released to the sinks as the simulation clock passes, so the input log is in
received-date order while memory holds only what is still in flight (the lag window). Days are
buckets (a dict of per-priority lists) rather than one heap: pushing is an append, and a day is
released priority by priority. A sink that takes encoded events (`EncodedSink`, as a log's
`BatchSink` does) gets each event as its canonical bytes, made when it is queued: the lag window
then holds one bytes object per event instead of a tree of dicts, and a day goes to the log as
one batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

Sink = Callable[[dict[str, Any]], Any]


class EncodedSink(Protocol):
    """A sink that also takes a batch of events as canonical bytes without seq and without the
    closing brace (`events.encoding.open_body(event)`), in order."""

    def __call__(self, event: dict[str, Any]) -> Any: ...

    def write_encoded(self, bodies: list[bytes]) -> Any: ...


def is_encoded_sink(sink: object) -> bool:
    """Whether `sink` is an `EncodedSink` (what `runtime_checkable`'s isinstance asks, which a
    compiled build cannot: it has both methods)."""
    return hasattr(sink, "__call__") and hasattr(sink, "write_encoded")


# `events.encoding.open_body`, inlined: dumps(...)[:-1] runs once per queued event.
_dumps, _SORTED = orjson.dumps, orjson.OPT_SORT_KEYS
# Same-day order: enrollment changes first (so a member is known before their claims), then
# quality reports, then claims.
PRIORITY_ENROLLMENT = 0
PRIORITY_QUALITY = 1
PRIORITY_CLAIM = 2
PRIORITY_TRUTH = 3
N_PRIORITIES = 4


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


class _Day:
    """One received day's events: input and truth lists per priority, and how many pushes."""

    __slots__ = ("inputs", "truths", "pushes")

    def __init__(self) -> None:
        self.inputs: list[list] = [[] for _ in range(N_PRIORITIES)]
        self.truths: list[list] = [[] for _ in range(N_PRIORITIES)]
        self.pushes = 0


class SubmissionQueue:
    def __init__(self, horizon_day: int, input_sink: Sink, truth_sink: Sink):
        self.horizon_day = horizon_day  # first day not received within the run
        self._days: dict[int, _Day] = {}
        # Every day before this one has been released; this day itself may still take events
        # (a same-day flush, as the initial enrollment does to keep memory flat).
        self._open_day = 0
        self._in_flight = 0
        self._originals = 0  # pushed by push_original, counted into `released` on demand
        self._input = input_sink
        self._truth = truth_sink
        # Encoded sinks get bytes made at push time; others get the dicts.
        self._input_encoded = is_encoded_sink(input_sink)
        self._truth_encoded = is_encoded_sink(truth_sink)
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

    def _day(self, day: int) -> _Day:
        if day < self._open_day:
            raise ValueError(f"day {day} was already released (now {self._open_day})")
        bucket = self._days.get(day)
        if bucket is None:
            bucket = self._days[day] = _Day()
        return bucket

    def push(self, day: int, priority: int, input_event: dict | None,
             truth_event: dict | None = None, canonical: bool = False) -> bool:
        """Queue an input event (and the truth that goes with it) for `day`; False if past the run.

        Counting happens here: everything queued before the horizon is released by the end.
        `canonical`: both were built with their keys in canonical (sorted) order at every level,
        so they are encoded as built (orjson not sorting them: `push_original`).
        """
        option = 0 if canonical else _SORTED
        released = self.released
        if day >= self.horizon_day:
            released.dropped_after_horizon += 1
            return False
        bucket = self._day(day)
        bucket.pushes += 1
        self._in_flight += 1
        if input_event is not None:
            kind = input_event["type"]
            released.input_by_type[kind] = released.input_by_type.get(kind, 0) + 1
            if kind == "claim.submitted":
                freq = input_event["data"]["claim"].get("frequency", "?")
                released.claims_by_frequency[freq] = released.claims_by_frequency.get(freq, 0) + 1
            bucket.inputs[priority].append(
                _dumps(input_event, option=option)[:-1] if self._input_encoded else input_event)
        if truth_event is not None:
            kind = truth_event["type"]
            released.truth_by_type[kind] = released.truth_by_type.get(kind, 0) + 1
            if kind == "truth.fault":
                fk = truth_event["data"]["kind"]
                released.faults_by_kind[fk] = released.faults_by_kind.get(fk, 0) + 1
            elif kind == "truth.referral":
                released.referrals += 1
                released.avoidable_referrals += truth_event["data"]["avoidable"]
            bucket.truths[priority].append(
                _dumps(truth_event, option=option)[:-1] if self._truth_encoded else truth_event)
        return True

    def push_original(self, day: int, claim_event: dict) -> None:
        """`push` for the common case, an original claim with no truth attached (the hot path).

        The caller has already checked the horizon, and built the event with its keys in
        canonical (sorted) order at every level, as `ClaimBuilder` does: it is encoded as it is,
        orjson not sorting them (about a fifth of the encoding's instructions)."""
        bucket = self._days.get(day)
        if bucket is None:
            bucket = self._day(day)
        elif day < self._open_day:
            raise ValueError(f"day {day} was already released (now {self._open_day})")
        bucket.pushes += 1
        bucket.inputs[PRIORITY_CLAIM].append(
            _dumps(claim_event)[:-1] if self._input_encoded else claim_event)
        self._in_flight += 1
        self._originals += 1

    def release_until(self, day: int) -> int:
        """Hand every event received on or before `day` to the sinks, in received order
        (within a day: by priority, then in the order sent)."""
        if self._in_flight > self.released.max_in_flight:
            self.released.max_in_flight = self._in_flight
        n = 0
        for d in range(self._open_day, day + 1):
            bucket = self._days.pop(d, None)
            if bucket is None:
                continue
            inputs = [e for events in bucket.inputs for e in events]
            _hand(self._input, self._input_encoded, inputs)
            _hand(self._truth, self._truth_encoded, [e for events in bucket.truths for e in events])
            n += len(inputs)
            self._in_flight -= bucket.pushes
        self._open_day = max(self._open_day, day)
        return n


def _hand(sink: Any, encoded: bool, events: list) -> None:
    if not events:
        return
    if encoded:
        sink.write_encoded(events)
    else:
        for event in events:
            sink(event)
