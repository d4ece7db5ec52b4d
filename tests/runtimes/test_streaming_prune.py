"""Stored answers of redelivered inputs (`r:` keys) live only as long as a redelivery can need
them: `TableWrites.prune` deletes those of messages below the committed offset and never one at
or above it; a redelivery above still re-emits the stored answer; a message below the horizon
(a committed one reaching the worker again) is skipped, never answered from nothing; and the
deletions replay from the changelog to the same table."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest

from claimsim.adjudication.runtimes.manifest import recorded_settings
from claimsim.adjudication.runtimes.processor import PartitionProcessor, horizon_key
from claimsim.adjudication.runtimes.streaming.changelog import (
    RECORD_BYTES, TableWrites, expand, pack, unpack,
)
from claimsim.adjudication.runtimes.streaming.producer import InboundBatcher, plan_stream
from claimsim.adjudication.runtimes.streaming.sink import LedgerSink
from claimsim.events.encoding import canonical
from claimsim.events.reference import ReferenceData
from claimsim.simulator.config import SimConfig
from claimsim.simulator.run_dir import simulate_to_dir


class FakeTable:
    """What `TableWrites` uses of a faust table: its data and its changelog sends."""

    def __init__(self):
        self.data: dict[bytes, bytes] = {}
        self.changelog: list[tuple[int, bytes, bytes]] = []

    def send_changelog(self, partition: int, key: bytes, value: bytes):
        self.changelog.append((partition, key, value))


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("prune") / "run"
    simulate_to_dir(SimConfig(members=60, months=4, seed=5), run)
    LedgerSink(run).close()  # the manifest: the settings the processor adjudicates with
    return run


@pytest.fixture
def stream(run):
    """Partition 0's messages of a one-partition stream (offset = index), and a processor."""
    batcher = InboundBatcher(1, 25)
    values = [v for item in plan_stream(run) for _, _, v in batcher.add(item)]
    values += [v for _, _, v in batcher.flush()]
    reference = ReferenceData.load(run)
    return values, PartitionProcessor(reference, recorded_settings(run, reference))


def _answers(outcome) -> list[bytes]:
    return [canonical(e) for e in outcome.ledger]


def _results(data: dict) -> set[bytes]:
    return {k for k in data if k.startswith(b"r:")}


def test_pruning_deletes_the_answers_of_committed_messages_only(stream):
    values, processor = stream
    writes = TableWrites(FakeTable())
    first_answers, stored_by = [], []
    for offset, value in enumerate(values[:6]):
        before = _results(writes.data)
        outcome = processor.process(0, value, writes)
        writes.send(0, offset, outcome.end)
        first_answers.append(_answers(outcome))
        stored_by.append(_results(writes.data) - before)
    assert all(stored_by[:6]), "every message stored its inputs' answers"
    assert writes.prune(0, None) == 0  # nothing committed: nothing may go
    deleted = writes.prune(0, 4)  # messages 0..3 are committed
    assert deleted == sum(len(k) for k in stored_by[:4])
    assert _results(writes.data) == stored_by[4] | stored_by[5]
    assert writes.prune(0, 4) == 0  # idempotent
    # Redelivered from the committed offset: the stored answers, byte for byte.
    for offset in (4, 5):
        assert _answers(processor.process(0, values[offset], writes)) == first_answers[offset]
    # A committed message reaching the worker again is skipped, not answered or dead-lettered.
    again = processor.process(0, values[2], writes)
    assert again.ledger == [] and again.dead == [] and again.skipped == len(orjson.loads(values[2])["items"])
    assert int(writes.data[horizon_key(0)]) == orjson.loads(values[3])["pos"] + len(orjson.loads(values[3])["items"])


def test_a_restarted_worker_replays_the_deletions_from_the_changelog(stream):
    values, processor = stream
    table = FakeTable()
    writes = TableWrites(table)
    for offset, value in enumerate(values[:5]):
        writes.prune(0, offset - 1 if offset >= 2 else None)  # commits lag one message behind
        outcome = processor.process(0, value, writes)
        writes.send(0, offset, outcome.end)
    recovered: dict[bytes, bytes] = {}
    for _, key, value in table.changelog:
        message = SimpleNamespace(key=key, value=value, partition=0, tp=None, offset=0)
        for event in expand([SimpleNamespace(key=key, value=value, message=message)]):
            if event.value is None:
                recovered.pop(event.key, None)
            else:
                recovered[event.key] = event.value
    assert recovered == table.data
    assert writes.pruned > 0 and len(_results(recovered)) < sum(
        len(orjson.loads(v)["items"]) for v in values[:5])


def test_a_deletion_packs_and_unpacks_as_none():
    writes = [(b"r:S1/000000000001", None), (b"f:S1", b"{}"), (b"h:0", b"12")]
    assert list(unpack(pack(writes))) == writes


def test_a_message_whose_writes_pass_the_record_limit_goes_out_as_several_records_in_order():
    # 3,000 deletions of 40-byte keys and three 300 KB family states: 1.0 MB packed, over the
    # 512 KB a record may hold (a 1.7 MB record of deletions once crashed a worker's producer).
    table = FakeTable()
    writes = TableWrites(table)
    expected = []
    for i in range(3):
        key, value = b"f:family-%d" % i, bytes([i]) * 300_000
        writes[key] = value
        expected.append((key, value))
    for i in range(3000):
        key = b"r:family-%06d/%022d" % (i, i)
        writes._delete(key)
        expected.append((key, None))
    writes.send(0)
    sizes = [len(value) for _, _, value in table.changelog]
    assert len(sizes) == 3 and all(size <= RECORD_BYTES for size in sizes)
    assert len({key for _, key, _ in table.changelog}) == 3  # each its own key
    events = [SimpleNamespace(message=SimpleNamespace(key=k, value=v, partition=p, tp=None, offset=0))
              for p, k, v in table.changelog]
    assert [(e.key, e.value) for e in expand(events)] == expected  # every write, in order
