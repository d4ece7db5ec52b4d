"""The disk store's warm values (`RocksStore(warm_mb=...)`, `claimsim adjudicate`'s): hot family
states kept in memory within a budget, the rest in the slot file as before. Reads see every
write wherever it went, a value that outgrows the budget moves to the slot file and stays there,
and the embedded runtime's ledger is the same bytes whatever the budget and the cache."""

from __future__ import annotations

import pytest

from claimsim.adjudication.runtimes import family_storage
from claimsim.adjudication.runtimes.diskstore import MB, WARM_ENTRY, RocksStore
from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator
from claimsim.adjudication.runtimes.family_storage import LARGE, STATE_DIR
from claimsim.adjudication.runtimes.slotfile import SlotFile

from ..fixtures.run_dirs import fresh_copy, ledger_bytes, simulated_year

BUDGET = 2 * (300 + WARM_ENTRY)  # room for two values of 300 bytes


def _store(tmp_path, **kw) -> RocksStore:
    return RocksStore(tmp_path / "db", scratch=True, warm_mb=BUDGET / MB, **kw)


def _slot_writes(monkeypatch) -> list[bytes]:
    writes: list[bytes] = []
    real = SlotFile.write

    def counted(self, value, ref):
        writes.append(value)
        return real(self, value, ref)

    monkeypatch.setattr(SlotFile, "write", counted)
    return writes


def test_warm_values_are_read_back_and_only_what_does_not_fit_goes_to_the_slot_file(
        tmp_path, monkeypatch):
    writes = _slot_writes(monkeypatch)
    with _store(tmp_path) as store:
        store[b"f:A"] = b"a" * 300
        store[b"f:B"] = b"b" * 300
        store[b"f:C"] = b"c" * 300  # no room left: the slot file
        assert writes == [b"c" * 300]
        assert [store.get(k) for k in (b"f:A", b"f:B", b"f:C")] == [b"a" * 300, b"b" * 300,
                                                                    b"c" * 300]
        store[b"f:A"] = b"A" * 250  # smaller: stays warm, and frees 50 bytes
        store[b"f:B"] = b"B" * 340  # 40 more fit in what A gave back
        assert writes == [b"c" * 300] and store.get(b"f:A") == b"A" * 250
        assert store.get(b"f:B") == b"B" * 340 and store._warm_left == 10
        assert b"f:A" in store and b"f:D" not in store and store.get(b"f:D") is None


def test_a_warm_value_that_outgrows_the_budget_moves_to_the_slot_file_for_good(
        tmp_path, monkeypatch):
    writes = _slot_writes(monkeypatch)
    with _store(tmp_path) as store:
        store[b"f:A"] = b"a" * 300
        store[b"f:B"] = b"b" * 300
        store[b"f:A"] = b"x" * 400  # past the budget: out of memory, into a new slot
        assert writes == [b"x" * 400] and b"f:A" not in store._warm
        assert store.get(b"f:A") == b"x" * 400
        store[b"f:A"] = b"y" * 10  # small again, but it stays in the slot file
        assert writes == [b"x" * 400, b"y" * 10] and store.get(b"f:A") == b"y" * 10
        store[b"f:C"] = b"c" * 300  # the room A left is a new key's
        assert len(writes) == 2 and store.get(b"f:C") == b"c" * 300


def test_items_and_deletes_see_warm_and_cold_values_in_key_order(tmp_path):
    with _store(tmp_path) as store:
        store[b"f:S3"] = b"3" * 300  # warm
        store[b"e:0/000000000001"] = b"fact"
        store[b"f:S1"] = b"1" * 300  # warm
        store[b"f:S2"] = b"2" * 300  # cold
        store[b"c:S1/C1"] = b"record"
        assert list(store.items(b"f:")) == [(b"f:S1", b"1" * 300), (b"f:S2", b"2" * 300),
                                            (b"f:S3", b"3" * 300)]
        assert [k for k, _ in store.items()] == [b"c:S1/C1", b"e:0/000000000001", b"f:S1",
                                                 b"f:S2", b"f:S3"]
        del store[b"f:S1"]
        assert store.get(b"f:S1") is None and store._warm_left == BUDGET - 300 - WARM_ENTRY
        store[b"f:S4"] = b"4" * 300  # the room S1 left
        assert b"f:S4" in store._warm


def test_a_durable_store_keeps_no_warm_values_and_a_scratch_one_reopens_empty(tmp_path):
    with pytest.raises(ValueError):
        RocksStore(tmp_path / "kept", warm_mb=1)
    with _store(tmp_path) as store:
        store[b"f:A"] = b"a"
    with _store(tmp_path) as store:
        assert store.get(b"f:A") is None and list(store.items()) == []


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    return simulated_year(tmp_path_factory.mktemp("warm") / "run", members=120, seed=5)


@pytest.mark.parametrize("cache, warm_kb", [(3, 4), (3, 256), (1, 0)])
def test_adjudicate_over_warm_values_writes_the_ledger_every_family_in_memory_writes(
        simulated, tmp_path, monkeypatch, cache, warm_kb):
    """A tiny cache over a warm budget that holds some of the families (4 kB), all of them (256
    kB) or none: each family leaves the cache and comes back many times, from memory or from the
    slot file, resumed half way through (the store rebuilt), and the ledger is the same bytes."""
    expected = fresh_copy(simulated, tmp_path / "memory")
    with EmbeddedAdjudicator(expected, cache_families=None) as rt:
        rt.run()
    monkeypatch.setattr(family_storage, "IN_MEMORY_INPUTS", 10)
    monkeypatch.setattr(family_storage, "ADJUDICATE_CACHE_FAMILIES", cache)
    monkeypatch.setattr(family_storage, "ADJUDICATE_WARM_MB", warm_kb / 1024)
    run = fresh_copy(simulated, tmp_path / "warm")
    with EmbeddedAdjudicator(run, cache_families=LARGE) as rt:
        rt.run(until_seq=500)
        assert (run / STATE_DIR).is_dir() and rt.cache_families == cache
        if warm_kb:
            assert rt.store._warm
    with EmbeddedAdjudicator(run, cache_families=LARGE) as rt:
        rt.run()
        warm = len(rt.store._warm)
        cold = sum(1 for k, _ in rt.store._db.items() if k.startswith(b"f:"))
    assert ledger_bytes(run) == ledger_bytes(expected) and len(ledger_bytes(run)) > 100_000
    if warm_kb == 4:
        assert warm > 0 and cold > 0
    elif warm_kb == 256:
        assert warm > 0 and cold == 0
    else:
        assert warm == 0 and cold > 0
