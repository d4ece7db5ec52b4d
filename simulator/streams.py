"""Named random sub-streams: one seed per run, one independent stream per concern.

Each stream's seed is a SHA-256 of the run seed and the stream's name (never `hash()`), so adding
draws in one concern never shifts another, and what-if points with the same seed share their
random numbers (common random numbers, DESIGN.md "Determinism").
"""

from __future__ import annotations

import hashlib
import random

import numpy as np


def stream_seed(seed: int, *names: object) -> int:
    """A 64-bit seed for the stream `names` of run `seed`."""
    label = ":".join([str(seed), *(str(n) for n in names)])
    return int.from_bytes(hashlib.sha256(label.encode()).digest()[:8], "big")


def py_stream(seed: int, *names: object) -> random.Random:
    """A `random.Random` for scalar draws (built once per concern, not per draw)."""
    return random.Random(stream_seed(seed, *names))


def np_stream(seed: int, *names: object) -> np.random.Generator:
    """A numpy generator (PCG64) for vectorized draws over the whole population."""
    return np.random.Generator(np.random.PCG64(stream_seed(seed, *names)))
