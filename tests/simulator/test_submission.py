"""The submission queue releases what was sent in received-date order (then priority, then the
order it was sent), drops what would arrive after the run, and never accepts a released day."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from claimsim.events.encoding import open_body
from claimsim.simulator.config import (DemographicsConfig, FaultConfig, QualityConfig,
                                       SimConfig)
from claimsim.simulator.demographics import DIMENSIONS
from claimsim.simulator.model import simulate
from claimsim.simulator.submission import SubmissionQueue

sends = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 3)), max_size=200)


@given(sends=sends, horizon=st.integers(1, 45), step=st.integers(1, 10))
def test_release_order_is_day_then_priority_then_sending_order(sends, horizon, step):
    out: list[dict] = []
    truth: list[dict] = []
    queue = SubmissionQueue(horizon, out.append, truth.append)
    accepted = []
    for n, (day, priority) in enumerate(sends):
        event = {"type": "x", "n": n, "day": day, "priority": priority}
        if queue.push(day, priority, event, {"type": "t", "n": n}):
            accepted.append(event)
        else:
            assert day >= horizon
    for day in range(0, horizon, step):  # released in steps, as the clock passes
        queue.release_until(day)
    queue.release_until(horizon - 1)
    assert out == sorted(accepted, key=lambda e: (e["day"], e["priority"], e["n"]))
    assert [t["n"] for t in truth] == [e["n"] for e in out]
    assert len(queue) == 0
    assert queue.released.dropped_after_horizon == len(sends) - len(accepted)


def test_a_released_day_takes_no_more_events_but_the_open_day_does():
    out: list[dict] = []
    queue = SubmissionQueue(100, out.append, lambda e: None)
    queue.push(5, 0, {"type": "a"})
    queue.release_until(5)
    queue.push(5, 0, {"type": "b"})  # the same day may still be flushed again
    queue.release_until(5)
    assert [e["type"] for e in out] == ["a", "b"]
    queue.release_until(6)
    with pytest.raises(ValueError, match="already released"):
        queue.push(5, 0, {"type": "c"})


class _EncodedSink:
    """Takes batches of `open_body` bytes, as a log's BatchSink does."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def __call__(self, event: dict) -> None:
        raise AssertionError("an encoded sink is handed bytes, never dicts")

    def write_encoded(self, bodies: list[bytes]) -> None:
        self.bodies.extend(bodies)


@given(sends=sends, horizon=st.integers(1, 45), step=st.integers(1, 10))
def test_an_encoded_sink_gets_the_same_events_in_the_same_order_as_bytes(sends, horizon, step):
    """The queue keeps events for an encoded sink as their canonical bytes (the lag window then
    holds bytes, not dicts); what it hands over is `open_body` of what a dict sink gets."""
    plain, plain_truth = [], []
    encoded, encoded_truth = _EncodedSink(), _EncodedSink()
    queues = (SubmissionQueue(horizon, plain.append, plain_truth.append),
              SubmissionQueue(horizon, encoded, encoded_truth))
    for n, (day, priority) in enumerate(sends):
        for queue in queues:
            if n % 3:
                queue.push(day, priority, {"type": "x", "n": n}, {"type": "t", "n": n})
            elif day < horizon:  # built in canonical key order, as push_original asks
                queue.push_original(day, {"data": {"claim": {"frequency": "1"}}, "n": n,
                                          "type": "claim.submitted"})
    for day in range(0, horizon, step):
        for queue in queues:
            queue.release_until(day)
    for queue in queues:
        queue.release_until(horizon - 1)
    assert encoded.bodies == [open_body(e) for e in plain]
    assert encoded_truth.bodies == [open_body(e) for e in plain_truth]
    assert queues[0].counts() == queues[1].counts()


def _canonical(event: dict) -> bool:
    return orjson.dumps(event) == orjson.dumps(event, option=orjson.OPT_SORT_KEYS)


def test_every_claim_the_model_sends_has_its_keys_in_canonical_order():
    """`push_original` encodes a claim as built, orjson not sorting its keys: every claim (the
    model's own, faulted, ordered, referred, TCM, HbA1c) must be built with them in canonical
    order at every level, or the input log's bytes would change. A dict sink gets the dicts as
    the model built them; faults at ten times their rates and HbA1c tests reach every builder."""
    inputs: list[dict] = []
    simulate(SimConfig(seed=7, members=1500, months=3, runout_months=14,
                       faults=FaultConfig(duplicate_bp=1500, replacement_bp=1000, void_bp=500,
                                          malformed_bp=500, late_bp=200),
                       quality=QualityConfig(hba1c_monthly_bp=1900)),
             inputs.append, lambda e: None)
    claims = [e for e in inputs if e["type"] == "claim.submitted"]
    ids = {e["data"]["claim"]["claim_id"][0] for e in claims}
    assert {"C", "R", "O", "T", "Q"} <= ids
    assert {e["data"]["claim"]["frequency"] for e in claims} == {"1", "7", "8"}
    for event in claims:
        assert _canonical(event), event


@pytest.mark.parametrize("demographics", [True, False])
def test_every_enrollment_and_its_truth_have_their_keys_in_canonical_order(demographics):
    """The enrollment's two events a member are pushed as canonical (encoded as built), with
    the demographic groups or without them; new families enroll monthly, as the first do."""
    inputs: list[dict] = []
    truth: list[dict] = []
    simulate(SimConfig(seed=5, members=300, months=3,
                       demographics=DemographicsConfig(enabled=demographics)),
             inputs.append, truth.append)
    enrolled = [e for e in inputs if e["type"] == "member.enrolled"]
    members = [e for e in truth if e["type"] == "truth.member"]
    assert len(enrolled) == len(members) > 300  # the first members and later families
    assert all(("race" in e["data"]) is demographics for e in enrolled)
    # `EnrollmentModel` spells the groups out by name: a dimension added to `DIMENSIONS` and
    # not there would be drawn and dropped from the event.
    assert all(set(DIMENSIONS) <= e["data"].keys() for e in enrolled) is demographics
    for event in enrolled + members:
        assert _canonical(event), event
