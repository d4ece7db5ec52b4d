"""Canonical encoding: orjson with sorted keys, ints for money and rates, ISO dates.

The bytes written to a log, and hashed into its chain, are produced here and nowhere else,
so the same event always has the same bytes whatever process wrote it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import orjson

_OPTIONS = orjson.OPT_SORT_KEYS
GENESIS_HASH = "0" * 64


def canonical(obj: Any) -> bytes:
    """The canonical bytes of a JSON-able value (sorted keys, no whitespace, dates as ISO)."""
    return orjson.dumps(obj, option=_OPTIONS)


def canonical_pieces(mapping: Mapping[str, Any], value_of: Callable[[Any], Any] | None = None,
                     *, batch: int = 4096) -> Iterator[bytes]:
    """`canonical(dict(mapping))` in pieces, a batch of keys at a time (`value_of` turns each of
    `mapping`'s values into a JSON-able one, e.g. a packed row store's decoded rows): written one
    after another they are the same bytes, but no more than a batch of values is ever decoded or
    encoded at once. Keys are strings, taken in sorted order (as orjson sorts them)."""
    keys = sorted(mapping)
    yield b"{"
    get = mapping.__getitem__ if value_of is None else (lambda k: value_of(mapping[k]))
    for i in range(0, len(keys), batch):
        part = canonical({k: get(k) for k in keys[i:i + batch]})
        yield (b"," if i else b"") + part[1:-1]
    yield b"}"


def canonical_nested(value: Any, *, batch: int = 4096) -> Iterator[bytes]:
    """`canonical(value)` in pieces for a value whose bulk is nested a level or two down (a few
    payers, each a list of boundaries, each a dict of every member): dicts with string keys and
    lists of containers are opened level by level, a dict of more than `batch` keys goes in
    batches (`canonical_pieces`), anything else is encoded whole. Written one after another the
    pieces are the same bytes; no more than a batch is encoded at once."""
    if type(value) is dict and all(type(k) is str for k in value):
        if len(value) > batch:
            yield from canonical_pieces(value, batch=batch)
            return
        yield b"{"
        for i, k in enumerate(sorted(value)):
            yield (b"," if i else b"") + canonical(k) + b":"
            yield from canonical_nested(value[k], batch=batch)
        yield b"}"
    elif type(value) is list and any(type(v) in (dict, list) for v in value):
        yield b"["
        for i, v in enumerate(value):
            if i:
                yield b","
            yield from canonical_nested(v, batch=batch)
        yield b"]"
    else:
        yield canonical(value)


def open_body(obj: dict[str, Any]) -> bytes:
    """`canonical(obj)` without its closing brace: the form `LogWriter.write_encoded` takes, so
    the writer can append seq, prev and hash. The slice is also an exact-size copy (orjson's
    result keeps a spare buffer of about 4 KB), which matters to a producer holding many.
    Typed bytes, the slice is a bytes slice when compiled, not a generic one with its object."""
    raw: bytes = orjson.dumps(obj, option=_OPTIONS)
    return raw[:-1]


def loads(raw: bytes | str) -> Any:
    return orjson.loads(raw)


def chain_hash(prev: str, body: bytes) -> str:
    """`sha256(prev || canonical body)`: each entry's hash covers its predecessor's."""
    digest = hashlib.sha256(prev.encode("ascii"))
    digest.update(body)
    return digest.hexdigest()


_PREV_KEY = b',"prev":"'


def line_chain_hash(prev: str, line: bytes) -> str:
    """`chain_hash(prev, body)` of a stored log line, whose body is the line up to `,"prev":`
    closed by `}`."""
    return cut_chain_hash(prev, line, line.rfind(_PREV_KEY))


def cut_chain_hash(prev: str, line: bytes, cut: int) -> str:
    """`line_chain_hash` of a line whose last `,"prev":"` is at `cut`, where the caller found it
    (the typed input reading: not searched for again)."""
    digest = hashlib.sha256(prev.encode("ascii"))
    # A copy of the body (about 600 bytes, freed at once) costs less than a memoryview of it.
    digest.update(line[:cut])
    digest.update(b"}")
    return digest.hexdigest()


_TYPE_KEY = b',"type":'


def chained_lines(bodies: list[bytes], seq: int, prev: bytes) -> tuple[bytes, bytes]:
    """The log lines of `bodies`, each `open_body` of an event without seq, from `seq` on after
    an entry hashed `prev` (its ASCII hex): each body with its seq spliced in and its `prev` and
    `hash` (`chain_hash`: sha256 of the predecessor's hash and the canonical body) appended; and
    the last line's hash. `LogWriter.write_encoded`'s loop, compiled with the input reader (the
    adjudication runtime writes every answer through it)."""
    parts: list[bytes] = []
    for body in bodies:
        # "seq" sorts between "key" and "type", and `,"type":` can only be the envelope's own
        # key: inside a JSON string a quote is escaped.
        cut = body.rfind(_TYPE_KEY)
        if cut < 0 or body[:6] != b'{"at":':
            raise ValueError(f"not a canonical event without seq: {body[:80]!r}")
        prev = _link(parts, b"".join((body[:cut], b',"seq":', b"%d" % seq, body[cut:])), prev)
        seq += 1
    return b"".join(parts), prev


def sequenced_lines(bodies: list[bytes], seq: int, prev: bytes) -> tuple[bytes, bytes]:
    """`chained_lines` of bodies that already hold their seqs (`open_body` of events given their
    ledger seqs, from `seq` on, by the log's one producer: `processor.PartitionProcessor.apply`'s
    `ledger_seq`, one counter): nothing to splice or copy, each body hashed and written as it
    is. Bodies whose first or last does not hold its seq where it belongs are refused (a number
    skipped or repeated between them moves the last one's)."""
    if bodies:
        for at, body in ((seq, bodies[0]), (seq + len(bodies) - 1, bodies[-1])):
            # `,"seq":N,"type":` after `data` can only be the envelope's own (`chained_lines`).
            if body.rfind(b',"seq":%d,"type":' % at) < 0 or body[:6] != b'{"at":':
                raise ValueError(f"not a canonical event at seq {at}: {body[:80]!r}")
    parts: list[bytes] = []
    for body in bodies:
        prev = _link(parts, body, prev)
    return b"".join(parts), prev


def _link(parts: list[bytes], body: bytes, prev: bytes) -> bytes:
    """Append the log line of `body` (an event's canonical bytes, seq included, without the
    closing brace) after an entry hashed `prev` to `parts`, and return its hash: sha256 of the
    predecessor's hash and the canonical body (`chain_hash`)."""
    hasher = hashlib.sha256(prev)
    hasher.update(body)
    hasher.update(b"}")
    digest: bytes = hasher.hexdigest().encode("ascii")
    parts.append(body)
    parts.append(b',"prev":"%b","hash":"%b"}\n' % (prev, digest))
    return digest
