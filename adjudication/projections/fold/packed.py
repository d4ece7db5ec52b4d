"""Compact per-member storage for the fold's rows: a member's condition dates as one `bytes` of
fixed-size packed records (`struct`; the visit and FFS rows: `fold.rows`, records in one arena
chained per member), their strings (practice, day, month, procedure group, condition) as small
ints in a table the state's stores share. The fold appends a row per claim entry and reads a
member's rows only at epoch boundaries and in reports, so a row costs its packed bytes (20-28,
and a 4-byte link in `fold.rows`) instead of a list of Python objects (about 140 bytes).

Reads decode to the lists the state always held, and a checkpoint (`to_json`) is the same JSON:
the packing is how the fold keeps its state in memory, never a second format of it.

The stores share one table of members (`Codes.slot_of`: member id -> slot) and hold their values
in lists by slot, not a dict each: a claim entry's visit row, FFS rows and conditions look the
member up once in a dict the first lookup brought into the cache (the projections bench's replay:
3 % fewer instructions, counted by cachegrind; 15-20 MB less at a million members). The lists are
one (`Codes.table`), a member's values of every store side by side, so a claim entry reads one
line of it where it read one line of each store's list (at scale, each a cache miss).

Choices where DOMAIN.md is silent (none of them reaches an output):
- A string's code is the order the fold first met it, so codes differ between a live run and a
  restored checkpoint; every read decodes them, so no output depends on them.
- Money is a signed 64-bit integer of cents; counts and codes are 32-bit. A checkpoint value out
  of range is refused on restore (`struct.error`), never wrapped.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterator
from sys import intern
from typing import Any, Final


class Codes:
    """Strings as small ints, and back (one table per state, shared by its stores); the
    members' slots: a member id's place in every per-member store's rows (`slot_of`); and the
    stores' values, a member's side by side (`table`: store k's value for slot s at
    table[s * width + k], None for none; each store's k is its `column`)."""

    __slots__ = ("code", "text", "slot", "members", "table", "width", "heads", "head_width")

    def __init__(self) -> None:
        self.code: dict[str, int] = {}
        self.text: list[str] = []
        self.slot: dict[str, int] = {}  # member id -> its slot (first seen, in any store)
        self.members: list[str] = []  # slot -> member id
        self.table: list[bytes | None] = []
        self.width = 0  # the stores sharing the table
        # `PackedRows`' heads, a member's side by side the same way (store k's for slot s at
        # heads[s * head_width + k], 0 for none; each row store's k is its `head_column`).
        self.heads: array[int] = array("q")
        self.head_width = 0

    def of(self, text: str) -> int:
        code = self.code.get(text)
        if code is None:
            code = self.code[text] = len(self.text)
            self.text.append(text)
        return code

    def slot_of(self, member: str) -> int:
        """The member's slot, given on first sight (the id interned: one copy serves every
        store). One table of members for the stores instead of a dict each: a claim entry that
        adds a visit row, FFS rows and conditions looks its member up in one dict, which the
        first lookup brings into the cache, instead of three, each a cache miss at scale."""
        slot = self.slot.get(member)
        if slot is None:
            member = intern(member)
            slot = self.slot[member] = len(self.members)
            self.members.append(member)
        return slot

    def column(self) -> int:
        """A new store's place among every member's values: the table widened by one (in place,
        should values be held already; a state makes its stores before it holds any)."""
        if self.table:
            self.table[:] = _widened(self.table, self.width, None)
        self.width += 1
        return self.width - 1

    def head_column(self) -> int:
        """A new row store's place among every member's heads (`column`, for `heads`)."""
        if len(self.heads):
            self.heads[:] = _widened(self.heads, self.head_width, 0)
        self.head_width += 1
        return self.head_width - 1


def _widened(values: Any, width: int, empty: Any) -> Any:
    """A row-major table of `width` columns (a list or an array) with one more column, holding
    `empty`, at the end of every row: `Codes.column` and `Codes.head_column` widen theirs so."""
    wider = values[:0]  # empty, of the same type
    for start in range(0, len(values), width):
        wider.extend(values[start:start + width])
        wider.append(empty)
    return wider


class _ByMember:
    """The read side of `LatestDates` (once shared with the row stores, now `fold.rows`):
    member -> one `bytes`, held in the codes' table
    by the member's slot (`Codes.slot_of`, `Codes.table`; None for a member this store holds
    nothing of), decoded on every read (`_decode`) into the value the state always held.
    Iteration goes in slot order; every reader of a whole store sorts or looks members up
    (checkpoints are canonical JSON)."""

    __slots__ = ("_codes", "_column", "_count")

    def __init__(self, codes: Codes):
        self._codes = codes
        self._column = codes.column()  # this store's place among a member's values
        self._count = 0  # members held

    def _decode(self, raw: bytes) -> Any:
        raise NotImplementedError

    def _at(self, slot: int) -> bytes | None:
        """The value held for the member of `slot` (None: none)."""
        codes = self._codes
        at, table = slot * codes.width + self._column, codes.table
        return table[at] if at < len(table) else None

    def _raw(self, member: str) -> bytes | None:
        slot = self._codes.slot.get(member)
        return None if slot is None else self._at(slot)

    def _store(self, slot: int, raw: bytes) -> None:
        """Hold `raw` as the member of `slot`'s value."""
        codes = self._codes
        table, width = codes.table, codes.width
        at = slot * width + self._column
        if at >= len(table):
            table.extend([None] * ((slot + 1) * width - len(table)))
        if table[at] is None:
            self._count += 1
        table[at] = raw

    def _held(self) -> Iterator[tuple[int, bytes]]:
        """(slot, value) of every member this store holds something of, in slot order."""
        codes = self._codes
        table, width = codes.table, codes.width
        for at in range(self._column, len(table), width):
            raw = table[at]
            if raw is not None:
                yield at // width, raw

    def get(self, member: str, default: Any = None) -> Any:
        raw = self._raw(member)
        return default if raw is None else self._decode(raw)

    def __getitem__(self, member: str) -> Any:
        raw = self._raw(member)
        if raw is None:
            raise KeyError(member)
        return self._decode(raw)

    def __contains__(self, member: object) -> bool:
        return type(member) is str and self._raw(member) is not None

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[str]:
        members = self._codes.members
        for slot, _ in self._held():
            yield members[slot]

    def items(self) -> Iterator[tuple[str, Any]]:
        members = self._codes.members
        for slot, raw in self._held():
            yield members[slot], self._decode(raw)

    def values(self) -> Iterator[Any]:
        for _, raw in self._held():
            yield self._decode(raw)

    def _clear(self) -> None:
        codes = self._codes
        table = codes.table
        for at in range(self._column, len(table), codes.width):
            table[at] = None
        self._count = 0

    def to_json(self) -> dict[str, Any]:
        """A checkpoint: the JSON the state always held."""
        return dict(self.items())


_PAIR = struct.Struct("<II")  # a LatestDates pair: (key code, date code)
_CODE = struct.Struct("<I")  # one code of a pair
_PAIR_SIZE: Final = 8  # _PAIR.size, a literal for the compiled loops (checked below)
if _PAIR.size != _PAIR_SIZE or _CODE.size != 4:
    raise ImportError(f"packed: a pair is {_PAIR.size} bytes, not {_PAIR_SIZE}")


class LatestDates(_ByMember):
    """member -> {key: the latest ISO date seen with it} (a member's conditions and the last
    service date that carried each), packed as (key code, date code) pairs in first-seen order."""

    __slots__ = ()

    def note(self, member: str, keys: list[str], day: str) -> None:
        """Each key was seen on `day`: keep the later of it and the date already held. The
        member's pairs are searched and changed as bytes, a key at a time: no decoding into a
        dict and packing back, which cost twice as much (783,834 notes of the projections
        bench's replay: 1.1-1.4 CPU s against 2.3-2.7, both uncompiled)."""
        if not keys:
            return
        codes = self._codes
        when = codes.of(day)
        slot = codes.slot_of(member)
        raw = self._at(slot)
        pairs = raw
        for key in keys:
            k = codes.of(key)
            if pairs is None:  # the member's first
                pairs = _PAIR.pack(k, when)
                continue
            at = _find_key(pairs, k)
            if at < 0:  # first seen: after the others
                pairs += _PAIR.pack(k, when)
                continue
            held = _code_at(pairs, at + 4)
            if held != when and codes.text[held] < day:
                pairs = b"".join((pairs[:at + 4], _CODE.pack(when), pairs[at + 8:]))
        if pairs is not raw and pairs is not None:
            self._store(slot, pairs)

    def keys_between(self, member: str, since: str, until: str) -> list[str]:
        """The member's keys whose date is in [since, until), in first-seen order: what
        `get(member)` holds, filtered on the pairs themselves instead of a dict decoded per
        member (`risk` asks it of every member at every boundary)."""
        raw = self._raw(member)
        found: list[str] = []
        if raw is None:
            return found
        text = self._codes.text
        for at in range(0, len(raw), _PAIR_SIZE):
            day = text[_code_at(raw, at + 4)]
            if since <= day < until:
                found.append(text[_code_at(raw, at)])
        return found

    def _put(self, member: str, dates: dict[str, str]) -> None:
        codes = self._codes
        self._store(codes.slot_of(member), b"".join(
            [_PAIR.pack(codes.of(k), codes.of(d)) for k, d in dates.items()]))

    def _decode(self, raw: bytes) -> dict[str, str]:
        text = self._codes.text
        return {text[k]: text[d] for k, d in _PAIR.iter_unpack(raw)}

    def load(self, data: dict[str, dict[str, str]]) -> None:
        self._clear()
        for member, dates in data.items():
            self._put(member, dict(dates))


def _find_key(pairs: bytes, key: int) -> int:
    """Where the pair of key code `key` starts in a member's pairs (-1: none), each pair's key
    code read in place (`_code_at`): a member holds a few pairs, and compiled this reads them
    in fewer instructions than packing the code and searching the bytes for it (a match of
    which could also stand across two codes, to be searched past)."""
    for at in range(0, len(pairs), _PAIR_SIZE):
        if _code_at(pairs, at) == key:
            return at
    return -1


def _code_at(pairs: bytes, at: int) -> int:
    """The code (`_CODE`: unsigned 32-bit, little-endian) whose bytes start at `at`."""
    return pairs[at] | pairs[at + 1] << 8 | pairs[at + 2] << 16 | pairs[at + 3] << 24


def shared(state: Any, value: tuple) -> tuple:
    """One copy of an immutable tuple that many members hold (most members' spans are the same
    few: a payer, the run's first day, no end); bounded, so a run of unique values stops sharing."""
    cache = state._shared
    found = cache.get(value)
    if found is None:
        if len(cache) < SHARED_LIMIT:
            cache[value] = value
        return value
    return found


SHARED_LIMIT = 200_000
