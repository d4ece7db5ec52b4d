"""`events.heap.give_back_free_memory`: the C heap's free pages go back to the operating system."""

from __future__ import annotations

import sys

import pytest

from claimsim.events.heap import _malloc_trim, give_back_free_memory


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


@pytest.mark.skipif(not sys.platform.startswith("linux") or _malloc_trim() is None,
                    reason="glibc's malloc_trim and /proc are Linux/glibc only")
def test_freed_heap_pages_go_back_to_the_system():
    # 160 MiB of 2 KiB objects: each goes to malloc (over CPython's 512-byte small-object limit,
    # under glibc's mmap threshold), so they fill glibc's heap. Keeping the last one alive pins
    # the heap's top, so freeing the others returns nothing by itself.
    blocks = [bytes(2048) for _ in range(80_000)]
    top = blocks[-1]
    del blocks
    freed_but_held = _rss_kib()
    assert give_back_free_memory() is True
    released = freed_but_held - _rss_kib()
    assert released > 100 * 1024, f"only {released} KiB went back"
    assert len(top) == 2048  # what is alive stays alive
