"""faust's stream queues, cleared on a rebalance without leaving a delivery blocked for good.

On a rebalance faust's flow control empties every stream queue in place (mode's
`FlowControlQueue.clear`, on suspend and again on resume) so no stream processes an event of the
old assignment. A put already waiting for room in a full queue is not woken by that: asyncio's
queue wakes a waiting put only from a get, and a get on an empty queue waits for a put. The put
that waits is faust's conductor delivering a fetched message to the agent, and the conductor
delivers every fetched message of the worker, its changelog records included: nothing reaches any
stream again, so the table's recovery restores nothing and the rebalance never ends (what
faust-streaming issue #74 calls "stuck in the recovery loop forever").

Not the stall the kill-worker load test showed (there the conductor was not waiting on a put:
`watchdog`), but the same symptom by a path `STREAM_BUFFER_MESSAGES` (64, for the worker's
memory) makes likelier: an agent queue full when a rebalance comes, which with faust's 4,096 was
rare. tests/runtimes/test_streaming_queues.py shows it with mode's own classes.

`clear_releasing_puts` is `clear` that also cancels the puts waiting for room: their items are
dropped as the cleared ones are (never acknowledged, so redelivered from the committed offset
the rebalance seeks back to) and the conductor goes on. `release_blocked_puts` installs it in
the worker process.
"""

from __future__ import annotations

from mode.utils.queues import FlowControlQueue

FAUST_CLEAR = FlowControlQueue.clear  # mode's own: the deque emptied, waiting puts left waiting


def clear_releasing_puts(queue: FlowControlQueue) -> None:
    """Empty the queue and cancel every put waiting for room in it (each raises CancelledError
    in its caller, its item not put)."""
    FAUST_CLEAR(queue)
    putters = queue._putters  # type: ignore[attr-defined]  (asyncio.Queue's waiting puts)
    while putters:
        putter = putters.popleft()
        if not putter.done():
            putter.cancel()


def release_blocked_puts() -> None:
    """Make every FlowControlQueue's clear release its blocked puts (idempotent)."""
    FlowControlQueue.clear = clear_releasing_puts  # type: ignore[method-assign]
