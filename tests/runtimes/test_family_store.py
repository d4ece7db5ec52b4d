"""Family states on disk: the RocksDB store keeps bytes as given, in key order, and the partition
processor's bounded cache changes no answer: a family that left the cache (and its claim versions,
paid-line index and visits with it) comes back from the store exactly as it left, so voids,
replacements and duplicates of claims adjudicated long before are answered as with every family in
memory. The embedded runtime over its scratch store is checked against the pure core in
test_runtime_contract.py (`embedded-cache-1`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from claimsim.adjudication.engine import claims as claims_module
from claimsim.adjudication.engine import family as family_module
from claimsim.adjudication.engine.context import Settings
from claimsim.adjudication.engine.family import FamilyState
from claimsim.adjudication.runtimes.diskstore import RocksStore
from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator
from claimsim.adjudication.runtimes.family_storage import STATE_DIR
from claimsim.adjudication.runtimes.processor import MemoryStore, PartitionProcessor, family_key
from claimsim.events.encoding import canonical
from claimsim.events.log import read
from claimsim.events.reference import ReferenceData

from ..fixtures.adjudication import Harness, enrolled_input, line, reference
from ..fixtures.run_dirs import fresh_copy, ledger_bytes, simulated_year


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    return simulated_year(tmp_path_factory.mktemp("store") / "run", members=120, seed=5)


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


def test_a_stop_while_the_scratch_store_closes_still_removes_it(tmp_path):
    """A Ctrl-C landing in the database's close (its flush, the slow part) still removes the
    scratch directory, and a second close does nothing."""
    store = RocksStore(tmp_path / "scratch", scratch=True)
    store[b"p:0"] = b"7"
    db = store._db

    class Stopped:
        def close(self):
            db.close()
            raise KeyboardInterrupt

    store._db = Stopped()
    with pytest.raises(KeyboardInterrupt):
        store.close()
    assert not (tmp_path / "scratch").exists()
    store.close()


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


def test_the_fixture_holds_voids_replacements_duplicates_and_rejections(simulated):
    expected = _run(simulated, _processor(simulated), MemoryStore(), flush=False)
    kinds = {e["type"] for e in expected}
    assert {"claim.adjudicated", "claim.reversed", "claim.rejected"} <= kinds
    assert any(e["data"]["reversed_lines"] for e in expected if e["type"] == "claim.adjudicated")
    assert any(r["carc"] == "18" for e in expected if e["type"] == "claim.adjudicated"
               for line in e["data"]["lines"] for r in line["adjustments"])  # duplicates met


def test_a_one_family_cache_answers_every_input_as_an_unbounded_one(simulated):
    everything, full = _processor(simulated), MemoryStore()
    expected = _run(simulated, everything, full, flush=False)

    store = MemoryStore()
    bounded = _processor(simulated, cache_families=1, keep_results=False)
    assert _run(simulated, bounded, store, flush=False) == expected
    assert len(bounded._families) == 1
    # Every family is in the store or the cache, whole (claim records, the full paid-line index)
    # but for the answers the ledger holds.
    want = {s.subscriber_id: _without_results(s) for s in everything.families(full)}
    got = {s.subscriber_id: s for s in bounded.families(store)}
    assert {k: _without_results(s) for k, s in got.items()} == want
    left = [s for k, s in got.items() if k not in bounded._families]
    assert left and all(family_key(s.subscriber_id) in store for s in left)
    assert not any(k.startswith(b"r:") for k in store)  # no results kept


def test_kafka_mode_with_a_bounded_cache_writes_the_same_states_to_the_store(simulated):
    full, small = MemoryStore(), MemoryStore()
    expected = _run(simulated, _processor(simulated), full, flush=True)
    assert _run(simulated, _processor(simulated, cache_families=2), small, flush=True) == expected
    assert small == full  # results kept: a redelivered input is re-emitted from the store
    inputs = sum(1 for _ in read(simulated / "input"))
    assert sum(1 for k in full if k.startswith(b"r:")) == inputs


def test_the_store_holds_a_small_hot_state_per_family_and_claim_records_apart(simulated):
    """The key layout (processor.py): `f:` hot state, `c:` one record per claim root, `r:` one
    result per input; the hot state carries no line results and no paid-line keys."""
    store = MemoryStore()
    ledger = _run(simulated, _processor(simulated), store, flush=True)
    hot = {k: v for k, v in store.items() if k.startswith(b"f:")}
    records = {k: v for k, v in store.items() if k.startswith(b"c:")}
    roots = {e["data"]["claim_id"] for e in ledger
             if e["type"] == "claim.adjudicated" and e["data"]["frequency"] == "1"}
    assert len(records) == len(roots)
    assert len(hot) == len({e["key"] for e in ledger})
    assert all(b'"lines"' not in v and b"|99" not in v for v in hot.values())
    mean_hot = sum(map(len, hot.values())) / len(hot)
    mean_records = sum(map(len, records.values())) / len(hot)
    assert mean_hot * 4 < mean_records  # most of a family's bytes are read only when needed


class Counting(MemoryStore):
    """A store that counts reads of claim records."""

    record_reads = 0

    def get(self, key, default=None):
        if key.startswith(b"c:"):
            self.record_reads += 1
        return super().get(key, default)


def test_an_original_claim_reads_no_claim_record_and_a_replacement_reads_its_own():
    """C1 and C2 are originals (no record read: their lines' fingerprints are new); C1R replaces
    C1 (one read: C1's record); C3 repeats C2's line, a duplicate: its fingerprint matches, so
    C2's record is read to confirm it (OA-18)."""
    processor = PartitionProcessor(reference(), Settings(), cache_families=1)
    store = Counting()
    h = Harness()
    h.enroll("M1")
    h.enroll("M2")  # M2 pushes M1 out of the one-family cache: its state comes back from the store
    first = [h.claim("C1", "M1", [line("99213", 10_000)]),
             h.claim("C2", "M1", [line("99214", 15_000)])]
    processor.apply(0, None, h.inputs, store, flush=False)
    assert store.record_reads == 0 and [e["type"] for e in first] == ["claim.adjudicated"] * 2
    before = len(h.inputs)
    h.claim("C1R", "M1", [line("99213", 9_000)], frequency="7", original="C1")
    out = processor.apply(0, None, h.inputs[before:], store, flush=False).ledger
    assert store.record_reads == 1 and out[0]["data"]["reversed_claim_id"] == "C1"
    before = len(h.inputs)
    h.claim("C3", "M1", [line("99214", 15_000)])
    out = processor.apply(0, None, h.inputs[before:], store, flush=False).ledger
    assert store.record_reads == 2
    assert [(a["group"], a["carc"]) for a in out[0]["data"]["lines"][0]["adjustments"]] == [("OA", "18")]
    assert [canonical(e) for e in h.ledger[before:]] == [canonical(e) for e in out]


def test_paid_lines_whose_fingerprints_collide_are_still_told_apart(simulated, monkeypatch):
    """Every paid-line key given one fingerprint: each check must read the records to decide,
    and the ledger is the one real fingerprints give."""
    expected = _run(simulated, _processor(simulated), MemoryStore(), flush=False)
    monkeypatch.setattr(claims_module, "crc32", lambda raw: 7)
    monkeypatch.setattr(family_module, "paid_fingerprint", lambda key: 7)
    assert _run(simulated, _processor(simulated), MemoryStore(), flush=False) == expected
    assert _run(simulated, _processor(simulated, cache_families=1, keep_results=False),
                MemoryStore(), flush=False) == expected


def test_the_hot_loop_fingerprint_is_the_family_fingerprint():
    key = "M1|N1|2025-03-01|99213||1"
    assert claims_module.crc32(key.encode()) == family_module.paid_fingerprint(key)


class WriteLog(MemoryStore):
    """A store that remembers the order of its writes."""

    def __init__(self, *a):
        super().__init__(*a)
        self.writes: list[tuple[bytes, bytes]] = []

    def __setitem__(self, key, value):
        self.writes.append((key, value))
        super().__setitem__(key, value)


def test_any_prefix_of_a_calls_writes_then_a_redelivery_gives_the_same_answers(simulated):
    """A Kafka worker killed part way through writing one call's state (records and results
    first, hot states next, the position last): a new worker over whatever prefix survived,
    fed the call's inputs again, answers exactly as the first worker did, and ends with the
    same store. A replacement and a void in the call make records go out ahead of hot states."""
    inputs = list(read(simulated / "input"))
    kinds = [(env["data"].get("claim") or {}).get("frequency") if env["type"] == "claim.submitted"
             else None for env in inputs]
    at = next(i for i in range(len(inputs)) if kinds[i] == "7")
    end = next(i for i in range(at, len(inputs)) if kinds[i] == "8") + 1
    call = inputs[at:end]
    base = MemoryStore()
    processor = _processor(simulated)
    processor.apply(0, 0, inputs[:at], base)
    log = WriteLog(base)
    answers = processor.apply(0, at, call, log).ledger
    processor.apply(0, end, inputs[end:], log)
    final = dict(log)
    for cut in range(0, len(log.writes), max(1, len(log.writes) // 25)):
        store = MemoryStore(base)
        for key, value in log.writes[:cut]:
            store[key] = value
        again = _processor(simulated)
        assert again.apply(0, at, call, store).ledger == answers, cut
        again.apply(0, end, inputs[end:], store)
        assert store == final, cut


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


def test_resting_between_runs_sends_the_cached_states_to_the_store_and_changes_no_answer(
        simulated, tmp_path):
    ledgers = []
    for cache, rest_every in ((None, None), (50, 300)):
        run = fresh_copy(simulated, tmp_path / f"rest-{rest_every}")
        with EmbeddedAdjudicator(run, cache_families=cache) as rt:
            if rest_every is not None:
                while rt.pending():
                    rt.run(until_seq=rt.next_input + rest_every)
                    assert len(rt.processor._families) > 0
                    rt.rest()  # what the run clock does before each boundary
                    assert len(rt.processor._families) == 0
            rt.run()
        ledgers.append([e["hash"] for e in read(run / "ledger")])
    assert len(ledgers[0]) > 900 and ledgers[0] == ledgers[1]


@pytest.mark.parametrize("flush", [False, True])
def test_a_stale_foreign_seq_for_a_family_out_of_the_cache_is_a_dead_letter_and_loses_nothing(flush):
    """M1 applied seqs 0 and 2 and sits in a one-family cache; a foreign message claims seq 1
    for M1: a dead letter. M2 then pushes M1 out of the cache, and M1's state (from the store)
    still answers seq 4 with all it had."""
    processor = PartitionProcessor(reference(), Settings(), cache_families=1)
    store = MemoryStore()

    enrolled = enrolled_input
    out = processor.apply(0, None, [enrolled(0, "M1"), enrolled(2, "M1")], store, flush=flush)
    assert [e["cause"] for e in out.ledger] == [0, 2] and list(processor._families) == ["M1"]
    out = processor.apply(0, None, [enrolled(1, "M1"), enrolled(3, "M2"), enrolled(4, "M1")],
                          store, flush=flush)
    assert [e["cause"] for e in out.ledger] == [3, 4] and len(out.dead) == 1
    m1 = processor.family("M1", store)
    assert m1.last_seq == 4 and len(m1.members["M1"]) == 3  # enrolled at 0, 2 and 4


def test_by_default_a_small_run_stays_in_memory_and_a_large_one_goes_to_the_disk_store(
        simulated, tmp_path, monkeypatch):
    """The default rule (family_storage.auto_cache_families): up to IN_MEMORY_INPUTS inputs every
    family in memory; past it CACHE_FAMILIES decoded over the scratch RocksDB store. Same ledger."""
    from claimsim.adjudication.runtimes import family_storage

    inputs = sum(1 for _ in read(simulated / "input"))
    small = fresh_copy(simulated, tmp_path / "small")
    with EmbeddedAdjudicator(small) as rt:
        assert rt.cache_families is None and not (small / STATE_DIR).exists()
        rt.run()
    monkeypatch.setattr(family_storage, "IN_MEMORY_INPUTS", inputs - 1)
    monkeypatch.setattr(family_storage, "CACHE_FAMILIES", 5)
    large = fresh_copy(simulated, tmp_path / "large")
    with EmbeddedAdjudicator(large) as rt:
        assert rt.cache_families == 5 and (large / STATE_DIR).is_dir()
        rt.run()
    assert [e["hash"] for e in read(small / "ledger")] == [e["hash"] for e in read(large / "ledger")]


def test_adjudicate_keeps_a_larger_cache_than_the_run_clock(simulated, tmp_path, monkeypatch):
    """`claimsim adjudicate` (`LARGE`) bounds a large run's cache at ADJUDICATE_CACHE_FAMILIES,
    the run clock (`AUTO`, beside its payer state) at CACHE_FAMILIES: the same ledger."""
    from claimsim.adjudication.runtimes import family_storage
    from claimsim.scenarios.runclock import embedded_runtime

    monkeypatch.setattr(family_storage, "IN_MEMORY_INPUTS", 10)
    monkeypatch.setattr(family_storage, "CACHE_FAMILIES", 5)
    monkeypatch.setattr(family_storage, "ADJUDICATE_CACHE_FAMILIES", 40)
    ledgers = []
    for name in ("clock", "adjudicate"):
        run = fresh_copy(simulated, tmp_path / name)
        if name == "clock":
            with embedded_runtime(run) as rt:
                assert rt.cache_families == 5 and rt.store._warm_left == 0  # no warm values
                rt.run()
        else:
            with EmbeddedAdjudicator(run, cache_families=family_storage.LARGE) as rt:
                assert rt.cache_families == 40 and rt.store._warm_left == 256 * (1 << 20)
                rt.run()
                assert len(rt.processor._families) == 40
        ledgers.append(ledger_bytes(run))
    assert len(ledgers[0]) > 100_000 and ledgers[0] == ledgers[1]


def test_the_adjudicate_command_uses_the_larger_cache(simulated, tmp_path, monkeypatch):
    from claimsim.adjudication.runtimes import cli, family_storage

    seen = []
    real = family_storage.auto_cache_families
    monkeypatch.setattr(family_storage, "auto_cache_families",
                        lambda d, bound=None: seen.append(bound) or real(d, bound))
    run = fresh_copy(simulated, tmp_path / "cmd")
    args = argparse.Namespace(run_dir=str(run), runtime="embedded", until=None, sequestration=None,
                              timely_filing_days=None, signing_key=None, batch=5000,
                              no_progress=True, cache_families=None, processes=1,
                              no_passes=False)
    assert cli.cmd_adjudicate(args) == 0
    assert seen == [family_storage.ADJUDICATE_CACHE_FAMILIES]
