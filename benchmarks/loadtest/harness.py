"""The open loop: rate steps over the input in seq order, each input offered at its intended
send time (planned before the step starts), whatever the runtime is doing.

The loop never waits on an answer before offering the next input: if the runtime stalls, inputs
still fall due on schedule and are offered as soon as the loop runs again, keeping their
intended times, so the stall shows as queueing in every input behind it. Faults fire at their
time from the test's start. At a step's end the loop waits (up to `drain_timeout`) for the step's
answers before the next step starts, so each step is measured on its own.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from claimsim.events.acyclic import cycle_gc_paused

from claimsim.benchmarks.loadtest import cpu
from claimsim.benchmarks.loadtest.drivers import Driver
from claimsim.benchmarks.loadtest.measure import EXHAUSTED, Fault, StepRecord, step_figures
from claimsim.benchmarks.loadtest.schedule import Arrivals, Step, intended_offsets

TICK = 0.005  # the loop's longest sleep: offering is at most this late on an idle runtime


@dataclass
class Plan:
    steps: list[Step]
    arrivals: Arrivals = Arrivals.FIXED
    warmup: float = 0.1  # fraction of each step's duration excluded from its figures
    seed: int = 0
    faults: list[tuple[str, float]] = field(default_factory=list)  # (name, seconds from start)
    stop_at_knee: bool = False  # a sweep stops after the first step that cannot keep up
    drain_timeout: float = 120.0


@dataclass
class Outcome:
    steps: list[StepRecord] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    knee: int | None = None  # index of the first step whose achieved rate fell below 90 %
    offered: int = 0  # inputs offered in all (seq 0 .. offered-1, from first_seq)


async def run_plan(driver: Driver, plan: Plan, total: int, *, first_seq: int = 0,
                   clock: Callable[[], float] | None = None,
                   sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                   progress: bool = False) -> Outcome:
    """Run every step of `plan` against `driver` over inputs `first_seq`..`total`-1."""
    if clock is None:
        t0 = time.monotonic()
        clock = lambda: time.monotonic() - t0  # noqa: E731  (seconds from the test's start)
    out = Outcome()
    pending_faults = sorted(plan.faults, key=lambda f: f[1])
    seq = first_seq
    bar = tqdm(total=total - first_seq, unit="input", desc="offered", file=sys.stderr,
               disable=not progress, mininterval=0.5)
    with cycle_gc_paused(), bar:  # as the runtimes' own loops run (events.acyclic)
        for step in plan.steps:
            if seq >= total:
                break
            record = await _run_step(driver, plan, step, seq, total, clock, sleep,
                                     pending_faults, out, bar)
            out.steps.append(record)
            seq += record.count
            figures = step_figures(record, driver.timings)
            if progress:
                bar.write(f"step {step.index + 1}: offered {figures.offered_rate:,.0f}/s, achieved"
                          f" {figures.achieved_rate:,.0f}/s, p99 {figures.p99_ms:,.1f} ms"
                          f" ({record.ended})")
            if (figures.achieved_rate < 0.9 * figures.offered_rate and out.knee is None
                    and figures.judged()):
                out.knee = step.index
                if plan.stop_at_knee:
                    break
    for name, at in pending_faults:  # said, not dropped: the test ended before their time
        out.faults.append(Fault(name, at, "not injected: the test ended first"))
    out.offered = seq
    return out


async def _run_step(driver: Driver, plan: Plan, step: Step, seq: int, total: int, clock, sleep,
                    pending_faults: list[tuple[str, float]], out: Outcome, bar) -> StepRecord:
    cpu_before = driver.cpu_seconds()
    answered_before = driver.answered
    start = clock()
    offsets = intended_offsets(step.rate, step.duration, total - seq, plan.arrivals,
                               seed=plan.seed * 1000 + step.index)
    n = len(offsets)
    intended = start + np.asarray(offsets, dtype=float)
    driver.timings.intended[seq:seq + n] = intended
    exhausted = seq + n >= total and (n == 0 or offsets[-1] + 1.0 / step.rate < step.duration)
    end = start + (offsets[-1] if exhausted and n else step.duration)
    record = StepRecord(step.index, step.rate, start, end, plan.warmup * (end - start), seq, n,
                        EXHAUSTED if exhausted else "duration")
    i = 0
    while i < n or clock() < end:
        now = clock()
        while pending_faults and pending_faults[0][1] <= now:
            name, _ = pending_faults.pop(0)
            out.faults.append(await driver.fault(name))
        due = int(np.searchsorted(intended, now, side="right"))
        # The backlog: inputs due by now (offered or about to be) not yet answered.
        record.max_backlog = max(record.max_backlog, seq + due - driver.answered)
        if due > i:
            await driver.offer(seq + due)
            bar.update(due - i)
            i = due
        out.faults.extend(await driver.pump())
        wait = (intended[i] if i < n else end) - clock()
        if wait > 0:
            await sleep(min(wait, TICK))
    drain_until = clock() + plan.drain_timeout
    while driver.answered < seq + n and clock() < drain_until:
        out.faults.extend(await driver.pump())
        record.max_backlog = max(record.max_backlog, seq + n - driver.answered)
        await sleep(TICK)
    record.cpu_us = cpu.per_input_us(cpu_before, driver.cpu_seconds(),
                                     driver.answered - answered_before)
    return record
