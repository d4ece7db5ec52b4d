"""What travels on the run's topics, and the structural check at the worker's door.

An inbound message is `{"items": [...], "pos": N}`: one partition's next items in stream order,
N counting the items that partition carried before them (a bare item or array is accepted too,
without a position). An item is an input envelope as the input log holds it, or `{"fact": {...}}`: an
epoch fact from the ledger (attribution, practice status), broadcast to every partition. A ledger
message is a JSON array of ledger events, each in its canonical bytes; the worker's also carry a
header (`LEDGER_INDEX`: per event its cause and where its bytes end) with which the sink takes
each event's bytes as they are, neither decoding nor encoding them again. Anything that is not
JSON or not an envelope becomes a dead letter with a reason; business content is the core's to judge, not ours.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Any

import orjson

from claimsim.adjudication.engine.context import CONTEXT_TYPES
from claimsim.events.encoding import canonical, open_body
from claimsim.events.registry import EventError, current_versions, upcast_envelope

INPUT_FIELDS = ("seq", "type", "key", "at", "data")
RAW_LIMIT = 512  # characters of a dead letter's payload kept with its reason
_CURRENT = current_versions()


def partition_for(key: str, partitions: int) -> int:
    """The inbound partition of a subscriber: a stable hash (crc32), never Python's `hash()`."""
    return zlib.crc32(key.encode("utf-8")) % partitions


def input_item(env: dict[str, Any]) -> dict[str, Any]:
    """An input envelope as it goes on the wire (the chain fields stay in the log)."""
    return {k: env[k] for k in ("seq", "type", "v", "at", "key", "cause", "data")}


def fact_item(env: dict[str, Any]) -> dict[str, Any]:
    """An epoch fact as it goes on the wire; its ledger seq orders and de-duplicates it."""
    return {"fact": {"seq": env["seq"], "type": env["type"], "data": env["data"]}}


def encode_items(parts: list[bytes], pos: int) -> bytes:
    """One message from already-encoded items: `{"items": [...], "pos": N}`, N being how many
    items the partition carried before these, so a worker can tell a gap from a redelivery."""
    return b'{"items":[' + b",".join(parts) + b'],"pos":%d}' % pos


def encode_ledger(events: list[dict[str, Any]], limit: int = 512 * 1024) -> list[bytes]:
    """A message's answers as ledger messages of at most ~`limit` bytes each (a batch of large
    claims would pass the broker's 1 MB message limit in one)."""
    out: list[bytes] = []
    parts: list[bytes] = []
    size = 0
    for event in events:
        encoded = canonical(event)
        if parts and size + len(encoded) > limit:
            out.append(b"[" + b",".join(parts) + b"]")
            parts, size = [], 0
        parts.append(encoded)
        size += len(encoded) + 1
    if parts:
        out.append(b"[" + b",".join(parts) + b"]")
    return out


def decode_ledger(value: bytes) -> list[dict[str, Any]]:
    return orjson.loads(value)


LEDGER_INDEX = "claimsim-ledger-index"
_INDEX_ENTRY = struct.Struct(">qI")  # an event's cause, the offset just past its bytes


def encode_ledger_indexed(events: list[dict[str, Any]], limit: int = 512 * 1024
                          ) -> list[tuple[bytes, bytes]]:
    """`encode_ledger`'s messages, each with its `LEDGER_INDEX` header value."""
    out: list[tuple[bytes, bytes]] = []
    parts: list[bytes] = []
    index: list[bytes] = []
    size, pack = 1, _INDEX_ENTRY.pack  # the opening bracket
    for event in events:
        encoded = canonical(event)
        if parts and size + len(encoded) > limit:
            out.append((b"[" + b",".join(parts) + b"]", b"".join(index)))
            parts, index, size = [], [], 1
        parts.append(encoded)
        size += len(encoded)
        index.append(pack(event["cause"], size))
        size += 1  # the comma after it
    if parts:
        out.append((b"[" + b",".join(parts) + b"]", b"".join(index)))
    return out


