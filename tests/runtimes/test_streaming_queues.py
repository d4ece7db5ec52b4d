"""faust's stream queue cleared on a rebalance while a delivery waits for room in it: with mode's
own clear the delivery waits for good (a get on the emptied queue waits too), with
`clear_releasing_puts` it ends, its item dropped as the cleared ones are, and the queue works on."""

from __future__ import annotations

import asyncio

import pytest
from mode.utils.queues import FlowControlEvent, FlowControlQueue

from claimsim.adjudication.runtimes.streaming.queues import FAUST_CLEAR, clear_releasing_puts


async def _full_queue_with_a_waiting_put() -> tuple[FlowControlEvent, FlowControlQueue,
                                                      asyncio.Task]:
    flow = FlowControlEvent(initially_suspended=False)  # as after a resume
    queue = FlowControlQueue(maxsize=2, flow_control=flow, clear_on_resume=True)
    await queue.put("m1")
    await queue.put("m2")
    put = asyncio.create_task(queue.put("m3"))  # the conductor delivering a third message
    await asyncio.sleep(0.01)
    assert not put.done()  # waiting for room
    return flow, queue, put


def test_mode_s_own_clear_leaves_the_waiting_put_and_a_getter_waiting_for_each_other():
    async def go():
        _, queue, put = await _full_queue_with_a_waiting_put()
        FAUST_CLEAR(queue)  # what flow control's clear did on a rebalance
        get = asyncio.create_task(queue.get())  # the agent, after the rebalance
        done, _ = await asyncio.wait({put, get}, timeout=0.2)
        assert done == set()  # both wait: nothing is delivered again
        put.cancel()
        get.cancel()

    asyncio.run(go())


def test_clear_releasing_puts_ends_the_waiting_put_and_the_queue_works_on():
    async def go():
        _, queue, put = await _full_queue_with_a_waiting_put()
        clear_releasing_puts(queue)
        await asyncio.sleep(0)
        assert put.done() and put.cancelled()  # m3 dropped like m1 and m2
        assert queue.qsize() == 0
        await queue.put("m4")  # the next message after the rebalance
        assert await asyncio.wait_for(queue.get(), 0.2) == "m4"

    asyncio.run(go())


def test_flow_control_s_clear_goes_through_the_installed_clear(monkeypatch):
    # release_blocked_puts patches the class, so the queues faust made before it are covered too.
    from claimsim.adjudication.runtimes.streaming.queues import release_blocked_puts

    monkeypatch.setattr(FlowControlQueue, "clear", FAUST_CLEAR)
    release_blocked_puts()

    async def go():
        flow, _, put = await _full_queue_with_a_waiting_put()
        flow.suspend()
        flow.clear()  # faust's flow_control.clear() on a rebalance
        await asyncio.sleep(0)
        assert put.cancelled()

    asyncio.run(go())
    assert FlowControlQueue.clear is clear_releasing_puts


@pytest.fixture(autouse=True)
def _mode_s_clear_back(monkeypatch):
    monkeypatch.setattr(FlowControlQueue, "clear", FlowControlQueue.clear)
