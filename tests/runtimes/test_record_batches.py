"""The disk store puts claim records in batches: a record put is read back at once (from those
waiting), goes to RocksDB with `PENDING_RECORDS` others, and a durable store writes its waiting
records before anything put after them, and on closing."""

from __future__ import annotations

from claimsim.adjudication.runtimes import diskstore
from claimsim.adjudication.runtimes.diskstore import PENDING_RECORDS, RocksStore


def _in_rocksdb(store: RocksStore, key: bytes) -> bytes | None:
    return store._records.get(key)


def test_a_record_put_is_read_back_at_once_and_written_with_a_full_batch(tmp_path):
    with RocksStore(tmp_path / "db", scratch=True) as store:
        store[b"c:S1/1"] = b"first"
        assert _in_rocksdb(store, b"c:S1/1") is None  # waiting
        assert store.get(b"c:S1/1") == b"first" and b"c:S1/1" in store
        store[b"c:S1/1"] = b"replaced"
        assert store[b"c:S1/1"] == b"replaced"
        for i in range(2, PENDING_RECORDS + 1):
            store[b"c:S1/%d" % i] = b"r%d" % i
        assert _in_rocksdb(store, b"c:S1/1") == b"replaced"  # the batch is full: all written
        assert _in_rocksdb(store, b"c:S1/%d" % PENDING_RECORDS) == b"r%d" % PENDING_RECORDS
        assert store.get(b"c:S1/2") == b"r2" and store.get(b"c:S1/0") is None


def test_a_scan_and_a_delete_see_the_waiting_records(tmp_path):
    with RocksStore(tmp_path / "db", scratch=True) as store:
        store[b"c:S2/1"] = b"two"
        store[b"c:S1/1"] = b"one"
        store[b"f:S1"] = b"hot"  # a scratch store keeps its records waiting past other puts
        assert _in_rocksdb(store, b"c:S1/1") is None
        assert list(store.items(b"c:")) == [(b"c:S1/1", b"one"), (b"c:S2/1", b"two")]
        store[b"c:S3/1"] = b"three"
        del store[b"c:S3/1"]
        assert store.get(b"c:S3/1") is None and b"c:S3/1" not in store


def test_a_durable_store_writes_waiting_records_before_later_puts_and_on_closing(tmp_path,
                                                                                monkeypatch):
    order: list[list[bytes]] = []
    write_pending = RocksStore._write_pending

    def logged(store: RocksStore) -> None:
        order.append(sorted(store._pending))
        write_pending(store)

    monkeypatch.setattr(diskstore.RocksStore, "_write_pending", logged)
    with RocksStore(tmp_path / "kept") as store:
        store[b"c:S1/1"] = b"one"
        store[b"c:S1/2"] = b"two"
        store[b"f:S1"] = b"hot"  # the records it points at are written first
        assert order == [[b"c:S1/1", b"c:S1/2"]]
        assert _in_rocksdb(store, b"c:S1/2") == b"two"
        store[b"c:S2/1"] = b"three"
    assert order[-1] == [b"c:S2/1"]
    with RocksStore(tmp_path / "kept") as store:
        assert [store.get(k) for k in (b"c:S1/1", b"c:S2/1", b"f:S1")] == [b"one", b"three",
                                                                            b"hot"]
