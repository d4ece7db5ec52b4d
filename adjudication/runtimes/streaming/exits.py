"""How a worker process ends or starts again: a stop request bounded in time
(`BoundedStopWorker`), a hard exit that removes its data directory (`hard_exit`), leaving its
consumer group first (`leave_group`) and starting again in its own process (`restart_in_place`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from pathlib import Path

import faust

from claimsim.adjudication.runtimes.streaming import datadir as datadirs

log = logging.getLogger(__name__)

EXIT_CORE_ERROR = 70  # the worker stops rather than skip an input the core could not handle
EXIT_GAP = 75  # the worker stops rather than apply inputs past missing ones; restart it
EXIT_STOP_TIMEOUT = 76  # a stop request outlived its grace period; the worker exited hard
STOP_GRACE_S = 10.0
GAP_RESTARTS_ENV = "CLAIMSIM_WORKER_GAP_RESTARTS"  # restarts so far, carried across exec
MAX_GAP_RESTARTS = 20


class BoundedStopWorker(faust.Worker):
    """A faust worker whose stop (SIGTERM/SIGINT) takes at most `STOP_GRACE_S` seconds.

    faust's shutdown commits offsets and leaves the consumer group; with the group coordinator
    gone (a broker restarting) it retried GroupCoordinatorNotAvailableError ten times a second
    for 80 s. Exiting hard is safe here: delivery is at least once, so whatever was not committed
    is redelivered to the next worker, which re-emits the stored answers. A timer thread, not the
    event loop (busy retrying), ends the process."""

    stop_grace_s = STOP_GRACE_S

    def _schedule_shutdown(self, signal) -> None:
        if not self._signal_stop_time:
            timer = threading.Timer(self.stop_grace_s, _exit_stop_timeout, args=(self.stop_grace_s,))
            timer.daemon = True
            timer.start()
        super()._schedule_shutdown(signal)


def _exit_stop_timeout(grace: float) -> None:
    log.warning("the worker did not stop within %.0f s of being asked (faust's shutdown waits on"
                " the broker); exiting: uncommitted inputs are redelivered", grace)
    logging.shutdown()
    hard_exit(EXIT_STOP_TIMEOUT)


OWN_DATADIR: Path | None = None  # run_worker's data directory (atexit does not run on os._exit)


def hard_exit(code: int) -> None:
    """End the process at once (no faust shutdown, no commit), removing its data directory."""
    if OWN_DATADIR is not None:
        datadirs.remove(OWN_DATADIR)
    os._exit(code)


LEAVE_GROUP_S = 3.0  # how long a worker about to exit waits for its LeaveGroup request


async def leave_group(app: faust.App) -> None:
    """Leave the consumer group now, before this process exits or starts again in place.

    A member that just vanishes keeps its partitions until its session expires
    (`SESSION_TIMEOUT_S`): the group's next rebalance, the one its successor (or, after
    `restart_in_place`, its own new process) joins with, waits that long for it, and every
    partition of the group stands still meanwhile. Measured on two workers sharing 4 partitions:
    each restart on a gap stopped the whole run for the 10 s session it then had. With the
    member gone the rebalance starts at once. Nothing is committed here: what this worker acked since its last commit is
    redelivered to the next owner, which re-emits the stored answers (at least once)."""
    try:
        thread = app.consumer._thread  # faust runs aiokafka's consumer in a thread of its own
        coordinator = thread._ensure_consumer()._coordinator
        fut = asyncio.run_coroutine_threadsafe(_leave_for_good(coordinator), thread.thread_loop)
        await asyncio.wait_for(asyncio.wrap_future(fut), LEAVE_GROUP_S)
    except Exception as e:  # no group joined yet, a broker away: the session then expires
        log.warning("could not leave the consumer group before exiting (%s: %s); its partitions"
                    " wait for this member's session to expire", type(e).__name__, e)


async def _leave_for_good(coordinator) -> None:
    """aiokafka's LeaveGroup, its coordination and heartbeat routines stopped first: left
    running, the routine saw the member gone and joined the group again before the process
    exec'd (seen as the new process's first rebalance waiting out the old member's session)."""
    for name in ("_coordination_task", "_heartbeat_task"):
        task = getattr(coordinator, name, None)
        if task is not None and not task.done():
            task.cancel()
    await coordinator._maybe_leave_group()


async def start_again(app: faust.App) -> None:
    """Leave the consumer group, then start again in place (a worker `run_worker` runs: its
    `claimsim_restart_on_gap`), else exit with EXIT_GAP for the runner to start a new one."""
    await leave_group(app)
    if getattr(app, "claimsim_restart_on_gap", False):
        restart_in_place()
    hard_exit(EXIT_GAP)


def restart_in_place() -> None:
    """Start this worker again in its own process (exec): a fresh faust app resumes each of its
    partitions from the committed offset, before the missing messages, as a successor would. A
    worker started by hand (`claimsim worker`) has no runner to start a successor; this is it,
    and the pid stays the same for whoever supervises it. Returns only after `MAX_GAP_RESTARTS`
    (then the caller exits with EXIT_GAP)."""
    restarts = int(os.environ.get(GAP_RESTARTS_ENV, "0")) + 1
    if restarts > MAX_GAP_RESTARTS:
        log.error("%d restarts on gaps in the input; giving up", restarts - 1)
        return
    os.environ[GAP_RESTARTS_ENV] = str(restarts)
    log.warning("starting the worker again in its own process (exec, pid %d; restart %d)",
                os.getpid(), restarts)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "claimsim", *sys.argv[1:]])
