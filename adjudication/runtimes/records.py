"""A partition's claim records in its `Store` (`processor.py` names the key layout: `c:` keys),
and the exact-size copies of encoder output that every value the processor writes is."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import orjson

from claimsim.events.encoding import open_body

from claimsim.adjudication.engine.claims import HEADER

if TYPE_CHECKING:
    from claimsim.adjudication.runtimes.processor import Store

# A version's header keys, in the order `engine.claims.adjudicate_claim` builds them (its
# `HEADER`), by position in a stored record's head (`record_head`).
HDR_KEYS: Final = tuple(HEADER)
_NEWLINE: Final = orjson.OPT_APPEND_NEWLINE


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


# A claim record as the store holds it: two lines of compact JSON, the record's head and its last
# version's `lines` (`encode_record`; `decode_record` reads it back as the record's dict). The
# head is a list, `[void, earlier versions, dups, seq, visits, *header values (HDR_KEYS)]`: the
# dict layers' 16 keys were most of the record's cost around its lines (callgrind, 9,834 synthetic
# records encoded around their lines' bytes: 5.8k instructions each as nested dicts, 2.7k as one
# list). Built as `head + lines`, the value is a fresh exact-size bytes (`exact`'s reason) with no
# copy of its own, and 12 % smaller (callgrind_core 10000: `put_record` 324.8M -> 292.5M). Every
# reader of a record reads it through `StoreRecords`; no ledger holds one.
def record_head(record: dict[str, Any], version: dict[str, Any]) -> bytes:
    """The head line of a record whose last version is `version` (newline included)."""
    versions: list[dict[str, Any]] = record["versions"]
    hdr: dict[str, Any] = version["hdr"]
    return orjson.dumps((record["void"], versions[:-1], version["dups"], version["seq"],
                         version["visits"], hdr["claim_id"], hdr["frequency"], hdr["member_id"],
                         hdr["original_claim_id"], hdr["paid"], hdr["payer_id"],
                         hdr["practice_id"], hdr["received"], hdr["rendering_npi"]),
                        option=_NEWLINE)


def encode_record(record: dict[str, Any]) -> bytes:
    """A claim record's value in the store (the layout above)."""
    version = record["versions"][-1]
    return record_head(record, version) + orjson.dumps(version["lines"])


def decode_record(raw: bytes) -> dict[str, Any]:
    """The record `encode_record` wrote: its dicts' keys in the order the engine builds them. A
    value of one line is a record in the layout before this one (the record's dict, compact), as
    a store kept from an earlier version holds (a faust table's changelog): read as it was."""
    cut = raw.find(b"\n")  # compact JSON holds no other (a string's newline is escaped)
    if cut < 0:
        earlier: dict[str, Any] = orjson.loads(raw)
        return earlier
    head = orjson.loads(raw[:cut])
    versions: list[dict[str, Any]] = head[1]
    versions.append({"dups": head[2], "hdr": dict(zip(HDR_KEYS, head[5:])),
                     "lines": orjson.loads(raw[cut + 1:]), "seq": head[3], "visits": head[4]})
    return {"versions": versions, "void": head[0]}


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
            record = None if raw is None else decode_record(raw)
        self._last_key, self._last = key, record
        return record

    def put(self, subscriber: str, root: str, record: dict[str, Any]) -> None:
        key = f"c:{subscriber}/{root}".encode("utf-8")  # `record_key`, inlined: once per claim
        self._last_key, self._last = key, record
        if self.pending is None:
            # `encode_record`, inlined: its lines' bytes are the answer's too (`share_lines`).
            version = record["versions"][-1]
            lines = version["lines"]
            raw = orjson.dumps(lines)
            self.store[key] = record_head(record, version) + raw
            # A voided record's answer is a reversal: no lines of its own to share.
            self.fresh_lines = (None if not self.share_lines or record["void"] is not None
                                else (lines, orjson.Fragment(raw)))
        else:
            self.pending[key] = record

    def flush(self) -> None:
        if self.pending:
            store = self.store
            for key, record in self.pending.items():
                store[key] = encode_record(record)
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
