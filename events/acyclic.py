"""The cyclic-GC pause every long loop over events shares: the simulator's model, the runtimes'
adjudication loops and the projection folds build millions of small acyclic dicts and lists.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cycle_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the block. Claims, events, family states and
    projection state are trees of plain values: the collector would rescan them again and again
    (a quarter to over half of a run's time, growing with the run) and never find a cycle.
    Reference counting still frees everything; the collector comes back in whatever state the
    caller had it, so blocks nest."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
