"""Running one call in a child process, its result or its error handed back: how `claimsim run`
keeps the simulator's peak and the aligned-payer facts' out of the process that pays (each is
large at a payer's scale, and a process's heap seldom goes back to the operating system).

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
from typing import Any, TypeVar

from claimsim.events.processes import (die_with_parent, own_scratch, release_stop_signals,
                                       stop_pool, stop_signals_held)

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
            return future.result()
        except BaseException:  # Ctrl-C or kill (or the child's error): end the child now,
            stop_pool(pool)    # not when its work is done
            raise
        finally:
            pool.shutdown()
    # Named for this process, so a later call removes it should this one be ended before its
    # cleanup (a what-if worker stopped by its pool's SIGTERM): `events.processes.own_scratch`.
    tmp = own_scratch("claimsim-child-")
    try:
        call, result = tmp / "call.pickle", tmp / "result.pickle"
        with open(call, "wb") as f:  # straight to the file: never the whole pickle in memory too
            pickle.dump((fn, args), f, protocol=pickle.HIGHEST_PROTOCOL)
        done = subprocess.run([sys.executable, "-m", __name__, str(call), str(result)],
                              preexec_fn=die_with_parent, check=False)
        if not result.exists():
            raise RuntimeError(f"the child process running {fn.__qualname__} ended with exit"
                               f" code {done.returncode} and no result")
        with open(result, "rb") as f:
            ok, value = pickle.load(f)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not ok:
        raise value
    return value


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
