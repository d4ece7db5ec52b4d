"""The worker's C heap (`streaming/heap.py`): with glibc's mmap threshold fixed, a large block
freed does not teach malloc to serve the next large block from the heap (where its pages would
stay after it is freed). Each case runs in a fresh process (a fresh heap: glibc serves a large
block from a free chunk it already holds, whatever the threshold). glibc only."""

from __future__ import annotations

import subprocess
import sys

import pytest

from claimsim.adjudication.runtimes.streaming import heap

pytestmark = pytest.mark.skipif(heap._glibc("mallinfo2") is None, reason="glibc only")

_PROBE = """
import ctypes, sys
from claimsim.adjudication.runtimes.streaming import heap

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

mallinfo2 = heap._glibc("mallinfo2")
mallinfo2.restype = MallInfo2
if sys.argv[1] == "fixed":
    assert heap.fix_mmap_threshold()
big = bytearray(8 << 20)  # mapped (over any threshold), then freed: glibc's threshold moves to 8 MB
del big
before = mallinfo2().hblkhd
block = bytearray(1 << 20)
print(mallinfo2().hblkhd - before)
"""


def _mapped_for_1mb_block(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", _PROBE, mode], check=True, capture_output=True,
                         text=True)
    return int(out.stdout)


def test_a_large_block_is_mapped_even_after_a_larger_one_was_freed():
    assert _mapped_for_1mb_block("fixed") >= 1 << 20  # its own mapping, given back when freed
    assert _mapped_for_1mb_block("moving") == 0  # glibc's default: from the heap, pages kept
