"""The submission queue releases what was sent in received-date order (then priority, then the
order it was sent), drops what would arrive after the run, and never accepts a released day."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
