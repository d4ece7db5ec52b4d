"""The base every simulator settings model shares (`config.SimConfig` and its parts): frozen,
and a key it does not know is an error; and the check of a (low, high) range setting.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from claimsim.events.ranges import ordered_pair


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def low_high(value: tuple[int, int]) -> tuple[int, int]:
    """A (low, high) range setting, checked where it is read so the error names its key."""
    ordered_pair(value, "range")
    return value
