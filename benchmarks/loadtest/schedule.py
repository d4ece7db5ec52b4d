"""Arrival schedules: when each input of a rate step is meant to be sent, fixed before the step
starts (open loop), either evenly spaced or Poisson (exponential gaps from a seeded stream).

Choices where DESIGN.md is silent: a step offers at most the inputs left; Poisson arrivals use a
seed derived from the run's seed and the step's index, so a rerun offers the same instants.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum


class Arrivals(StrEnum):
    FIXED = "fixed"
    POISSON = "poisson"


@dataclass(frozen=True, slots=True)
class Step:
    """One rate step: offer `rate` inputs/s for `duration` seconds (or until the input runs out)."""

    index: int
    rate: float
    duration: float


def intended_offsets(rate: float, duration: float, limit: int, arrivals: Arrivals,
                     seed: int = 0) -> list[float]:
    """Seconds from the step's start at which each of its inputs is meant to be sent: every
    arrival before `duration`, at most `limit` of them."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    out: list[float] = []
    if arrivals is Arrivals.FIXED:
        k = 0
        while k < limit and k / rate < duration:
            out.append(k / rate)
            k += 1
        return out
    rng = random.Random(seed)
    t = 0.0
    while len(out) < limit:
        if t >= duration:
            break
        out.append(t)
        t += rng.expovariate(rate)
    return out


def sweep_rates(start: float, factor: float, count: int) -> list[float]:
    """A geometric ladder of rates: start, start*factor, ... (count of them)."""
    return [round(start * factor ** i, 3) for i in range(count)]
