"""Running one call in a child process, its result or its error handed back: how `claimsim run`
keeps the simulator's peak and the aligned-payer facts' out of the process that pays (each is
large at a payer's scale, and a process's heap seldom goes back to the operating system), and
folds the aligned-payer facts beside the other reports (`start_child`: on the machine's other core).

A fresh interpreter is started as `python -m claimsim.scenarios.child CALL RESULT`, not by
multiprocessing's "spawn", which imports the caller's main module again in the child: a user's
script without a `__main__` guard would run twice.
"""

from __future__ import annotations

import multiprocessing
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Generic, TypeVar

from claimsim.events.processes import (die_with_parent, own_scratch, raise_dropped_stop,
                                       release_stop_signals, stop_pool, stop_signals_held)

T = TypeVar("T")


def in_child(fn: Callable[..., T], *args: Any, fresh: bool = True) -> T:
    """`fn(*args)` in a child process: a fresh interpreter that holds nothing of this process's
    heap (`fresh`; `fn` and `args` are pickled to it, the result back), else a fork of this one,
    cheap to start, sharing its pages until they are written. The child's exception is raised
    here; the child dies with this process (Linux's parent-death signal)."""
    if not fresh:
        context = multiprocessing.get_context("fork")
        pool = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_forked)
        try:
            with stop_signals_held():  # the pool forks at the submit: a stop then is not lost
                future = pool.submit(fn, *args)
            result = future.result()
        except BaseException:  # Ctrl-C or kill (or the child's error): end the child now,
            stop_pool(pool)    # not when its work is done
            raise
        finally:
            pool.shutdown()
    else:
        with start_child(fn, *args) as child:
            result = child.result()
    raise_dropped_stop()  # one that landed in a finalizer as the child ended: not lost
    return result


class Child(Generic[T]):
    """`fn(*args)` running in a fresh interpreter beside this process (`start_child`), while this
    one goes on with other work. `result()` waits for it and gives back its result or raises its
    error; leaving the `with` block without asking (this process's own error, Ctrl-C) kills the
    child. Either way its scratch folder goes."""

    def __init__(self, fn: Callable[..., T], args: tuple[Any, ...]):
        self.name = fn.__qualname__
        # Named for this process, so a later call removes it should this one be ended before
        # its cleanup (a what-if worker stopped by its pool's SIGTERM): `own_scratch`.
        self.scratch = own_scratch("claimsim-child-")
        self.process: subprocess.Popen | None = None
        try:
            call = self.scratch / "call.pickle"
            with open(call, "wb") as f:  # straight to the file: never the whole pickle in memory too
                pickle.dump((fn, args), f, protocol=pickle.HIGHEST_PROTOCOL)
            self.process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(call), str(self.scratch / "result.pickle")],
                preexec_fn=die_with_parent)
        except BaseException:
            self.close()
            raise

    def result(self) -> T:
        """Wait for the child; its result, or its exception raised here."""
        assert self.process is not None
        try:
            code = self.process.wait()
            result = self.scratch / "result.pickle"
            if not result.exists():
                raise RuntimeError(f"the child process running {self.name} ended with exit code"
                                   f" {code} and no result")
            with open(result, "rb") as f:
                ok, value = pickle.load(f)
        finally:
            self.close()
        if not ok:
            raise value
        return value

    def close(self) -> None:
        """Kill the child if it still runs, and remove its scratch folder."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def __enter__(self) -> Child[T]:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def start_child(fn: Callable[..., T], *args: Any) -> Child[T]:
    """Start `fn(*args)` in a fresh interpreter and return at once (`Child`); use it as a
    context manager, so an error here does not leave the child running."""
    return Child(fn, args)


def _forked() -> None:
    """A forked child's start: its parent's signal handlers back, and ending with its parent."""
    release_stop_signals()
    die_with_parent()


def _serve(call: Path, result: Path) -> None:
    with open(call, "rb") as f:
        fn, args = pickle.load(f)
    try:
        outcome = (True, fn(*args))
    except Exception as e:  # handed back to the caller, which raises it
        outcome = (False, e)
    with open(result, "wb") as f:
        pickle.dump(outcome, f, protocol=pickle.HIGHEST_PROTOCOL)


if __name__ == "__main__":
    _serve(Path(sys.argv[1]), Path(sys.argv[2]))
