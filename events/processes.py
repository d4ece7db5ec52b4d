"""What every layer's child processes share: ending with their parent, and how a stop request
(Ctrl-C's SIGINT, or the SIGTERM of `kill`, a service manager or a batch scheduler) reaches the
command.

A child process (a what-if sweep's worker, the run's simulation, a pass of `claimsim adjudicate`)
that outlives a parent killed with SIGKILL (no cleanup ran) goes on using CPU and memory for work
no one will read. Linux's parent-death signal ends it at once.

SIGTERM's default action ends a Python process on the spot: no `finally` runs, so scratch files
(the 7.5 GB of a million-member `audit replay`'s passes in TMPDIR) and temporary run folders stay
behind. `sigterm_as_interrupt` makes it raise `Terminated`, a `KeyboardInterrupt`, in the command's
process, so a `kill` cleans up exactly as a Ctrl-C does; a forked child that inherited the
handler ends at once, as by default (a pool stopping its workers sends them SIGTERM). A stop
whose exception Python dropped (raised in a finalizer) is still noted, and raised when the
command ends, or at a checkpoint before (`raise_dropped_stop`).
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
PR_SET_PDEATHSIG = 1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM in the command's process: a request to stop, handled as Ctrl-C's is."""


def pid_alive(pid: int) -> bool:
    """Whether a process `pid` exists (a zombie counts: sweep after reaping; another user's
    process counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity set where the system has one (Linux; a
    container or `taskset` can narrow it below the machine's), else the machine's count."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def own_scratch(prefix: str) -> Path:
    """A new scratch folder in TMPDIR named for this process (`<prefix><pid>-<random>`), after
    removing every `<prefix><pid>-*` folder whose process is gone: one a `kill -9` (or a pool's
    SIGTERM to its worker) ended before its cleanup ran. A reused pid only delays that removal
    to a later call."""
    temp = Path(tempfile.gettempdir())
    for entry in temp.glob(f"{prefix}*"):
        pid = entry.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and entry.is_dir() and not pid_alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))


def die_with_parent() -> None:
    """In a child: be killed (SIGKILL) when the parent thread that forked it ends. A no-op where
    `prctl` does not exist (not Linux): there the child still ends with its work."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


# The stop signals (SIGINT, SIGTERM) that reached the command's process inside
# `sigterm_as_interrupt`, in order: see `raise_dropped_stop`.
_STOPS_NOTED: list[int] = []


def raise_dropped_stop() -> None:
    """A checkpoint: raise the first stop noted inside `sigterm_as_interrupt` (`Terminated` for
    SIGTERM, else `KeyboardInterrupt`). Python prints and drops an exception raised where
    nothing can catch it (`__del__`, a weakref callback such as a `Finalize`), so a stop landing
    there would be lost and the command would go on to its end and exit 0 (seen in CI: a `kill`
    during `audit replay`'s passes). A stop not dropped ended the command before any checkpoint;
    the command checks as it ends, and long loops after each step. A child forked after a
    dropped stop holds a copy of the note and raises it at its own checkpoints: it is stopping
    too."""
    if _STOPS_NOTED:
        raise Terminated() if _STOPS_NOTED[0] == signal.SIGTERM else KeyboardInterrupt()


def _note_sigint(signum: int, frame: object) -> None:
    """`sigterm_as_interrupt`'s SIGINT handler: Python's own, noted first."""
    _STOPS_NOTED.append(signum)  # in a forked child, the child's own copy
    raise KeyboardInterrupt()


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While inside, a SIGTERM raises `Terminated` in this process (its main thread) and ends any
    process forked from it as SIGTERM's default would; a SIGINT raises `KeyboardInterrupt` as
    Python's own handler does (left alone where it is not Python's: a background job ignores
    it). Both are noted for `raise_dropped_stop`, from none on the way in to none on the way
    out. The handlers before are put back after. A no-op outside the main thread (only it can
    set a signal handler)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _STOPS_NOTED.clear()
    owner = os.getpid()

    def on_sigterm(signum: int, frame: object) -> None:
        if os.getpid() != owner:  # a forked child: end now, as without this handler
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        _STOPS_NOTED.append(signum)
        raise Terminated()

    # A stop's handler runs after a call returns (or a backward jump), so it can raise between
    # any two of these steps: each one is in a `finally` of the one before, and the handlers
    # before are read first, so all are put back whatever lands when.
    sigterm_before = signal.getsignal(signal.SIGTERM)
    note_sigint = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    try:
        signal.signal(signal.SIGTERM, on_sigterm)
        if note_sigint:
            signal.signal(signal.SIGINT, _note_sigint)
        yield
    finally:
        try:
            if note_sigint:
                signal.signal(signal.SIGINT, signal.default_int_handler)
        finally:
            try:
                if sigterm_before is not None:  # None: set outside Python, not ours to restore
                    signal.signal(signal.SIGTERM, sigterm_before)
            finally:
                _STOPS_NOTED.clear()  # a checkpoint after is outside: nothing to raise


@contextmanager
def python_sigint() -> Iterator[None]:
    """While inside, SIGINT has Python's own handler where `sigterm_as_interrupt` put its noting
    one: `asyncio.run` installs its graceful Ctrl-C (cancel the main task, let it clean up, then
    raise KeyboardInterrupt) only over Python's own handler. (Inside, a Ctrl-C is not noted.)"""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not _note_sigint):
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, _note_sigint)


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` with asyncio's own Ctrl-C (`python_sigint`)."""
    with python_sigint():
        return asyncio.run(main)


# The handlers `stop_signals_held` replaced, by signal: a child forked inside it puts them back.
_HELD: dict[int, Any] = {}


@contextmanager
def stop_signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM held while this process forks: a handler that raises when one lands in
    the fork's own handlers (logging's lock release, which runs Python code after the fork) has
    its exception printed as "Exception ignored" and lost, and the command goes on. Inside, each
    signal whose handler is Python's is only noted (Python runs every handler in the main thread,
    whichever thread the signal reached, so blocking it there would not do); on the way out the
    handlers are put back and the first noted signal's is called, which interrupts this process
    right after the fork. A child forked inside calls `release_stop_signals` first. A no-op
    outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []
    for sig in STOP_SIGNALS:
        if callable(signal.getsignal(sig)):  # not SIG_IGN (a background job's SIGINT), SIG_DFL
            _HELD[sig] = signal.signal(sig, lambda signum, frame: noted.append(signum))
    try:
        yield
    finally:
        before = dict(_HELD)
        _HELD.clear()
        for sig, handler in before.items():
            signal.signal(sig, handler)
        if noted:
            before[noted[0]](noted[0], None)


def release_stop_signals() -> None:
    """In a child forked inside `stop_signals_held`: its parent's handlers back (a signal sent to
    the parent and noted there is the parent's to act on, not the child's)."""
    for sig, handler in _HELD.items():
        signal.signal(sig, handler)
    _HELD.clear()


def stop_pool(pool: Any) -> None:
    """End a `ProcessPoolExecutor` now: cancel what has not started and terminate the processes
    running work (`shutdown` alone would wait for every submitted call)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        p.terminate()
    for p in processes:
        p.join(5)
