"""Family states on disk: the RocksDB store keeps bytes as given, in key order, and the partition
processor's bounded cache changes no answer: a family that left the cache (and its claim versions,
paid-line index and visits with it) comes back from the store exactly as it left, so voids,
replacements and duplicates of claims adjudicated long before are answered as with every family in
memory. The embedded runtime over its scratch store is checked against the pure core in
test_runtime_contract.py (`embedded-cache-1`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from claimsim.adjudication.engine.context import Settings
from claimsim.adjudication.engine.family import FamilyState
from claimsim.adjudication.runtimes.diskstore import RocksStore
from claimsim.adjudication.runtimes.embedded import STATE_DIR, EmbeddedAdjudicator
from claimsim.adjudication.runtimes.processor import MemoryStore, PartitionProcessor, family_key
from claimsim.events.envelope import new_event
from claimsim.events.log import read
from claimsim.events.reference import ReferenceData
from claimsim.simulator.config import FaultConfig, SimConfig
from claimsim.simulator.run_dir import simulate_to_dir

from ..fixtures.adjudication import reference
from ..fixtures.run_dirs import fresh_copy


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("store") / "run"
    faults = FaultConfig(duplicate_bp=500, replacement_bp=400, void_bp=300, malformed_bp=300)
    simulate_to_dir(SimConfig(members=120, months=12, seed=5, faults=faults), run)
    return run


def test_rocks_store_gives_back_bytes_in_key_order_and_scans_one_prefix(tmp_path):
    with RocksStore(tmp_path / "db") as store:
        store[b"f:S2"] = b'{"b":2}'
        store[b"e:0/000000000010"] = b"ten"
        store[b"e:0/000000000002"] = b"two"
        store[b"e:1/000000000001"] = b"other partition"
        store[b"f:S1"] = b""
        assert store.get(b"f:S2") == b'{"b":2}' and store.get(b"f:S1") == b""
        assert store.get(b"f:S3") is None and store.get(b"f:S3", b"x") == b"x"
        assert list(store.items(b"e:0/")) == [(b"e:0/000000000002", b"two"),
                                             (b"e:0/000000000010", b"ten")]
        assert [k for k, _ in store.items()] == [b"e:0/000000000002", b"e:0/000000000010",
                                                 b"e:1/000000000001", b"f:S1", b"f:S2"]


def test_a_durable_store_reopens_with_its_values_and_a_scratch_one_starts_empty(tmp_path):
    with RocksStore(tmp_path / "kept") as store:
        store[b"p:0"] = b"7"
    with RocksStore(tmp_path / "kept") as store:
        assert store.get(b"p:0") == b"7"
    with RocksStore(tmp_path / "kept", scratch=True) as store:
        assert list(store.items()) == []
    assert not (tmp_path / "kept").exists()  # a scratch store is removed on close


def _run(run: Path, processor: PartitionProcessor, store, *, flush: bool, batch: int = 7):
    inputs = list(read(run / "input"))
    ledger = []
    for i in range(0, len(inputs), batch):
        ledger += processor.apply(0, None, inputs[i:i + batch], store, flush=flush).ledger
    return ledger


def _processor(run: Path, **kw) -> PartitionProcessor:
    return PartitionProcessor(ReferenceData.load(run), Settings(), **kw)


def _without_results(state: FamilyState) -> dict:
    return {k: v for k, v in state.to_dict().items() if k != "results"}


def test_a_one_family_cache_answers_every_input_as_an_unbounded_one(simulated):
    everything = _processor(simulated)
    expected = _run(simulated, everything, MemoryStore(), flush=False)
    kinds = {e["type"] for e in expected}
    assert {"claim.adjudicated", "claim.reversed", "claim.rejected"} <= kinds
    assert any(r["carc"] == "18" for e in expected if e["type"] == "claim.adjudicated"
               for line in e["data"]["lines"] for r in line["adjustments"])  # duplicates met

    store = MemoryStore()
    bounded = _processor(simulated, cache_families=1, keep_results=False)
    assert _run(simulated, bounded, store, flush=False) == expected
    assert len(bounded._families) == 1
    # Every family is in the store or the cache, whole but for the answers the ledger holds.
    want = {s.subscriber_id: _without_results(s) for s in everything.families(MemoryStore())}
    got = {s.subscriber_id: s for s in bounded.families(store)}
    assert {k: _without_results(s) for k, s in got.items()} == want
    left = [s for k, s in got.items() if k not in bounded._families]
    assert all(family_key(s.subscriber_id) in store for s in left)
    assert left and all(s.results == {} for s in left)


def test_kafka_mode_with_a_bounded_cache_writes_the_same_states_to_the_store(simulated):
    full, small = MemoryStore(), MemoryStore()
    expected = _run(simulated, _processor(simulated), full, flush=True)
    assert _run(simulated, _processor(simulated, cache_families=2), small, flush=True) == expected
    assert small == full  # results kept: a redelivered input is re-emitted from the state


def test_the_embedded_runtime_over_its_scratch_store_matches_the_in_memory_one(simulated, tmp_path):
    ledgers = []
    for cache in (None, 3):
        run = fresh_copy(simulated, tmp_path / f"cache-{cache}")
        with EmbeddedAdjudicator(run, cache_families=cache) as rt:
            rt.run(until_seq=900)
            if cache is not None:
                assert (run / STATE_DIR).is_dir()
        with EmbeddedAdjudicator(run, cache_families=cache) as rt:  # resumed: the store rebuilt
            rt.run()
        assert not (run / STATE_DIR).exists()
        ledgers.append([e["hash"] for e in read(run / "ledger")])
    assert len(ledgers[0]) > 900 and ledgers[0] == ledgers[1]


@pytest.mark.parametrize("flush", [False, True])
def test_a_stale_foreign_seq_for_a_family_out_of_the_cache_is_a_dead_letter_and_loses_nothing(flush):
    """M1 applied seqs 0 and 2 and sits in a one-family cache; a foreign message claims seq 1
    for M1: a dead letter. M2 then pushes M1 out of the cache, and M1's state (from the store)
    still answers seq 4 with all it had."""
    processor = PartitionProcessor(reference(), Settings(), cache_families=1)
    store = MemoryStore()

    def enrolled(seq: int, member: str) -> dict:
        env = new_event({"member_id": member, "subscriber_id": member, "payer_id": "COM",
                         "plan_id": "COM-P", "start": "2025-01-01", "birth_date": "1960-01-01",
                         "sex": "F"}, at="2025-01-01", key=member, type="member.enrolled")
        env["seq"] = seq
        return env

    out = processor.apply(0, None, [enrolled(0, "M1"), enrolled(2, "M1")], store, flush=flush)
    assert [e["cause"] for e in out.ledger] == [0, 2] and list(processor._families) == ["M1"]
    out = processor.apply(0, None, [enrolled(1, "M1"), enrolled(3, "M2"), enrolled(4, "M1")],
                          store, flush=flush)
    assert [e["cause"] for e in out.ledger] == [3, 4] and len(out.dead) == 1
    m1 = processor.family("M1", store)
    assert m1.last_seq == 4 and len(m1.members["M1"]) == 3  # enrolled at 0, 2 and 4
