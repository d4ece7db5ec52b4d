"""Every value the processor writes, and every answer it encodes, is an exact-size copy of the
encoder's output (`records.exact`, `encoding.open_body`): orjson's result keeps its working
buffer (some 4 KB), so a store or a batch holding the results themselves would grow several
times faster than its data. tracemalloc counts the memory each way of copying holds."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import orjson

from claimsim.adjudication.runtimes.processor import MemoryStore
from claimsim.adjudication.runtimes.records import (
    HDR_KEYS, StoreRecords, decode_record, encode_answer, exact,
)
from claimsim.events.encoding import canonical, open_body

N = 200


def _held_each(make: Callable[[], Any]) -> float:
    """The memory (bytes) what `make()` returns holds, over `N`."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = make()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept is not None
    return held / N


def _record(i: int, void: Any = None) -> dict[str, Any]:
    line = {"line": 1, "plan_paid": 7_950 + i, "procedure": "99213", "status": "paid"}
    hdr = dict.fromkeys(HDR_KEYS, "x") | {"claim_id": f"C{i}"}
    return {"versions": [{"dups": [f"k{i}"], "hdr": hdr, "lines": [line, dict(line, line=2)],
                          "seq": i, "visits": []}], "void": void}


def test_the_encoders_own_result_holds_its_working_buffer():
    size = len(orjson.dumps(_record(0)))
    assert _held_each(lambda: [orjson.dumps(_record(0)) for _ in range(N)]) > size + 1_000


def test_exact_and_open_body_hold_their_bytes_only():
    raw = orjson.dumps(_record(0))
    assert exact(raw) == raw and exact(raw) is not raw
    assert _held_each(lambda: [exact(orjson.dumps(_record(0))) for _ in range(N)]) < len(raw) + 100
    event = {"at": "2025-01-01", "cause": 3, "data": _record(0), "key": "S1", "seq": 4,
             "type": "claim.adjudicated", "v": 1}
    assert open_body(event) == canonical(event)[:-1]
    assert _held_each(lambda: [open_body(event) for _ in range(N)]) < len(raw) + 200


def test_the_records_a_store_holds_and_the_answers_hold_their_bytes_only():
    for share_lines, void in ((False, None), (True, None), (True, {"seq": 9})):
        store = MemoryStore()
        records = StoreRecords(store, buffered=False, share_lines=share_lines)

        def put_all() -> list[bytes]:
            for i in range(N):
                records.put("S1", f"C{i}", _record(i, void))
            return list(store.values())

        held = _held_each(put_all)  # the values, their keys and the store's table
        size = sum(map(len, store.values())) / N
        assert size + 20 < held < size + 250, (share_lines, void)
        assert [decode_record(v) for v in store.values()] == [_record(i, void) for i in range(N)]
    records = StoreRecords(MemoryStore(), buffered=False, share_lines=True)

    def answers(encode: Callable[[dict[str, Any]], bytes]) -> list[bytes]:
        out = []
        for i in range(N):
            record = _record(i)
            records.put("S1", f"C{i}", record)
            lines = record["versions"][-1]["lines"]
            out.append(encode({"at": "2025-01-01", "cause": i, "data": {"lines": lines},
                               "key": "S1", "seq": i, "type": "claim.adjudicated", "v": 1}))
        return out

    shared = answers(lambda event: encode_answer(event, records))
    assert shared == answers(lambda event: orjson.dumps(event, option=orjson.OPT_SORT_KEYS)[:-1])
    # Against slices (exact copies) made the same way: the same memory, give or take.
    sliced = _held_each(lambda: answers(lambda event: canonical(event)[:-1]))
    assert _held_each(lambda: answers(lambda event: encode_answer(event, records))) < sliced + 50
    assert _held_each(lambda: answers(canonical)) > sliced + 1_000
