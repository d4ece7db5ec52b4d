"""Constrained integers the settings models share (scenario files, reference data), so every
numeric setting states its range once and the scenario reference prints it.

Choices where DOMAIN.md is silent: a share is 0..100 % (0..10,000 bp); money settings are
non-negative cents; a plan year is 2000..2100.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

Share = Annotated[int, Field(ge=0, le=10_000)]  # basis points of a whole: 0..100 %
NonNegativeCents = Annotated[int, Field(ge=0)]
PlanYear = Annotated[int, Field(ge=2000, le=2100)]


def ordered_pair(pair: tuple[int, int], name: str) -> None:
    """A (low, high) range setting: low may not exceed high."""
    if pair[0] > pair[1]:
        raise ValueError(f"{name}: low {pair[0]} is above high {pair[1]}")
