"""The bounded family cache evicts the family needed last (its next input furthest ahead, as read
from the input log by `lookahead.NextUse`), which changes no answer but how often a family is read
back from the store; and the disk store writes a family's state back without looking its slot up
again."""

from __future__ import annotations

from pathlib import Path

import pytest

from claimsim.adjudication.engine.context import Settings
from claimsim.adjudication.runtimes.diskstore import RocksStore
from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator
from claimsim.adjudication.runtimes.familycache import FamilyCache
from claimsim.adjudication.runtimes.lookahead import NextUse, WhenNeeded
from claimsim.adjudication.runtimes.processor import MemoryStore, PartitionProcessor
from claimsim.events.log import read

from ..fixtures.adjudication import enrolled_input, reference
from ..fixtures.run_dirs import fresh_copy, simulated_year

KEYS = ["A", "B", "A", "C", "B", "A", "D", "C", "A", "B"]


def _line(seq: int, key: str) -> bytes:
    # "key" inside the data too: the look-ahead takes the envelope's own, the last one
    return (b'{"at":"2025-01-01","cause":null,"data":{"key":"X%d"},"key":"%s","seq":%d,'
            b'"type":"member.enrolled","v":1,"prev":"p","hash":"h"}\n'
            % (seq, key.encode(), seq))


@pytest.fixture
def log(tmp_path) -> Path:
    """KEYS as an input log in two segments (seqs 0-3 and 4-9), its last line torn."""
    directory = tmp_path / "input"
    directory.mkdir()
    lines = [_line(seq, key) for seq, key in enumerate(KEYS)]
    (directory / "000000000000.jsonl").write_bytes(b"".join(lines[:4]))
    (directory / "000000000004.jsonl").write_bytes(b"".join(lines[4:]) + b'{"at":"2025')
    return directory


def test_next_use_gives_each_inputs_next_seq_with_the_same_key(log):
    ahead = NextUse(log, 0, window=100)
    assert [ahead.get(seq) for seq in range(len(KEYS))] == [2, 4, 5, 7, 9, 8, None, None, None,
                                                            None]


def test_next_use_starts_anywhere_and_skips_the_seqs_not_asked_about(log):
    ahead = NextUse(log, 3, window=100)
    assert [ahead.get(3), ahead.get(5), ahead.get(6), ahead.get(8)] == [7, 8, None, None]
    assert NextUse(log, 5, window=2).get(5) == 8  # a piece read is read whole (at least the window)
    assert NextUse(log, 10, window=100).get(10) is None  # past the end: nothing, and no error


def _family(key: str):
    return key  # the cache holds whatever it is given; a string stands for a state here


def test_the_cache_evicts_unknown_next_use_first_oldest_first_then_the_furthest_due():
    cache = FamilyCache()
    cache.put("near", _family("near"), 10)
    cache.put("far1", _family("far1"))
    cache.put("later", _family("later"), 30)
    cache.put("far2", _family("far2"))
    assert len(cache) == 4 and "later" in cache and sorted(cache) == ["far1", "far2", "later",
                                                                      "near"]
    assert cache.pop_victim() == ("far1", "far1")
    assert cache.pop_victim() == ("far2", "far2")
    cache.put("later", cache.pop("later"), 5)  # used again, now due before "near"
    assert cache.pop_victim() == ("near", "near")
    assert cache.get("later") == "later" and cache.pop("gone") is None
    assert cache.pop_victim() == ("later", "later") and len(cache) == 0


def test_a_due_given_twice_makes_the_second_family_one_of_unknown_next_use():
    cache = FamilyCache()
    cache.put("A", _family("A"), 7)
    cache.put("B", _family("B"), 7)  # wrong: one input is one family's
    cache.put("C", _family("C"), 3)
    assert [cache.pop_victim()[0] for _ in range(3)] == ["B", "A", "C"]


def test_a_due_left_behind_by_a_family_used_again_is_free_for_another():
    cache = FamilyCache()
    cache.put("A", _family("A"), 7)
    cache.put("A", cache.pop("A"), 9)  # A's due of 7 is stale now, its heap entry skipped
    cache.put("B", _family("B"), 7)  # not a wrong hint: B is due at 7
    cache.put("C", _family("C"), 8)
    cache.pop("C")  # gone: its due is skipped too
    assert [cache.pop_victim()[0] for _ in range(2)] == ["A", "B"] and len(cache) == 0


def test_the_cache_rebuilds_its_heap_and_keeps_its_order():
    cache = FamilyCache()
    for seq in range(5000):  # one family used again and again: its old heap entries pile up
        cache.pop("A")
        cache.put("A", _family("A"), seq + 1)
    cache.put("B", _family("B"), 10)
    assert len(cache._heap) <= 2 * 2 + 1024
    assert cache.pop_victim() == ("A", "A") and cache.pop_victim() == ("B", "B")


class _CountingStore(MemoryStore):
    def __init__(self):
        super().__init__()
        self.reads: list[bytes] = []

    def get(self, key, default=None):
        if key.startswith(b"f:") and key in self:
            self.reads.append(key)
        return super().get(key, default)


