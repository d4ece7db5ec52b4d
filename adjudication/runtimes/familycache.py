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
    __slots__ = ("_far", "_near", "_due", "_owner", "_heap")

    def __init__(self) -> None:
        # Next input unknown, least recently used first. An OrderedDict: a plain dict's first key
        # is found by scanning past the slots its evictions emptied (measured: 17.6 us an eviction
        # at 32,768 families, against 0.3 us).
        self._far: OrderedDict[Any, FamilyState] = OrderedDict()
        self._near: dict[Any, FamilyState] = {}  # next input known: its seq in `_due`
        self._due: dict[Any, int] = {}
        # A due is an input seq, so no two cached families share one: the heap holds dues alone
        # (negated: the furthest on top), `_owner` whose each is. A due whose family has since been
        # used again or evicted has no owner and is skipped. (Tuples of due and key in the heap
        # cost 2.0 us an input at 100,000 members, against 0.6 for least-recently-used.)
        self._owner: dict[int, Any] = {}
        self._heap: list[int] = []

    def put(self, key: Any, family: FamilyState, due: int | None = None) -> None:
        """Cache `family` (not already cached), its next input at seq `due` (None: unknown)."""
        if due is None or due in self._owner:  # (a due already taken: a hint that is wrong)
            self._far[key] = family
            return
        self._near[key] = family
        self._due[key] = due
        self._owner[due] = key
        heap = self._heap
        heapq.heappush(heap, -due)
        if len(heap) > 2 * len(self._owner) + 1024:  # mostly skipped entries: rebuild it
            self._heap = [-d for d in self._owner]
            heapq.heapify(self._heap)

    __setitem__ = put

    def pop(self, key: Any, default: Any = None) -> FamilyState | None:
        family = self._far.pop(key, None)
        if family is None:
            family = self._near.pop(key, None)
            if family is None:
                return default
            del self._owner[self._due.pop(key)]
        return family

    def get(self, key: Any, default: Any = None) -> FamilyState | None:
        family = self._far.get(key)
        return family if family is not None else self._near.get(key, default)

    def pop_victim(self) -> tuple[Any, FamilyState]:
        """Take out the family to evict (module docstring)."""
        if self._far:
            return self._far.popitem(last=False)
        heap, owner = self._heap, self._owner
        while True:
            due = -heapq.heappop(heap)
            key = owner.pop(due, owner)  # `owner`: none
            if key is not owner:
                del self._due[key]
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
        self._owner.clear()
        self._heap.clear()
