"""The worker's C heap (`streaming/heap.py`): with glibc's mmap threshold fixed, a large block
freed does not teach malloc to serve the next large block from the heap (where its pages would
stay after it is freed). glibc only; skipped elsewhere."""

from __future__ import annotations

import ctypes
import sys

import pytest

from claimsim.adjudication.runtimes.streaming import heap

pytestmark = pytest.mark.skipif(heap._glibc("mallinfo2") is None, reason="glibc only")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _mmapped_bytes() -> int:
    mallinfo2 = heap._glibc("mallinfo2")
    mallinfo2.restype = _MallInfo2
    return mallinfo2().hblkhd


def test_a_large_block_is_mapped_even_after_a_larger_one_was_freed():
    assert sys.platform.startswith("linux")
    assert heap.fix_mmap_threshold()
    big = bytearray(8 << 20)  # mapped (over any threshold), then freed: without the fix glibc
    del big                   # would now serve blocks up to 8 MB from the heap
    before = _mmapped_bytes()
    block = bytearray(1 << 20)
    assert _mmapped_bytes() - before >= 1 << 20  # its own mapping, given back when freed
    del block
