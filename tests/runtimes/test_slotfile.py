"""The slot file under the disk store's hot family states: a value rewritten in place while it
fits its power-of-two slot, moved to a new slot (and the old one left behind) when it outgrows it,
read back byte for byte, and the store's tree holding only where each one is."""

from __future__ import annotations

from claimsim.adjudication.runtimes.diskstore import RocksStore
from claimsim.adjudication.runtimes.slotfile import SlotFile, SlotRef, slot_size


def test_a_slot_is_the_least_power_of_two_holding_the_value_and_its_4_byte_length():
    # 100 + 4 -> the 256-byte minimum; 252 + 4 = 256 fits exactly; 253 + 4 = 257 -> 512.
    sizes = [slot_size(n) for n in (0, 100, 252, 253, 1020, 1021)]
    assert sizes == [256, 256, 256, 512, 1024, 2048]


def test_a_value_is_rewritten_in_place_until_it_outgrows_its_slot(tmp_path):
    slots = SlotFile(tmp_path / "hot.slots")
    first = slots.write(b"a" * 100, None)
    assert first == SlotRef(0, 256)
    assert slots.write(b"b" * 200, first) == first  # 204 bytes fit the 256-byte slot
    assert slots.read(first) == b"b" * 200
    assert slots.write(b"c" * 10, first) == first and slots.read(first) == b"c" * 10
    moved = slots.write(b"d" * 300, first)  # 304 > 256: a new 512-byte slot after the first
    assert moved == SlotRef(256, 512) and slots.read(moved) == b"d" * 300
    other = slots.write(b"e" * 600, None)  # 604 -> 1024 bytes, after both
    assert other == SlotRef(768, 1024) and slots.size() == 256 + 512 + 1024
    assert slots.read(moved) == b"d" * 300 and slots.read(other) == b"e" * 600
    assert SlotRef.unpack(other.pack()) == other and len(other.pack()) == 12
    slots.close()


def test_a_reopened_slot_file_puts_new_slots_after_every_old_one(tmp_path):
    # The last slot holds a short value: the file still ends at the slot's end, not the value's,
    # so a new slot after reopening does not overlap it.
    slots = SlotFile(tmp_path / "hot.slots")
    first = slots.write(b"a" * 300, None)  # a 512-byte slot holding 304 bytes
    last = slots.write(b"b" * 10, None)  # a 256-byte slot holding 14 bytes
    slots.close()
    assert (tmp_path / "hot.slots").stat().st_size == 512 + 256
    slots = SlotFile(tmp_path / "hot.slots")
    assert slots.size() == 768
    new = slots.write(b"c" * 100, None)
    assert new == SlotRef(768, 256)
    assert slots.write(b"d" * 250, last) == last  # 254 bytes: fits its slot, overwrites nothing
    assert (slots.read(first), slots.read(last), slots.read(new)) == (b"a" * 300, b"d" * 250,
                                                                      b"c" * 100)
    slots.close()


def test_the_disk_store_keeps_hot_states_in_slots_and_the_tree_only_their_place(tmp_path):
    with RocksStore(tmp_path / "db") as store:
        store[b"f:S1"] = b"x" * 100
        store[b"f:S1"] = b"y" * 120  # rewritten in place: still the first slot
        assert store._db.get(b"f:S1") == SlotRef(0, 256).pack()
        store[b"f:S2"] = b"z" * 300
        store[b"f:S1"] = b"w" * 400  # outgrew its slot: moved after S2's 512 bytes
        assert store._db.get(b"f:S1") == SlotRef(768, 512).pack()
        store[b"c:S1/C1"] = b"record"
        store[b"e:0/000000000001"] = b"fact"
        assert store.get(b"f:S1") == b"w" * 400 and store[b"f:S2"] == b"z" * 300
        assert store.get(b"c:S1/C1") == b"record" and store.get(b"c:S9/C1") is None
        assert list(store.items()) == [(b"c:S1/C1", b"record"), (b"e:0/000000000001", b"fact"),
                                       (b"f:S1", b"w" * 400), (b"f:S2", b"z" * 300)]
        assert list(store.items(b"c:")) == [(b"c:S1/C1", b"record")]
        assert [k for k, _ in store.items(b"f:")] == [b"f:S1", b"f:S2"]
    with RocksStore(tmp_path / "db") as store:  # a durable store reopens with its slots
        assert store.get(b"f:S1") == b"w" * 400 and store.get(b"c:S1/C1") == b"record"
        store[b"f:S3"] = b"v"
        assert store._db.get(b"f:S3") == SlotRef(256 + 512 + 512, 256).pack()
