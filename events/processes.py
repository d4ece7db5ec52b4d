"""What every layer's child processes share: ending with their parent.

A child process (a what-if sweep's worker, the run's simulation, a pass of `claimsim adjudicate`)
that outlives a parent killed with SIGKILL (no cleanup ran) goes on using CPU and memory for work
no one will read. Linux's parent-death signal ends it at once.
"""

from __future__ import annotations

import ctypes
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child: be killed (SIGKILL) when the parent thread that forked it ends. A no-op where
    `prctl` does not exist (not Linux): there the child still ends with its work."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