def ledger_entries(value: bytes, headers: Any = ()) -> list[tuple[int, bytes]]:
    """A ledger message's events as (cause, `open_body` bytes), what `LogWriter.write_encoded`
    takes: sliced out by the message's `LEDGER_INDEX` header, else (a message without one)
    decoded and encoded again."""
    for name, index in headers or ():
        if name == LEDGER_INDEX:
            view, start, out = memoryview(value), 1, []
            for cause, end in _INDEX_ENTRY.iter_unpack(index):
                out.append((cause, bytes(view[start:end - 1])))  # without its closing brace
                start = end + 1
            return out
    return [(event["cause"], open_body(event)) for event in orjson.loads(value)]


@dataclass(frozen=True, slots=True)
class Fact:
    seq: int
    envelope: dict[str, Any]  # what Context.apply_ledger_event reads: type and data


@dataclass(frozen=True, slots=True)
class Bad:
    reason: str
    raw: Any


def dead_letter(reason: str, raw: Any, *, topic: str, partition: int, offset: int | None) -> dict[str, Any]:
    """The dead-letter record: why, where it came from, and the payload (truncated)."""
    if isinstance(raw, (bytes, bytearray)):
        text = bytes(raw).decode("utf-8", errors="replace")
    else:
        text = canonical(raw).decode()
    return {"reason": reason, "topic": topic, "partition": partition, "offset": offset,
            "raw": text[:RAW_LIMIT]}


def decode_inbound(value: bytes | None) -> tuple[int | None, list[dict[str, Any] | Fact | Bad]]:
    """(stream position, items) of one inbound message; each item an input envelope, a Fact, or
    a Bad with its reason. A message made by hand may be a bare item or an array of items: it
    has no position."""
    if value is None:
        return None, [Bad("empty message (no value)", b"")]
    try:
        body = orjson.loads(value)
    except orjson.JSONDecodeError as e:
        return None, [Bad(f"not JSON: {e}", value)]
    pos = None
    if isinstance(body, dict) and "items" in body and "pos" in body:
        pos, body = body["pos"], body["items"]
        if type(pos) is not int or pos < 0 or not isinstance(body, list):
            return None, [Bad("not a batch: pos must be a non-negative integer and items an array",
                              value)]
    if isinstance(body, list):
        if not body:
            return None, [Bad("empty batch", value)]
        return pos, [_item(x) for x in body]
    return None, [_item(body)]


def _item(item: Any) -> dict[str, Any] | Fact | Bad:
    if not isinstance(item, dict):
        return Bad(f"not an envelope: a JSON {type(item).__name__}, expected an object", item)
    if "fact" in item:
        fact = item["fact"]
        if (not isinstance(fact, dict) or type(fact.get("seq")) is not int
                or fact.get("type") not in CONTEXT_TYPES or not isinstance(fact.get("data"), dict)):
            return Bad("not an epoch fact: needs seq (int), type (attribution.* or"
                       " practice.status) and data (object)", item)
        return Fact(fact["seq"], fact)
    missing = [k for k in INPUT_FIELDS if k not in item]
    if missing:
        return Bad(f"not an envelope: missing {', '.join(missing)}", item)
    seq = item["seq"]
    if type(seq) is not int or seq < 0:
        return Bad("not an envelope: seq must be a non-negative integer", item)
    for name in ("type", "at"):
        if not isinstance(item[name], str) or not item[name]:
            return Bad(f"not an envelope: {name} must be a non-empty string", item)
    if "v" in item and item["v"] != _CURRENT.get(item["type"], item["v"]):
        try:  # an input at another version than this code's: upcast it, or refuse it here
            return upcast_envelope(item)
        except (EventError, TypeError) as e:
            return Bad(f"not readable: {e}", item)
    return item
