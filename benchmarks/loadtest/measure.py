"""Per-step figures from the raw timings: every input's intended send time and the time its
answer was appended to the ledger (both on one monotonic clock, seconds from the test's start).

Latency = append time - intended send time, for each input whose intended time falls after the
step's warm-up; the percentiles are exact (numpy's "inverted_cdf": the smallest latency at or
above the fraction, a value some input really had). Achieved rate = answers appended inside the
step's measured window / the window's length.

Choices where DESIGN.md is silent: a step's measured window runs from the end of its warm-up to
its last intended send (its duration, or the last input when the input ran out); answers that
arrive after the window still count in its latencies (the harness waits for them) but not in its
achieved rate. A fault's recovery time runs from the fault (from its landing, for one that takes
effect later: an added worker's rebalance) to the end of the first one-second
window in which the achieved rate is at least 90 % of the offered rate and the backlog (offered,
not yet answered) is no more than 10 % of a second's offered inputs above its level before the
fault: the runtime keeps up again and has caught up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

PERCENTILES = (50.0, 90.0, 99.0, 99.9)
EXHAUSTED = "input exhausted"
# A step the input's end cut short is judged for the knee only if it lasted this long: in a
# shorter one, the answers to its last inputs land after its window closes (a runtime answers a
# batch at a time), so its achieved rate says little (a 0.21 s last step of a 10,000-member sweep
# offered 8,002/s and counted 2,095/s achieved, every input answered).
KNEE_MIN_EXHAUSTED_S = 1.0


@dataclass(slots=True)
class StepRecord:
    """What the harness saw of one step (times in seconds from the test's start)."""

    index: int
    rate: float
    start: float
    end: float  # last intended send (the measured window's end)
    warmup: float
    first_seq: int
    count: int  # inputs offered in the step
    ended: str  # "duration" | "input exhausted"
    max_backlog: int = 0  # most inputs offered and not yet answered, sampled during the step
    cpu_us: dict[str, float] = field(default_factory=dict)  # CPU per input answered, by process


@dataclass(slots=True)
class StepFigures:
    index: int
    offered_rate: float  # inputs/s intended inside the measured window
    achieved_rate: float  # answers/s appended inside the measured window
    measured: int  # inputs whose latency is counted (after warm-up)
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    max_backlog: int
    dead_letters: int
    ended: str
    rate: float
    duration_s: float
    unanswered: int = 0  # inputs of the step never answered (the verdict then says NO)
    cpu_us: dict[str, float] = field(default_factory=dict)

    def judged(self) -> bool:
        """Whether the step can be the knee (`KNEE_MIN_EXHAUSTED_S`)."""
        return self.ended != EXHAUSTED or self.duration_s >= KNEE_MIN_EXHAUSTED_S

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(slots=True)
class Fault:
    name: str
    at: float  # seconds from the test's start
    detail: str = ""
    recovery_s: float | None = None  # None: not recovered before the test ended
    # When the fault took effect, if later than `at` (add-worker: its rebalance landed, the
    # group stable with the new worker); its recovery is measured from then.
    landed: float | None = None


@dataclass
class Timings:
    """Intended and appended times by input seq (NaN: not offered / not answered yet)."""

    total: int
    intended: np.ndarray = field(init=False)
    appended: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.intended = np.full(self.total, np.nan)
        self.appended = np.full(self.total, np.nan)


def percentile_ms(latencies: np.ndarray, q: float) -> float:
    if latencies.size == 0:
        return float("nan")
    return float(np.percentile(latencies, q, method="inverted_cdf") * 1000.0)


def step_figures(step: StepRecord, timings: Timings, dead_letters: int = 0) -> StepFigures:
    seqs = slice(step.first_seq, step.first_seq + step.count)
    intended, appended = timings.intended[seqs], timings.appended[seqs]
    lo, hi = step.start + step.warmup, step.end
    window = max(hi - lo, 1e-9)
    counted = intended >= lo
    latencies = (appended - intended)[counted & ~np.isnan(appended)]
    all_appended = timings.appended[~np.isnan(timings.appended)]
    achieved = np.count_nonzero((all_appended >= lo) & (all_appended <= hi)) / window
    offered = np.count_nonzero(counted & (intended <= hi)) / window
    return StepFigures(
        index=step.index, offered_rate=offered, achieved_rate=achieved,
        measured=int(latencies.size),
        p50_ms=percentile_ms(latencies, 50.0), p90_ms=percentile_ms(latencies, 90.0),
        p99_ms=percentile_ms(latencies, 99.0), p999_ms=percentile_ms(latencies, 99.9),
        max_ms=float(latencies.max() * 1000.0) if latencies.size else float("nan"),
        max_backlog=step.max_backlog, dead_letters=dead_letters, ended=step.ended,
        rate=step.rate, duration_s=step.end - step.start,
        unanswered=int(np.count_nonzero(np.isnan(appended))),
        cpu_us=dict(step.cpu_us),
    )


@dataclass(slots=True)
class Second:
    """One second of the test: what was offered and answered, and the latencies of the inputs
    meant to be sent in it."""

    t: float  # the second's start
    offered: int
    answered: int
    backlog: int  # offered - answered, at the second's end
    p50_ms: float
    p99_ms: float
    max_ms: float


def per_second(timings: Timings, width: float = 1.0) -> list[Second]:
    sent = ~np.isnan(timings.intended)
    if not sent.any():
        return []
    intended, appended = timings.intended[sent], timings.appended[sent]
    done = appended[~np.isnan(appended)]
    last = float(max(np.nanmax(intended), done.max() if done.size else 0.0))
    out = []
    t = 0.0
    while t <= last:
        in_bin = (intended >= t) & (intended < t + width)
        lat = (appended - intended)[in_bin & ~np.isnan(appended)]
        offered_by_end = np.count_nonzero(intended < t + width)
        answered_by_end = np.count_nonzero(done < t + width)
        out.append(Second(t, int(in_bin.sum()), int(np.count_nonzero((done >= t) & (done < t + width))),
                          int(offered_by_end - answered_by_end),
                          percentile_ms(lat, 50.0), percentile_ms(lat, 99.0),
                          float(lat.max() * 1000.0) if lat.size else float("nan")))
        t += width
    return out


def recovery_time(fault_at: float, seconds: list[Second], width: float = 1.0,
                  until: float | None = None, landed: float | None = None) -> float | None:
    """Seconds from the fault (or from when it `landed`, if later) to the end of the first window
    after it in which the runtime keeps up (achieved >= 90 % of offered) and has caught up
    (backlog back near its level before the fault); None if that never happens before `until`
    (the next fault) or the end of the test."""
    before = [s for s in seconds if s.t + width <= fault_at]
    base = before[-1].backlog if before else 0
    start = fault_at if landed is None else max(fault_at, landed)
    if until is not None and start >= until:
        return None
    for s in seconds:
        if s.t + width <= start:
            continue
        if until is not None and s.t + width > until:
            return None
        if s.offered == 0:
            continue
        keeps_up = s.answered >= 0.9 * s.offered
        caught_up = s.backlog <= base + 0.1 * s.offered
        if keeps_up and caught_up:
            return max(0.0, s.t + width - start)
    return None
