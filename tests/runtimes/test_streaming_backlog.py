"""A worker's changelog backlog is bounded in bytes: `TableWrites.ebb` waits until at most the limit
is on its way to the broker, oldest record first, and a record that failed counts as gone (the
commit raises its error). Unbounded, the records waited in faust's producer buffer and were most of
a RocksDB worker's growth over a 100,000-member year (docs/performance.md, "What the Kafka worker costs")."""

from __future__ import annotations

import asyncio

from claimsim.adjudication.runtimes.streaming.changelog import TableWrites


class FutureTable:
    """A table whose changelog sends return futures the test resolves, as the broker would."""

    def __init__(self):
        self.data: dict[bytes, bytes] = {}
        self.futures: list[asyncio.Future] = []

    def send_changelog(self, partition: int, key: bytes, value: bytes) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        self.futures.append(fut)
        return fut


def _message(writes: TableWrites, i: int, size: int) -> None:
    writes[b"f:family-%d" % i] = bytes(size)
    writes.send(0)


def test_ebb_waits_for_the_oldest_records_until_the_backlog_is_under_the_limit():
    async def scenario():
        table = FutureTable()
        writes = TableWrites(table)
        for i in range(4):
            _message(writes, i, 1000)
        record = writes.unsent // 4
        assert writes.unsent == 4 * record and record > 1000  # the packed record, key included
        waiting = asyncio.ensure_future(writes.ebb(limit=2 * record))
        await asyncio.sleep(0)
        assert not waiting.done()  # 4 records out, 2 allowed
        table.futures[0].set_result(None)
        for _ in range(3):
            await asyncio.sleep(0)
        assert not waiting.done() and writes.unsent == 3 * record
        table.futures[1].set_exception(RuntimeError("broker refused"))  # gone all the same
        await asyncio.wait_for(waiting, 1)
        assert writes.unsent == 2 * record
        await asyncio.wait_for(writes.ebb(limit=2 * record), 1)  # at the limit: no wait
        table.futures[3].set_result(None)  # acknowledged out of order
        table.futures[2].set_result(None)
        await asyncio.wait_for(writes.ebb(limit=0), 1)
        assert writes.unsent == 0 and not writes._in_flight
        table.futures[1].exception()  # retrieved: the commit's flush raises it in the worker

    asyncio.run(scenario())


def test_a_table_that_returns_no_future_is_never_waited_for():
    class SyncTable(FutureTable):
        def send_changelog(self, partition, key, value):
            return None

    async def scenario():
        writes = TableWrites(SyncTable())
        _message(writes, 0, 10_000)
        assert writes.unsent == 0
        await asyncio.wait_for(writes.ebb(limit=0), 1)

    asyncio.run(scenario())
