"""A claim's lines are encoded once, for its claim record, and the same bytes go into its ledger
entry (`records.StoreRecords.fresh_lines`, `encode_answer`): that is only right while every
line result is built with its keys in sorted order, so these tests hold the engine to it and
compare each encoded answer with the canonical encoding of the same event."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import pytest

from claimsim.adjudication.engine.context import Settings
from claimsim.adjudication.engine.line_results import denied_line, line_result, negated, paid_adjustments
from claimsim.adjudication.engine.validation import Line
from claimsim.adjudication.runtimes import records as records_module
from claimsim.adjudication.runtimes.processor import MemoryStore, PartitionProcessor
from claimsim.adjudication.engine.context import Context
from claimsim.adjudication.engine.core import adjudicate
from claimsim.adjudication.engine.family import FamilyState
from claimsim.adjudication.runtimes.records import (
    HDR_KEYS, StoreRecords, decode_record, encode_record, record_key,
)
from claimsim.events.encoding import canonical, open_body
from claimsim.events.log import read
from claimsim.events.reference import ReferenceData

from ..fixtures.run_dirs import simulated_year


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    return simulated_year(tmp_path_factory.mktemp("shared") / "run", members=120, seed=5)


def _line() -> Line:
    return Line(1, dt.date(2025, 3, 4), "2025-03-04", "99213", "25", 1, 12_000, ("E11.9",))


def _sorted_all_the_way(value) -> bool:
    if isinstance(value, dict):
        return list(value) == sorted(value) and all(_sorted_all_the_way(v) for v in value.values())
    if isinstance(value, list):
        return all(_sorted_all_the_way(v) for v in value)
    return True


def test_line_results_and_their_adjustments_are_built_with_sorted_keys():
    line = _line()
    adjustments = paid_adjustments(12_000, 9_000, 100, 200, 300, 400, 50)
    assert [a["carc"] for a in adjustments] == ["45", "24", "1", "2", "3", "253"]
    paid = line_result(line, "M1", 9_000, 7_950, 200, 300, 400, 100, 50, 0, 900, "paid", "pcf",
                       True, False, adjustments, ["N781"])
    denied = denied_line(line, "M1", "CO", "96", remark="N20")
    for result in (paid, denied, negated(paid), negated(denied)):
        assert _sorted_all_the_way(result)
    assert paid["cost_share"] == 900 and negated(paid)["plan_paid"] == -7_950


def test_every_encoded_answer_is_the_canonical_encoding_of_its_event(simulated, monkeypatch):
    fragments = []  # per encoding: whether the event's lines went in as the record's bytes
    monkeypatch.setattr(records_module, "open_body", lambda event: (
        fragments.append(isinstance(event["data"].get("lines"), orjson.Fragment)), open_body(event))[1])
    processor = PartitionProcessor(ReferenceData.load(simulated), Settings(), keep_results=False)
    store, inputs = MemoryStore(), list(read(simulated / "input"))
    seen: dict[str, int] = {}
    for i in range(0, len(inputs), 50):
        out = processor.apply(0, None, inputs[i:i + 50], store, flush=False, encode=True)
        assert len(out.encoded) == len(out.ledger)
        for event, body in zip(out.ledger, out.encoded):
            assert body == open_body(event) == canonical(event)[:-1]
            seen[event["type"]] = seen.get(event["type"], 0) + 1
    assert set(seen) == {"claim.adjudicated", "claim.reversed", "claim.rejected", "no_effect"}
    # Every adjudication (originals and replacements) reused its record's line bytes.
    assert sum(fragments) == seen["claim.adjudicated"] > 500 and len(fragments) == len(inputs)


def test_a_record_write_keeps_its_last_versions_lines_as_their_canonical_bytes(simulated):
    store = MemoryStore()
    records = StoreRecords(store, buffered=False, share_lines=True)
    line = denied_line(_line(), "M1", "OA", "18")
    hdr = dict.fromkeys(HDR_KEYS, "x")
    first = {"dups": [], "hdr": {**hdr, "claim_id": "C1"}, "lines": [line], "seq": 3, "visits": []}
    second = {"dups": ['a","seq":1\n'], "hdr": {**hdr, "claim_id": "C2\n"}, "lines": [line, line],
              "seq": 9, "visits": []}
    records.put("S1", "C1", {"versions": [first], "void": None})
    assert records.fresh_lines is not None and records.fresh_lines[0] is first["lines"]
    assert bytes(orjson.dumps(records.fresh_lines[1])) == canonical(first["lines"])
    records.put("S1", "C1", {"versions": [first, second], "void": None})
    assert records.fresh_lines is not None and records.fresh_lines[0] is second["lines"]
    assert orjson.dumps(records.fresh_lines[1]) == canonical(second["lines"])
    # The record is stored as its encoding, whichever way its lines' bytes were made, and reads
    # back as it was put (newlines within its strings too).
    raw = store[record_key("S1", "C1")]
    assert raw == encode_record({"versions": [first, second], "void": None})
    assert decode_record(raw) == {"versions": [first, second], "void": None}
    records.put("S1", "C1", {"versions": [first, second], "void": {"seq": 11}})
    assert records.fresh_lines is None  # a void's answer has no lines of its own
    # A caller that does not encode its answers (the store's queries) keeps no bytes of them.
    unshared = StoreRecords(MemoryStore(), buffered=False)
    unshared.put("S1", "C1", {"versions": [first], "void": None})
    assert unshared.fresh_lines is None and unshared.get("S1", "C1")["versions"] == [first]


def test_every_record_the_engine_writes_reads_back_as_it_was_written(simulated):
    """The store's layout of a claim record (`records.encode_record`) is not its dict's: every
    record a simulated year's inputs make (originals, replacements, voids) reads back from the
    processor's store as the engine built it, its keys in the same order (the ledger entries
    built from a record read back encode its header's keys in that order)."""
    reference = ReferenceData.load(simulated)
    ctx, inputs = Context(reference, Settings()), list(read(simulated / "input"))
    families: dict[str, FamilyState] = {}
    for item in inputs:
        if type(item["key"]) is str:
            family = families.get(item["key"]) or FamilyState(item["key"])
            families[item["key"]] = adjudicate(item, family, ctx)[1]
    processor = PartitionProcessor(reference, Settings(), keep_results=False)
    store = MemoryStore()
    processor.apply(0, None, inputs, store, flush=False, encode=True)
    kinds = {"replaced": 0, "voided": 0}
    for subscriber, family in families.items():
        for root, record in family.records.items():  # as the engine last put it
            raw = store[record_key(subscriber, root)]
            assert orjson.dumps(decode_record(raw)) == orjson.dumps(record)
            assert encode_record(record) == raw
            kinds["replaced"] += len(record["versions"]) > 1
            kinds["voided"] += record["void"] is not None
    assert min(kinds.values()) > 0


def test_a_record_stored_in_the_earlier_layout_reads_as_it_was_written():
    """A store kept from before the two-line layout (a faust table's changelog) holds a record as
    its dict's compact JSON, one line: it reads back as that dict, and the next write stores the
    record in the current layout."""
    hdr = dict.fromkeys(HDR_KEYS, "x") | {"claim_id": "C1", "original_claim_id": None}
    line = {"line_no": 1, "plan_paid": 7_950, "status": "paid"}
    record = {"versions": [{"dups": ["k"], "hdr": hdr, "lines": [line], "seq": 3, "visits": []}],
              "void": None}
    store = MemoryStore()
    store[record_key("S1", "C1")] = orjson.dumps(record)
    records = StoreRecords(store, buffered=False, share_lines=True)
    assert records.get("S1", "C1") == record
    assert decode_record(orjson.dumps(record)) == record
    records.put("S1", "C1", record)
    assert store[record_key("S1", "C1")] == encode_record(record) != orjson.dumps(record)
