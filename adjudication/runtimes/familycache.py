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
from collections.abc import Iterator
from typing import Any, Protocol

from claimsim.adjudication.engine.family import FamilyState

# A family of unknown next use is given a due of its own above every input seq, `UNKNOWN` less the
# number of such puts so far: those go first, and the oldest of them first (least recently used),
# as the furthest due goes first among the rest, with one heap for both.
UNKNOWN = 1 << 62


class NextUses(Protocol):
    """Input seq -> the seq of the next input of the same family, where known (asked in
    increasing seq order; `lookahead.NextUse`)."""

    def get(self, seq: int, /) -> int | None: ...


class FamilyCache:
    __slots__ = ("_entries", "_owner", "_heap", "_unknown")

    def __init__(self) -> None:
        # key -> (family, due). One dict, a due beside its family: a use of a cached family is a
        # `pop` and a `put`, three dict operations and a heap push (against six in a cache keeping
        # known and unknown dues apart; the cache alone over the 100,000-member run's keys: 1.9-2.2
        # us an input against 2.0, within the noise of a loaded machine).
        self._entries: dict[Any, tuple[FamilyState, int]] = {}
        # A due is an input seq (or an unknown one's own), so no two cached families share one:
        # the heap holds dues alone (negated: the furthest on top) and `_owner` whose each was.
        # An owner is not forgotten when its family is used again or popped: a due popped off the
        # heap is its family's only if the family is still cached with that due (else skipped).
        # (Tuples of due and key in the heap cost 2.0 us an input at 100,000 members, against 0.6
        # for least-recently-used.)
        self._owner: dict[int, Any] = {}
        self._heap: list[int] = []
        self._unknown = UNKNOWN  # the next unknown due given

    def put(self, key: Any, family: FamilyState, due: int | None = None) -> None:
        """Cache `family` (not already cached), its next input at seq `due` (None: unknown)."""
        owner = self._owner
        if due is not None:
            other = owner.get(due)
            # a due already another cached family's: a hint that is wrong, taken as unknown
            if other is not None and other != key and self._entries.get(other, (0, -1))[1] == due:
                due = None
        if due is None:
            due = self._unknown = self._unknown - 1
        self._entries[key] = (family, due)
        owner[due] = key
        heap = self._heap
        heapq.heappush(heap, -due)
        if len(heap) > 2 * len(self._entries) + 1024:  # mostly skipped entries: rebuild it
            self._rebuild()

    __setitem__ = put

    def _rebuild(self) -> None:
        self._owner = {due: key for key, (_, due) in self._entries.items()}
        self._heap = [-due for due in self._owner]
        heapq.heapify(self._heap)

    def pop(self, key: Any, default: Any = None) -> FamilyState | None:
        entry = self._entries.pop(key, None)
        return default if entry is None else entry[0]

    def get(self, key: Any, default: Any = None) -> FamilyState | None:
        entry = self._entries.get(key)
        return default if entry is None else entry[0]

    def pop_victim(self) -> tuple[Any, FamilyState]:
        """Take out the family to evict (module docstring)."""
        heap, owner, entries = self._heap, self._owner, self._entries
        while True:
            due = -heapq.heappop(heap)
            key = owner.pop(due, owner)  # `owner`: none
            if key is not owner:
                entry = entries.get(key)
                if entry is not None and entry[1] == due:
                    del entries[key]
                    return key, entry[0]

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Any) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[Any]:
        return iter(self._entries)

    def values(self) -> Iterator[FamilyState]:
        return (family for family, _ in self._entries.values())

    def clear(self) -> None:
        self._entries.clear()
        self._owner.clear()
        self._heap.clear()
