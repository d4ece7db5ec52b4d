"""Race, ethnicity and preferred language of simulated members (DOMAIN.md §9): drawn from the
`demographics` mixes on the run's own "demographics" random stream, so no other draw moves, and the
optional group effects (none by default) the rest of the simulator asks about.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from itertools import accumulate

from claimsim.simulator.config import DemographicsConfig

DIMENSIONS = ("race", "ethnicity", "language")


class Demographics:
    def __init__(self, config: DemographicsConfig, rng: random.Random):
        self.config, self.rng = config, rng
        self._tables = []
        for dim in DIMENSIONS:
            mix = getattr(config, f"{dim}_mix_bp")
            groups = sorted(mix)  # sorted: a TOML table's key order must not change draws
            self._tables.append((dim, groups, list(accumulate(mix[g] for g in groups))))

    def draw(self) -> dict[str, str]:
        """A new member's fields for `member.enrolled` ({} when demographics are off)."""
        if not self.config.enabled:
            return {}
        got = {}
        for dim, groups, cum in self._tables:
            u = self.rng.random() * cum[-1]
            got[dim] = groups[bisect_right(cum, u)]  # the first group whose cumulative weight > u
        return got

    def alignment_delta_bp(self, got: dict[str, str]) -> int:
        """The change to a member's voluntary alignment rate from their groups' effects."""
        effects = self.config.group_effects
        if not effects:
            return 0
        return sum(e.alignment_delta_bp for key, e in effects.items()
                   if got.get(key.partition(":")[0]) == key.partition(":")[2])
