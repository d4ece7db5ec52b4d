"""A partition's claim records in its `Store` (`processor.py` names the key layout: `c:` keys),
and the exact-size copies of encoder output that every value the processor writes is."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from claimsim.events.encoding import open_body

if TYPE_CHECKING:
    from claimsim.adjudication.runtimes.processor import Store


def exact(raw: bytes) -> bytes:
    """An exact-size copy of encoder output, for every value the processor writes: `orjson.dumps`
    returns bytes whose memory block keeps the encoder's whole working buffer (measured with
    orjson 3.13: 20,000 records of 829 bytes held 157 MB; copied, 17 MB), so an in-memory store
    (a `MemoryStore`, faust's `memory://` table) that kept them as they came would grow several
    times faster than its data. Made by formatting (`b"%b" % (raw,)`: a new object of the exact
    size, built in place when compiled) rather than through a `memoryview`, whose creation and
    call cost some 1,500 instructions a copy, more than the copy itself."""
    return b"%b" % (raw,)


def record_key(subscriber: str, root: str) -> bytes:
    return f"c:{subscriber}/{root}".encode("utf-8")


class StoreRecords:
    """Claim records (`engine.family.ClaimRecords`) in a `Store`, under `record_key`. `buffered`:
    writes wait in `pending` for `flush()` (the Kafka runtime writes them just before the hot
    states); otherwise each goes to the store at once, encoded. The last record read or written
    is kept decoded: a claim's answer is built right after its record is written, and a
    replacement reads the record its original just wrote.

    Unbuffered and asked to (`share_lines`: the caller encodes the answers), the bytes of a
    record's last version's `lines` are kept with that list (`fresh_lines`) until the next write,
    so the claim's ledger entry, which holds the same list, reuses them (`encode_answer`) instead
    of encoding the lines a second time. They are the lines' canonical (sorted-key) encoding
    because the engine builds every line result, and each of its adjustments, with its keys in
    sorted order (`engine.line_results`; a test holds it to that), and a version's lines are always
    the ones it just built. Encoding the record with sorted keys instead costs more than encoding
    the lines twice (callgrind, 5,000 synthetic claims: +70M instructions in the record's encoding
    against -80M in the ledger's)."""

    __slots__ = ("store", "pending", "_last_key", "_last", "share_lines", "fresh_lines")

    def __init__(self, store: Store, *, buffered: bool, share_lines: bool = False):
        self.store = store
        self.pending: dict[bytes, dict[str, Any]] | None = {} if buffered else None
        self.share_lines = share_lines and not buffered
        self._last_key: bytes | None = None
        self._last: dict[str, Any] | None = None
        self.fresh_lines: tuple[list[Any], orjson.Fragment] | None = None

    def get(self, subscriber: str, root: str) -> dict[str, Any] | None:
        key = record_key(subscriber, root)
        if key == self._last_key:
            return self._last
        record = None if self.pending is None else self.pending.get(key)
        if record is None:
            raw = self.store.get(key)
            record = None if raw is None else orjson.loads(raw)
        self._last_key, self._last = key, record
        return record

    def put(self, subscriber: str, root: str, record: dict[str, Any]) -> None:
        key = f"c:{subscriber}/{root}".encode("utf-8")  # `record_key`, inlined: once per claim
        self._last_key, self._last = key, record
        if self.pending is None:
            if not self.share_lines or record["void"] is not None:
                # A voided record's answer is a reversal: no lines of its own to share.
                whole: bytes = orjson.dumps(record)
                self.store[key] = b"%b" % (whole,)  # `exact`, inlined
                self.fresh_lines = None
                return
            # The last version's lines are encoded first, on their own, and go into the record as
            # those bytes: the same bytes the record's own encoding would hold there (no option
            # changes how a nested list encodes), with no search of the record for them.
            versions: list[dict[str, Any]] = record["versions"]  # typed: list and dict ops
            version = versions[-1]
            lines = version["lines"]
            fragment = orjson.Fragment(orjson.dumps(lines))
            version["lines"] = fragment
            try:
                raw: bytes = orjson.dumps(record)
            finally:
                version["lines"] = lines
            self.store[key] = b"%b" % (raw,)  # `exact`, inlined
            self.fresh_lines = (lines, fragment)
        else:
            self.pending[key] = record

    def flush(self) -> None:
        if self.pending:
            store = self.store
            for key, record in self.pending.items():
                store[key] = exact(orjson.dumps(record))
            self.pending.clear()


def encode_answer(event: dict[str, Any], records: StoreRecords) -> bytes:
    """`encoding.open_body(event)` of an answer the core just gave, its lines' bytes reused from
    the claim record just written when they are the same list (`StoreRecords.fresh_lines`)."""
    fresh, records.fresh_lines = records.fresh_lines, None
    if fresh is not None and event["type"] == "claim.adjudicated":
        data = event["data"]
        if data["lines"] is fresh[0]:
            data["lines"] = fresh[1]
            body = open_body(event)
            data["lines"] = fresh[0]
            return body
    return open_body(event)
