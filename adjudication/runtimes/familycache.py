"""The partition processor's bounded cache of decoded family states: when full, it evicts the family
whose next input is furthest ahead (`put`'s `due`, from `runtimes.lookahead`), families whose next
input is not known (beyond the look-ahead, or no hints given) first, least recently used first
among them. Without hints it is exactly least-recently-used, as the cache was before.

A family missing the cache costs a read from the store, a decode and, when evicted, an encode and a
write (some 30-45 us, `runtimes.embedded`), against some 40 us to adjudicate an input; how many
inputs miss is what grows with the population (the figures are in `runtimes.lookahead`).
"""

from __future__ import annotations

import heapq
import itertools
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, Protocol

from claimsim.adjudication.engine.family import FamilyState


class NextUses(Protocol):
    """Input seq -> the seq of the next input of the same family, where known (asked in
    increasing seq order; `lookahead.NextUse`)."""

    def get(self, seq: int, /) -> int | None: ...


class FamilyCache:
    __slots__ = ("_far", "_near", "_due", "_heap", "_tick")

    def __init__(self) -> None:
        # Next input unknown, least recently used first. An OrderedDict: a plain dict's first key
        # is found by scanning past the slots its evictions emptied (measured: 17.6 us an eviction
        # at 32,768 families, against 0.3 us).
        self._far: OrderedDict[Any, FamilyState] = OrderedDict()
        self._near: dict[Any, FamilyState] = {}  # next input known: its seq in `_due`
        self._due: dict[Any, int] = {}
        # (-due, tick, key): the furthest due on top; an entry whose key has since been taken
        # out or given another due is skipped (`_tick` keeps keys, of any type, from being
        # compared).
        self._heap: list[tuple[int, int, Any]] = []
        self._tick = itertools.count()

    def put(self, key: Any, family: FamilyState, due: int | None = None) -> None:
        """Cache `family` (not already cached), its next input at seq `due` (None: unknown)."""
        if due is None:
            self._far[key] = family
            return
        self._near[key] = family
        self._due[key] = due
        heap = self._heap
        heapq.heappush(heap, (-due, next(self._tick), key))
        if len(heap) > 2 * len(self._near) + 1024:  # mostly skipped entries: rebuild it
            self._heap = [(-d, next(self._tick), k) for k, d in self._due.items()]
            heapq.heapify(self._heap)

    __setitem__ = put

    def pop(self, key: Any, default: Any = None) -> FamilyState | None:
        family = self._far.pop(key, None)
        if family is None:
            family = self._near.pop(key, None)
            if family is None:
                return default
            del self._due[key]
        return family

    def get(self, key: Any, default: Any = None) -> FamilyState | None:
        family = self._far.get(key)
        return family if family is not None else self._near.get(key, default)

    def pop_victim(self) -> tuple[Any, FamilyState]:
        """Take out the family to evict (module docstring)."""
        if self._far:
            return self._far.popitem(last=False)
        heap, due = self._heap, self._due
        while True:
            neg, _, key = heapq.heappop(heap)
            if due.get(key) == -neg:
                del due[key]
                return key, self._near.pop(key)

    def __len__(self) -> int:
        return len(self._far) + len(self._near)

    def __contains__(self, key: Any) -> bool:
        return key in self._far or key in self._near

    def __iter__(self) -> Iterator[Any]:
        return itertools.chain(self._far, self._near)

    def values(self) -> Iterator[FamilyState]:
        return itertools.chain(self._far.values(), self._near.values())

    def clear(self) -> None:
        self._far.clear()
        self._near.clear()
        self._due.clear()
        self._heap.clear()