def test_with_next_uses_the_processor_keeps_the_family_coming_back_and_answers_the_same():
    """Two cached families; A, B, C, A: least-recently-used evicts A for C and reads A back;
    told that A comes back at seq 3 (and B and C never), the cache evicts B instead."""
    inputs = [enrolled_input(seq, key) for seq, key in enumerate(["A", "B", "C", "A"])]
    answers, reads = [], []
    for next_use in (None, {0: 3}):
        processor = PartitionProcessor(reference(), Settings(), cache_families=2,
                                       keep_results=False)
        store = _CountingStore()
        answers.append(processor.apply(0, None, inputs, store, flush=False,
                                       next_use=next_use).ledger)
        reads.append(store.reads)
        assert sorted(processor._families) == (["A", "C"])
    assert reads == [[b"f:A"], []]
    assert answers[0] == answers[1]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    return simulated_year(tmp_path_factory.mktemp("cache") / "run", members=120, seed=5)


def test_the_embedded_runtime_reads_fewer_families_back_with_its_lookahead(
        simulated, tmp_path, monkeypatch):
    """A cache of 8 over the scratch store, with and without the look-ahead: the same ledger,
    and fewer states read back from the store with it."""
    reads, ledgers = [], []
    real_get = RocksStore.get
    for ahead in (False, True):
        count: list[bytes] = []

        def counted(self, key, default=None, count=count):
            value = real_get(self, key, default)
            if key.startswith(b"f:") and value is not None:
                count.append(key)
            return value

        with monkeypatch.context() as patch:
            patch.setattr(RocksStore, "get", counted)
            run = fresh_copy(simulated, tmp_path / f"ahead-{ahead}")
            # without: the cache as it was, least recently used out first
            with EmbeddedAdjudicator(run, cache_families=8, lookahead=ahead) as rt:
                rt.run()
        reads.append(len(count))
        ledgers.append([e["hash"] for e in read(run / "ledger")])
    assert ledgers[0] == ledgers[1] and len(ledgers[0]) > 900
    assert reads[1] < 0.8 * reads[0], reads


def test_the_run_clock_adjudicates_without_the_lookahead_and_adjudicate_with_it(simulated, tmp_path):
    """`claimsim run` folds the payer state beside the cache, whose heap the look-ahead's maps
    fragment (`runclock.embedded_runtime`); `claimsim adjudicate` keeps the look-ahead."""
    from claimsim.scenarios.runclock import embedded_runtime

    run = fresh_copy(simulated, tmp_path / "clock")
    with embedded_runtime(run) as rt:
        rt.cache_families = 8
        assert rt._lookahead() is None
    with EmbeddedAdjudicator(run, cache_families=8) as rt:
        assert isinstance(rt._lookahead(), WhenNeeded)


def test_the_lookahead_starts_when_asked_from_the_seq_then_asked_about(log):
    needed = []
    ahead = WhenNeeded(log, 100, lambda: bool(needed))
    assert [ahead.get(0), ahead.get(1)] == [None, None] and not ahead.started
    needed.append(True)
    assert [ahead.get(seq) for seq in range(3, len(KEYS))] == [7, 9, 8, None, None, None, None]
    assert ahead.started


def test_the_lookahead_reads_nothing_while_the_cache_is_under_half_full(simulated, tmp_path,
                                                                      monkeypatch):
    """A cache that holds every family needs no hints: the input log is not read a second time
    (it was, from the first input, before the cache was half full). A smaller cache starts the
    hints once half full, and reads fewer families back than it would without them."""
    from claimsim.adjudication.runtimes import lookahead

    families = len({e["key"] for e in read(simulated / "input")})
    starts: list[int] = []
    real = lookahead.NextUse.__init__

    def counted(self, directory, start, window):
        starts.append(start)
        real(self, directory, start, window)

    monkeypatch.setattr(lookahead.NextUse, "__init__", counted)
    ledgers = []
    for cache in (2 * families + 1, 8):
        run = fresh_copy(simulated, tmp_path / f"half-{cache}")
        with EmbeddedAdjudicator(run, cache_families=cache) as rt:
            rt.run()
        ledgers.append([e["hash"] for e in read(run / "ledger")])
    assert len(starts) == 1 and starts[0] > 0, starts  # only the small cache's, not from seq 0
    assert ledgers[0] == ledgers[1]


class _CountingDb:
    """Stands for the store's RocksDB handle, counting its lookups."""

    def __init__(self, db):
        self.db, self.gets = db, 0

    def get(self, key):
        self.gets += 1
        return self.db.get(key)

    def __setitem__(self, key, value):
        self.db[key] = value


def test_the_disk_store_writes_back_a_state_it_read_without_looking_its_slot_up(tmp_path):
    with RocksStore(tmp_path / "db") as store:
        counting = store._db = _CountingDb(store._db)
        try:
            assert store.get(b"f:S1") is None  # absent: remembered as absent
            store[b"f:S1"] = b"x" * 10
            assert counting.gets == 1
            assert store.get(b"f:S1") == b"x" * 10
            store[b"f:S1"] = b"y" * 300  # outgrows its slot: a new one, written to the tree
            assert counting.gets == 2
            store[b"f:S1"] = b"z" * 200  # not read since its last write: looked up
            assert counting.gets == 3 and store.get(b"f:S1") == b"z" * 200
        finally:
            store._db = counting.db
