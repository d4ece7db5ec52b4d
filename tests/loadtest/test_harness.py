"""The open-loop harness on a virtual clock: a runtime that stalls once must show the queue that
built up behind it in every later input's latency (no coordinated omission), and the per-step
figures must be the ones computed by hand from the schedule."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from claimsim.adjudication.runtimes.protocol import Until
from claimsim.benchmarks.loadtest.drivers import EmbeddedDriver
from claimsim.benchmarks.loadtest.harness import Plan, run_plan
from claimsim.benchmarks.loadtest.measure import Second, Timings, recovery_time, step_figures
from claimsim.benchmarks.loadtest.report import table
from claimsim.benchmarks.loadtest.schedule import Arrivals, Step, intended_offsets


class VirtualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


class StallingRuntime:
    """Answers instantly, except that the call that first reaches input `stall_at` takes
    `stall_s` seconds of the virtual clock."""

    def __init__(self, clock: VirtualClock, stall_at: int, stall_s: float):
        self.clock, self.stall_at, self.stall_s = clock, stall_at, stall_s
        self.calls: list[int] = []

    def adjudicate(self, until: Until = Until(), *, progress: bool = False) -> int:
        if self.stall_at is not None and until.seq > self.stall_at:
            self.clock.now += self.stall_s
            self.stall_at = None
        self.calls.append(until.seq)
        return 0

    def close(self) -> None:
        pass


def run_stalled(total: int, rate: float, duration: float, stall_at: int, stall_s: float):
    clock = VirtualClock()
    timings = Timings(total)
    driver = EmbeddedDriver(StallingRuntime(clock, stall_at, stall_s), timings, clock)
    plan = Plan([Step(0, rate, duration)], Arrivals.FIXED, warmup=0.0)
    outcome = asyncio.run(run_plan(driver, plan, total, clock=clock, sleep=clock.sleep))
    return outcome, timings


def test_a_one_second_stall_queues_every_input_meant_to_be_sent_during_it():
    # 100 inputs/s for 2 s: input k is meant to go at k/100 s. The call carrying input 50
    # (at 0.50 s) takes 1 s, so it is appended at 1.50 s (latency 1.0 s), and inputs 51..150
    # (meant for 0.51..1.50 s) are offered and answered at 1.50 s: latency 1.50 - k/100.
    outcome, timings = run_stalled(total=300, rate=100, duration=2.0, stall_at=50, stall_s=1.0)
    (step,) = outcome.steps
    assert (step.count, step.ended) == (200, "duration")
    latency = timings.appended[:200] - timings.intended[:200]
    assert latency[50] == pytest.approx(1.0)
    assert latency[51] == pytest.approx(0.99)
    assert latency[100] == pytest.approx(0.50)
    assert np.allclose(latency[:50], 0.0) and np.allclose(latency[151:200], 0.0)
    # Sorted: 100 inputs at 0 (0..49, 150..199), then 0.01, 0.02 .. 0.99 (inputs 149..51), 1.0.
    # p90 is the 180th smallest = the 80th queued = 0.80 s; p99 the 198th = 0.98 s.
    fig = step_figures(step, timings)
    assert fig.p50_ms == pytest.approx(0.0, abs=1e-6)
    assert fig.p90_ms == pytest.approx(800.0)
    assert fig.p99_ms == pytest.approx(980.0)
    assert fig.max_ms == pytest.approx(1000.0)
    # At 1.50 s inputs 0..150 are due and 0..50 answered: 100 in the queue.
    assert step.max_backlog == 100
    assert fig.offered_rate == pytest.approx(100.0)
    assert fig.achieved_rate == pytest.approx(100.0)  # every answer landed inside the 2 s


def test_without_a_stall_the_same_schedule_has_no_latency():
    outcome, timings = run_stalled(total=300, rate=100, duration=2.0, stall_at=None, stall_s=0)
    fig = step_figures(outcome.steps[0], timings)
    assert fig.max_ms == pytest.approx(0.0, abs=1e-6)
    assert outcome.knee is None


def test_a_step_ends_when_the_input_runs_out_and_says_so():
    outcome, timings = run_stalled(total=50, rate=100, duration=2.0, stall_at=None, stall_s=0)
    (step,) = outcome.steps
    assert (step.count, step.ended, outcome.offered) == (50, "input exhausted", 50)
    assert step.end == pytest.approx(0.49)  # the last intended send, not the 2 s asked for


def test_a_step_that_cannot_keep_up_is_the_knee():
    # A 5 s stall at input 10 in a 2 s step: only inputs 0..9 are answered inside the window.
    outcome, timings = run_stalled(total=300, rate=100, duration=2.0, stall_at=10, stall_s=5.0)
    fig = step_figures(outcome.steps[0], timings)
    assert fig.achieved_rate == pytest.approx(10 / 2.0)  # inputs 0..9 inside the window
    assert outcome.knee == 0


def test_poisson_arrivals_repeat_with_their_seed_and_average_the_rate():
    a = intended_offsets(1000, 20.0, 10**6, Arrivals.POISSON, seed=7)
    assert a == intended_offsets(1000, 20.0, 10**6, Arrivals.POISSON, seed=7)
    assert a != intended_offsets(1000, 20.0, 10**6, Arrivals.POISSON, seed=8)
    assert len(a) == pytest.approx(20_000, rel=0.03)  # 20 s at 1000/s, Poisson: sd ~141
    assert intended_offsets(100, 1.0, 10**6, Arrivals.FIXED) == [k / 100 for k in range(100)]


def test_recovery_is_the_first_second_that_keeps_up_and_has_caught_up():
    s = lambda t, offered, answered, backlog: Second(t, offered, answered, backlog, 0, 0, 0)  # noqa: E731
    seconds = [s(0, 100, 100, 0), s(1, 100, 100, 0), s(2, 100, 10, 90),  # fault at 2.0
               s(3, 100, 50, 140), s(4, 100, 190, 50),  # keeps up, still 50 behind
               s(5, 100, 150, 0), s(6, 100, 100, 0)]
    assert recovery_time(2.0, seconds) == pytest.approx(4.0)  # end of second 5
    assert recovery_time(2.5, seconds[:5]) is None
    assert recovery_time(2.0, seconds, until=5.5) is None  # a second fault came first


def test_an_added_worker_recovers_from_when_its_rebalance_landed_not_from_its_start():
    # Added at 2.0 s, the others keep up until its rebalance lands at 5.0 s and stalls the
    # group; from the start, the first second that keeps up (2-3) would say 1.0 s.
    s = lambda t, offered, answered, backlog: Second(t, offered, answered, backlog, 0, 0, 0)  # noqa: E731
    seconds = [s(0, 100, 100, 0), s(1, 100, 100, 0), s(2, 100, 100, 0), s(3, 100, 100, 0),
               s(4, 100, 100, 0), s(5, 100, 0, 100), s(6, 100, 150, 50), s(7, 100, 150, 0),
               s(8, 100, 100, 0)]
    assert recovery_time(2.0, seconds) == pytest.approx(1.0)
    # Windows from the landing on: second 5 stalls, 6 keeps up but is 50 behind, 7 has caught up.
    assert recovery_time(2.0, seconds, landed=5.0) == pytest.approx(8.0 - 5.0)
    assert recovery_time(2.0, seconds, landed=6.0, until=5.5) is None  # the next fault came first


def test_a_step_the_input_cut_short_under_a_second_is_not_judged_for_the_knee():
    # The input runs out 0.49 s into the step; a 5 s stall at input 10 leaves 10 answers inside
    # that window (20/s against 100/s offered), which says nothing of the runtime's knee.
    outcome, timings = run_stalled(total=50, rate=100, duration=2.0, stall_at=10, stall_s=5.0)
    fig = step_figures(outcome.steps[0], timings)
    assert (fig.ended, fig.achieved_rate) == ("input exhausted", pytest.approx(10 / 0.49))
    assert not fig.judged() and outcome.knee is None
    row = table("embedded", [fig], [], outcome.knee).splitlines()[3]
    assert row.endswith("input exhausted after 0.49 s, too short to judge")


def test_a_step_the_input_cut_short_after_a_second_or_more_is_judged():
    outcome, timings = run_stalled(total=150, rate=100, duration=2.0, stall_at=10, stall_s=5.0)
    fig = step_figures(outcome.steps[0], timings)
    assert (fig.ended, fig.duration_s) == ("input exhausted", pytest.approx(1.49))
    assert fig.judged() and outcome.knee == 0
    assert table("embedded", [fig], [], 0).splitlines()[3].endswith("input exhausted (knee)")
