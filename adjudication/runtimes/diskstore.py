"""The disk-backed `Store`: the partition processor's keys and values (bytes to bytes) in a RocksDB
database (`rocksdict`, in raw mode: the bytes go to disk as they are, readable by any RocksDB
client, faust's `rocksdb://` tables among them). Memory stays bounded whatever the population:
RocksDB keeps fixed write buffers and a block cache and everything else on disk.

Why RocksDB: measured on this machine (60,000 keys of 6 kB, then 60,000 random read-modify-writes)
`rocksdict` did 43k puts/s and 16k get+put/s on a 177 MB database; stdlib `sqlite3` (journal and
sync off, one transaction) 37k and 7.3k on 503 MB. LMDB was not chosen: its map size must be
fixed up front and it does not compress.

Why the values are kept apart by kind: the processor's two big kinds of value are used in two
ways (key layout in `processor.py`). Claim records (`c:`) are written once and read rarely; hot
family states (`f:`) are overwritten on every cache miss. With RocksDB's defaults (one leveled
LSM tree, values inside it) compaction rewrote every value again and again as the database grew:
at 1,000,000 members about 100 GB written for 16 GB stored, and the CPU per input rose with the
population. Here the records go to their own column family's blob files (values written once
beside the tree, which holds only their keys and where they are), and the hot states to a
`slotfile.SlotFile`, rewritten in place, the tree holding only each one's slot (a key rewritten
only when its state outgrows the slot). Both trees use universal compaction (fewer rewrites;
space is not what is short for a scratch store) and bloom filters (a family's first input reads
a key that is nowhere). The figures are in the README's "Performance at scale".
"""

from __future__ import annotations

import heapq
import shutil
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rocksdict import (BlockBasedOptions, Cache, DBCompactionStyle, DBCompressionType, Options,
                       Rdict, WriteBatch, WriteOptions)

from claimsim.adjudication.runtimes.slotfile import SlotFile, SlotRef

MB = 1 << 20
RECORDS = "records"  # the column family of the keys under RECORD_PREFIX
RECORD_PREFIX = b"c:"
SLOT_PREFIX = b"f:"  # these keys' values are in the slot file, the tree holding their `SlotRef`
SLOT_FILE = "hot.slots"
# How many slot-file keys' `SlotRef`s (or absence) a store remembers from reading them, so that
# writing the value back, as the processor does when the family leaves its cache, need not look
# the slot up in RocksDB again (some 6 us a lookup at 300,000 members, growing with the tree).
# A key's entry goes when it is written; past the bound the oldest go (a write then looks up).
REMEMBERED_SLOTS = 1 << 16
# Claim records put but not yet written: they go to RocksDB together, in one `WriteBatch`, when
# this many wait (some 1 MB). A put of its own cost 4.0-4.3 us, one in a batch 2.4-3.1 (100,000
# puts of 1 kB into the records' column family). Reads look among them first.
PENDING_RECORDS = 1024
# What a warm value (`warm_mb`) costs in memory besides its bytes: its bytes object's header, its
# key's object and the dict's share (CPython 3.11, 64-bit; a dict of 100,000 such keys).
WARM_ENTRY = 160


def _options(cache: Cache, write_buffer_mb: int, *, blobs: bool) -> Options:
    opts = Options(raw_mode=True)
    opts.create_if_missing(True)
    opts.create_missing_column_families(True)
    opts.set_write_buffer_size(write_buffer_mb * MB)
    opts.set_max_write_buffer_number(2)
    opts.set_compression_type(DBCompressionType.lz4())
    opts.set_compaction_style(DBCompactionStyle.universal())
    table = BlockBasedOptions()
    table.set_block_cache(cache)
    table.set_bloom_filter(10, False)
    opts.set_block_based_table_factory(table)
    if blobs:  # every value beside the tree: only keys and blob references get compacted
        opts.set_enable_blob_files(True)
        opts.set_min_blob_size(0)
        opts.set_blob_file_size(64 * MB)
        # Snappy, not LZ4: each blob is compressed on its own, and LZ4 clears a 16 kB table for
        # every one (callgrind, 20,000 records of 400 bytes put: LZ4 2,132M instructions, Snappy
        # 1,768M, none 1,659M; at 10,000 members LZ4 was 8.9 % of `adjudicate`'s instructions).
        opts.set_blob_compression_type(DBCompressionType.snappy())
    return opts


