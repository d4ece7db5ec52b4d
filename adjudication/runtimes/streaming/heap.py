"""The worker's C heap: glibc's malloc told not to keep large freed blocks in the heap, and the
free pages inside it given back every few seconds.

glibc serves a block of 128 KB or more that no free chunk of the heap fits with its own mmap,
returned to the system when freed, and then raises that threshold to the size of each such block
freed (up to 32 MB): from then on the worker's large, short-lived blocks (its changelog records, up
to 512 KB, and aiokafka's fetch and send buffers) come from the heap, are freed in between
long-lived small objects, and the heap keeps the pages. Measured on the 100,000-member run (4
partitions, 2 workers, RocksDB store): peak worker RSS 407 MB with the threshold moving, 326 MB
with it fixed at 128 KB (`MALLOC_MMAP_THRESHOLD_=131072`, which is what `fix_mmap_threshold` does
from inside, so a worker started by hand on another host gets it too), for no measurable CPU
(docs/performance.md, "What the Kafka worker costs").

What stays is fragmentation of the main heap among small blocks (RocksDB's, and Python's larger
objects): 90 to 140 MB of it free at a time in that run. `trim` (glibc's `malloc_trim`, which
gives every whole free page inside the heap back) is called from the worker's 5 s timer.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_MMAP_THRESHOLD = -3  # glibc's malloc.h; setting it also turns the dynamic threshold off
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's own initial value


def _glibc(name: str):
    """glibc's function `name`, or None (not Linux, or a libc without it: musl has neither)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):
        return None


def fix_mmap_threshold(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Fix glibc's mmap threshold (True when done; False where there is no `mallopt`, and nothing
    is changed)."""
    mallopt = _glibc("mallopt")
    if mallopt is None:
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, threshold) == 1


_malloc_trim = _glibc("malloc_trim")
if _malloc_trim is not None:
    _malloc_trim.argtypes, _malloc_trim.restype = (ctypes.c_size_t,), ctypes.c_int


def trim() -> bool:
    """Give the heap's free pages back to the system (True when some were)."""
    return bool(_malloc_trim(0)) if _malloc_trim is not None else False
