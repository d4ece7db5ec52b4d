"""Values overwritten in place: a file of slots, each holding one value (a 4-byte length, then the
bytes) and sized to a power of two, so a value rewritten a little longer stays where it is. The
disk store (`diskstore.RocksStore`) keeps hot family states here, which are rewritten on every
cache miss: in an LSM tree every rewrite is a new copy that compaction must merge away again,
and that cost grew with the population; here a rewrite is one `pwrite` and a read one `pread`.

A value is found by its reference (`SlotRef`, 12 bytes: offset and capacity), which the caller
keeps (the disk store: in RocksDB, under the value's key) and which changes only when the value
outgrows its slot. Slots left behind are not reused: each is smaller than its successor, so the
file stays under twice the live data.

Choices where DOMAIN.md is silent: not crash-safe (a torn in-place write is not detected); it is
for scratch state the embedded runtime rebuilds from its ledger.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import NamedTuple

LENGTH = struct.Struct("<I")
REF = struct.Struct("<QI")  # a `SlotRef` as stored
MIN_SLOT = 256


class SlotRef(NamedTuple):
    offset: int
    capacity: int  # bytes, the length prefix included

    def pack(self) -> bytes:
        return REF.pack(self.offset, self.capacity)

    @classmethod
    def unpack(cls, raw: bytes) -> SlotRef:
        return cls(*REF.unpack(raw))


def slot_size(length: int) -> int:
    """The capacity of a new slot for a value of `length` bytes: the least power of two (at least
    `MIN_SLOT`) that holds it and its length prefix."""
    need = length + LENGTH.size
    return max(MIN_SLOT, 1 << (need - 1).bit_length())


class SlotFile:
    def __init__(self, path: Path | str):
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        self._end = os.fstat(self._fd).st_size

    def read(self, ref: SlotRef) -> bytes:
        raw = os.pread(self._fd, ref.capacity, ref.offset)
        (length,) = LENGTH.unpack_from(raw)
        return raw[LENGTH.size:LENGTH.size + length]

    def write(self, value: bytes, ref: SlotRef | None) -> SlotRef:
        """Write `value` in its slot `ref` if it fits, else in a new slot; returns where it is."""
        data = LENGTH.pack(len(value)) + value
        if ref is None or len(data) > ref.capacity:
            ref = SlotRef(self._end, slot_size(len(value)))
            self._end += ref.capacity
            # The file's size is where the next slot goes (a reopened file starts there): a new
            # slot is written whole, padded, so one `pwrite` both fills it and sets the size (an
            # `os.ftruncate` beside it cost 1.4 % of a 100,000-member run).
            data += bytes(ref.capacity - len(data))
        os.pwrite(self._fd, data, ref.offset)
        return ref

    def size(self) -> int:
        return self._end

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
