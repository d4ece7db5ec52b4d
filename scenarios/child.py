"""Running one call in a child process, its result or its error handed back: how `claimsim run`
keeps the simulator's peak and the aligned-payer facts' out of the process that pays (each is
large at a payer's scale, and a process's heap seldom goes back to the operating system)."""

from __future__ import annotations

import ctypes
import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def in_child(fn: Callable[..., T], *args: Any, method: str = "spawn") -> T:
    """`fn(*args)` in a child process started by `method` ("spawn": a fresh interpreter that
    holds nothing of this process's heap; "fork": a copy of this one, cheap to start, which
    shares its pages until they are written). The child dies with this process (Linux's
    parent-death signal)."""
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_die_with_parent) as pool:
        return pool.submit(fn, *args).result()


def _die_with_parent() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the child still ends with its call
