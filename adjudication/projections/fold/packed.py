"""Compact per-member storage for the fold's rows: each member's visit or FFS rows as one `bytes`
of fixed-size packed records (`struct`), their strings (practice, day, month, procedure group,
condition) as small ints in a table the state's stores share. The fold appends a row per claim
entry and reads a member's rows only at epoch boundaries and in reports, so a row costs its
packed bytes (20-28) instead of a list of Python objects (about 140 bytes), and a member one
`bytes` object instead of a list of lists.

Reads decode to the lists the state always held, and a checkpoint (`to_json`) is the same JSON:
the packing is how the fold keeps its state in memory, never a second format of it.

Choices where DOMAIN.md is silent (none of them reaches an output):
- A string's code is the order the fold first met it, so codes differ between a live run and a
  restored checkpoint; every read decodes them, so no output depends on them.
- Money is a signed 64-bit integer of cents; counts and codes are 32-bit. A checkpoint value out
  of range is refused on restore (`struct.error`), never wrapped.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from sys import intern
from typing import Any


class Codes:
    """Strings as small ints, and back (one table per state, shared by its stores)."""

    __slots__ = ("code", "text")

    def __init__(self) -> None:
        self.code: dict[str, int] = {}
        self.text: list[str] = []

    def of(self, text: str) -> int:
        code = self.code.get(text)
        if code is None:
            code = self.code[text] = len(self.text)
            self.text.append(text)
        return code


class _ByMember:
    """The read side both packed stores share: member -> one `bytes`, decoded on every read
    (`_decode`) into the value the state always held."""

    __slots__ = ("_rows", "_codes")

    def __init__(self, codes: Codes):
        self._rows: dict[str, bytes] = {}
        self._codes = codes

    def _decode(self, raw: bytes) -> Any:
        raise NotImplementedError

    def get(self, member: str, default: Any = None) -> Any:
        raw = self._rows.get(member)
        return default if raw is None else self._decode(raw)

    def __getitem__(self, member: str) -> Any:
        return self._decode(self._rows[member])

    def __contains__(self, member: object) -> bool:
        return member in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def items(self) -> Iterator[tuple[str, Any]]:
        for member, raw in self._rows.items():
            yield member, self._decode(raw)

    def values(self) -> Iterator[Any]:
        for raw in self._rows.values():
            yield self._decode(raw)

    def to_json(self) -> dict[str, Any]:
        """A checkpoint: the JSON the state always held."""
        return dict(self.items())


class PackedRows(_ByMember):
    """member -> rows of one layout: `fmt` is the `struct` format of a row (little-endian, no
    padding), `text_columns` the positions that hold strings (stored as `Codes`). Reads return
    each row as a list, in the order the rows were added."""

    __slots__ = ("_struct", "_text")

    def __init__(self, fmt: str, text_columns: tuple[int, ...], codes: Codes):
        super().__init__(codes)
        self._struct = struct.Struct("<" + fmt)
        self._text = text_columns

    def add(self, member: str, row: tuple) -> None:
        """Append a row (strings in the text columns)."""
        of = self._codes.of
        values = list(row)
        for i in self._text:
            values[i] = of(values[i])
        self.add_coded(member, values)

    def add_coded(self, member: str, values) -> None:
        """Append a row whose text columns already hold their codes (`Codes.of`): the fold's hot
        path codes a claim's practice and day once for its visit and FFS rows."""
        packed = self._struct.pack(*values)
        rows = self._rows
        old = rows.get(member)
        if old is None:  # the member's id, interned: one copy serves every store's key
            rows[intern(member)] = packed
        else:
            rows[member] = old + packed

    def _decode(self, raw: bytes) -> list[list]:
        text, columns = self._codes.text, self._text
        rows = []
        for values in self._struct.iter_unpack(raw):
            row = list(values)
            for i in columns:
                row[i] = text[row[i]]
            rows.append(row)
        return rows

    def rows_count(self) -> int:
        return sum(len(raw) for raw in self._rows.values()) // self._struct.size

    def nbytes(self) -> int:
        """The packed rows' size (what the store adds per row, without the per-member keys)."""
        return sum(len(raw) for raw in self._rows.values())

    def load(self, data: dict[str, list[list]]) -> None:
        self._rows.clear()
        for member, rows in data.items():
            for row in rows:
                self.add(member, tuple(row))


class LatestDates(_ByMember):
    """member -> {key: the latest ISO date seen with it} (a member's conditions and the last
    service date that carried each), packed as (key code, date code) pairs in first-seen order."""

    __slots__ = ()
    _PAIR = struct.Struct("<II")

    def note(self, member: str, keys, day: str) -> None:
        """Each key was seen on `day`: keep the later of it and the date already held. Works on
        the codes (a claim entry's hot path): only a date already held is read back as text."""
        of = self._codes.of
        when = of(day)
        raw = self._rows.get(member)
        if raw is None:
            self._rows[intern(member)] = self._pack({of(k): when for k in keys})
            return
        known = dict(self._PAIR.iter_unpack(raw))  # key code -> date code, in first-seen order
        text, changed = self._codes.text, False
        for key in keys:
            k = of(key)
            held = known.get(k)
            if held is None or (held != when and text[held] < day):
                known[k] = when
                changed = True
        if changed:
            self._rows[member] = self._pack(known)

    def _pack(self, known: dict[int, int]) -> bytes:
        pack = self._PAIR.pack
        return b"".join([pack(k, d) for k, d in known.items()])

    def _put(self, member: str, dates: dict[str, str]) -> None:
        of = self._codes.of
        self._rows[member if member in self._rows else intern(member)] = self._pack(
            {of(k): of(d) for k, d in dates.items()})

    def _decode(self, raw: bytes) -> dict[str, str]:
        text = self._codes.text
        return {text[k]: text[d] for k, d in self._PAIR.iter_unpack(raw)}

    def load(self, data: dict[str, dict[str, str]]) -> None:
        self._rows.clear()
        for member, dates in data.items():
            self._put(member, dict(dates))


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