class RocksStore:
    """A `Store` in a RocksDB directory. `scratch=True`: the directory is this process's own
    (emptied on open, removed on close, no write-ahead log: a crash loses it, which is fine for a
    store the embedded runtime rebuilds from its ledger). `cache_mb` bounds RocksDB's own memory
    (one block cache; each column family's write buffers are a quarter of it, two of them).

    `warm_mb` keeps slot-file values (hot family states) in memory instead, as long as they fit
    in that many MB (`_put_warm`): a family read back from there costs no RocksDB lookup and no
    `pread`, and written back no `pwrite` (`claimsim adjudicate`'s choice, `runtimes.embedded`)."""

    def __init__(self, path: Path | str, *, scratch: bool = False, cache_mb: int = 64,
                 warm_mb: float = 0):
        self.path, self.scratch = Path(path), scratch
        self.cache_mb, self.warm_mb = cache_mb, warm_mb
        if warm_mb and not scratch:
            raise ValueError("warm values live in memory only: a durable store cannot keep them")
        if scratch and self.path.exists():
            shutil.rmtree(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        cache, buffer_mb = Cache(cache_mb * MB), max(1, cache_mb // 4)
        records = _options(cache, buffer_mb, blobs=True)
        self._db = Rdict(str(self.path), _options(cache, buffer_mb, blobs=False),
                         column_families={RECORDS: records})
        self._records = self._db.get_column_family(RECORDS)
        self._records_handle = self._db.get_column_family_handle(RECORDS)
        # c: key -> its record, put and not yet written (`PENDING_RECORDS`)
        self._pending: dict[bytes, bytes] = {}
        self._slots = SlotFile(self.path / SLOT_FILE)
        # f: key -> its slot (None: absent), as read; see REMEMBERED_SLOTS
        self._refs: OrderedDict[bytes, SlotRef | None] = OrderedDict()
        # f: key -> its value, held in memory and nowhere else; what is left of `warm_mb`
        self._warm: dict[bytes, bytes] = {}
        self._warm_left = int(warm_mb * MB)
        self._write_options = WriteOptions()
        if scratch:
            self._write_options.disable_wal = True
            self._db.set_write_options(self._write_options)
            self._records.set_write_options(self._write_options)
        self._closed = False

    def _family(self, key: bytes) -> Rdict:
        return self._records if key.startswith(RECORD_PREFIX) else self._db

    def get(self, key: bytes, default: Any = None) -> bytes | None:
        if key.startswith(RECORD_PREFIX):
            value = self._pending.get(key)
            if value is None:
                value = self._records.get(key)
            return default if value is None else value
        warm = self._warm.get(key)
        if warm is not None:
            return warm
        value = self._db.get(key)
        if not key.startswith(SLOT_PREFIX):
            return default if value is None else value
        ref = None if value is None else SlotRef.unpack(value)
        refs = self._refs
        refs[key] = ref
        if len(refs) > REMEMBERED_SLOTS:
            refs.popitem(last=False)
        return default if ref is None else self._slots.read(ref)

    def __setitem__(self, key: bytes, value: bytes) -> None:
        if key.startswith(RECORD_PREFIX):
            pending = self._pending
            pending[key] = value
            if len(pending) >= PENDING_RECORDS:
                self._write_pending()
            return
        if self._pending and not self.scratch:
            # A durable store writes in the order it was given: whatever a crash keeps is a
            # prefix of the puts (the processor's write order, `processor.py`'s docstring).
            self._write_pending()
        if key.startswith(SLOT_PREFIX):
            if self._warm and self._put_warm(key, value):
                return
            old = self._refs.pop(key, self)  # `self`: not remembered
            if old is self:
                raw = self._db.get(key)
                old = None if raw is None else SlotRef.unpack(raw)
            if old is None and self._warm_left >= len(value) + WARM_ENTRY:
                self._warm[key] = value  # new to the store, and it fits: kept in memory
                self._warm_left -= len(value) + WARM_ENTRY
                return
            ref = self._slots.write(value, old)
            if ref != old:
                self._db[key] = ref.pack()
        else:
            self._db[key] = value

    def _put_warm(self, key: bytes, value: bytes) -> bool:
        """Replace a warm value, if `key` has one and the new value still fits (True); one that
        no longer fits leaves memory for the slot file (False), so the warm values stay within
        `warm_mb` as they grow (a family's state grows all year: the budget is held, not met
        once when it was small). A key out of memory never comes back into it."""
        warm = self._warm
        old = warm.get(key)
        if old is None:
            return False
        left = self._warm_left + len(old) - len(value)
        if left >= 0:
            warm[key] = value
            self._warm_left = left
            return True
        del warm[key]
        self._warm_left += len(old) + WARM_ENTRY
        self._refs[key] = None  # nowhere on disk yet: the caller's write needs no lookup
        return False

    def _write_pending(self) -> None:
        """Write the claim records waiting in `_pending` to RocksDB, in one batch."""
        batch = WriteBatch(raw_mode=True)
        batch.set_default_column_family(self._records_handle)
        for key, value in self._pending.items():
            batch.put(key, value)
        self._db.write(batch, self._write_options)
        self._pending.clear()

    def __getitem__(self, key: bytes) -> bytes:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: bytes) -> bool:
        return (key in self._pending or key in self._warm
                or self._family(key).get(key) is not None)

    def __delitem__(self, key: bytes) -> None:
        self._refs.pop(key, None)
        warm = self._warm.pop(key, None)
        if warm is not None:
            self._warm_left += len(warm) + WARM_ENTRY
            return
        if self._pending:
            self._write_pending()  # (so the delete lands after every put before it)
        del self._family(key)[key]

    def items(self, prefix: bytes = b"") -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) in key order; with `prefix`, only the keys that start with it."""
        if self._pending:
            self._write_pending()
        if prefix.startswith(RECORD_PREFIX):
            return self._values(_scan(self._records, prefix))
        tree = self._values(_scan(self._db, prefix))
        if self._warm:
            warm = sorted((k, v) for k, v in self._warm.items() if k.startswith(prefix))
            tree = heapq.merge(tree, warm)
        if prefix and not RECORD_PREFIX.startswith(prefix):
            return tree
        return heapq.merge(tree, _scan(self._records, prefix))

    def _values(self, items: Iterator[tuple[bytes, bytes]]) -> Iterator[tuple[bytes, bytes]]:
        for key, value in items:
            if key.startswith(SLOT_PREFIX):
                value = self._slots.read(SlotRef.unpack(value))
            yield key, value

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._pending and not self.scratch:
                self._write_pending()
            self._pending.clear()
            self._warm.clear()
            del self._records, self._records_handle  # a column family handle keeps it open
            self._db.close()
            self._slots.close()
        finally:  # a Ctrl-C landing in the slow close (its flush) still gives the scratch back
            if self.scratch:
                shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> RocksStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _scan(db: Rdict, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
    for key, value in db.items(from_key=prefix):
        if prefix and not key.startswith(prefix):
            return
        yield key, value
