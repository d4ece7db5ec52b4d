"""The fold's per-member row stores (`PackedRows`: visits and FFS), beside `fold.packed`'s other
compact storage and sharing its `Codes` (strings as small ints, members' slots, heads).
Compiled with the fold (setup.py): the fold appends rows on every claim entry.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any, Final

from claimsim.adjudication.projections.fold.packed import Codes

_LINK: Final = struct.Struct("<I")  # a row's link in `PackedRows`' arena


class PackedRows:
    """member -> rows of one layout: `fmt` is the `struct` format of a row (little-endian, no
    padding), `text_columns` the positions that hold strings (stored as `Codes`). Reads return
    each row as a list, in the order the rows were added.

    Every member's rows are one `bytearray` (`_arena`), records in the order they were
    appended: a row, then its link (`_LINK`: the number of the member's row before it, 1 + its
    record's index, 0 for none); the member's head (`Codes.heads`, at `head_column`) numbers
    its last row the same way. An append adds a record at the arena's end and moves the head:
    it touches no earlier row, where a member's rows held as one `bytes` were copied whole into
    a new object on every append (a cache miss on the member's object, an allocation, a copy
    growing with the member's history and a free). Reads walk a member's chain back (boundaries,
    voids and reports read rows; the fold appends them on every claim entry)."""

    __slots__ = ("_codes", "_column", "_count", "_struct", "_size", "_text", "_record", "_step",
                 "_arena", "_records")

    def __init__(self, fmt: str, text_columns: tuple[int, ...], codes: Codes):
        self._codes = codes
        self._column = codes.head_column()  # this store's place among a member's heads
        self._count = 0  # members held
        self._struct = struct.Struct("<" + fmt)
        self._size: int = self._struct.size  # a row's bytes
        self._text = text_columns
        self._record = struct.Struct("<" + fmt + "I")  # a row and its link
        self._step: int = self._record.size  # a record's bytes, checked on every push
        self._arena = bytearray()
        self._records = 0

    def add(self, member: str, row: tuple) -> None:
        """Append a row (strings in the text columns)."""
        codes = self._codes
        values = list(row)
        for i in self._text:
            values[i] = codes.of(values[i])
        self.append(member, self._struct.pack(*values))

    def append(self, member: str, packed: bytes) -> None:
        """Append one row already packed in this store's layout, text columns as their codes
        (`Codes.of`)."""
        if len(packed) != self._size:
            raise struct.error(f"{len(packed)} bytes are not one row of {self._struct.format!r}")
        slot = self._codes.slot_of(member)
        head = self.head(slot)
        self.push(slot, packed + _LINK.pack(head), head)

    def head(self, slot: int) -> int:
        """The link a row appended now for the member of `slot` (`Codes.slot_of`) carries."""
        codes = self._codes
        heads, width = codes.heads, codes.head_width
        at = slot * width + self._column
        if at >= len(heads):
            heads.frombytes(bytes(8 * ((slot + 1) * width - len(heads))))
        head: int = heads[at]
        return head

    def push(self, slot: int, record: bytes, head: int) -> None:
        """Append one record: a row packed in this store's layout (text columns as their codes)
        and its link, `head` (`head(slot)` read just before), the two packed in one (`fmt` +
        "I"): the fold's hot path packs a claim's rows itself. Rows are read on voids
        (`fold.claims`), so they are appended at once."""
        if len(record) != self._step:
            raise struct.error(f"{len(record)} bytes are not one record of "
                               f"{self._record.format!r}")
        if head == 0:
            self._count += 1
        self._arena += record
        self._records += 1
        codes = self._codes
        codes.heads[slot * codes.head_width + self._column] = self._records

    def _chain(self, slot: int) -> list[int]:
        """The arena offsets of the member of `slot`'s records, in the order they were added."""
        codes = self._codes
        heads, at = codes.heads, slot * codes.head_width + self._column
        head: int = heads[at] if at < len(heads) else 0
        offsets: list[int] = []
        arena, step, size = self._arena, self._step, self._size
        unpack_link = _LINK.unpack_from
        while head:
            start = (head - 1) * step
            offsets.append(start)
            head = unpack_link(arena, start + size)[0]
        offsets.reverse()
        return offsets

    def records(self, member: str) -> list[tuple]:
        """The member's rows as stored (text columns as their codes, each tuple's last value its
        link), newest first: for scans on the codes (`Codes.code`) that need no order."""
        slot = self._slot(member)
        if slot < 0:
            return []
        codes = self._codes
        head: int = codes.heads[slot * codes.head_width + self._column]
        arena, step, unpack = self._arena, self._step, self._record.unpack_from
        found: list[tuple] = []
        while head:
            record = unpack(arena, (head - 1) * step)
            found.append(record)
            head = record[-1]
        return found

    def _slot(self, member: object) -> int:
        """The member's slot when this store holds rows of it, else -1."""
        if type(member) is not str:
            return -1
        codes = self._codes
        slot = codes.slot.get(member)
        if slot is None:
            return -1
        at = slot * codes.head_width + self._column
        return slot if at < len(codes.heads) and codes.heads[at] != 0 else -1

    def packed(self, member: str) -> bytes:
        """The member's rows packed one after another, without their links (b"" for none): for
        scans on the codes (`Codes.code`)."""
        slot = self._slot(member)
        if slot < 0:
            return b""
        arena, size = self._arena, self._size
        return b"".join([bytes(arena[at:at + size]) for at in self._chain(slot)])

    def _rows(self, slot: int) -> list[list]:
        text, columns = self._codes.text, self._text
        arena, unpack = self._arena, self._record.unpack_from
        rows = []
        for at in self._chain(slot):
            row = list(unpack(arena, at))
            row.pop()  # the link
            for i in columns:
                row[i] = text[row[i]]
            rows.append(row)
        return rows

    def _held(self) -> Iterator[int]:
        """The slots of every member this store holds rows of, in slot order."""
        codes = self._codes
        heads, width = codes.heads, codes.head_width
        for at in range(self._column, len(heads), width):
            if heads[at]:
                yield at // width

    def get(self, member: str, default: Any = None) -> Any:
        slot = self._slot(member)
        return default if slot < 0 else self._rows(slot)

    def __getitem__(self, member: str) -> list[list]:
        slot = self._slot(member)
        if slot < 0:
            raise KeyError(member)
        return self._rows(slot)

    def __contains__(self, member: object) -> bool:
        return self._slot(member) >= 0

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[str]:
        members = self._codes.members
        for slot in self._held():
            yield members[slot]

    def items(self) -> Iterator[tuple[str, list[list]]]:
        members = self._codes.members
        for slot in self._held():
            yield members[slot], self._rows(slot)

    def values(self) -> Iterator[list[list]]:
        for slot in self._held():
            yield self._rows(slot)

    def to_json(self) -> dict[str, Any]:
        """A checkpoint: the JSON the state always held."""
        return dict(self.items())

    def rows_count(self) -> int:
        return self._records

    def nbytes(self) -> int:
        """The packed rows' size (what the store adds per row, without the per-member keys or
        the rows' links)."""
        return self._records * self._size

    def load(self, data: dict[str, list[list]]) -> None:
        codes = self._codes
        heads, width = codes.heads, codes.head_width
        for at in range(self._column, len(heads), width):
            heads[at] = 0
        self._arena = bytearray()
        self._records = self._count = 0
        for member, rows in data.items():
            for row in rows:
                self.add(member, tuple(row))
