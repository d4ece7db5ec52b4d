"""One partition's adjudication, independent of any transport: inbound items in, ledger events
and dead letters out, family states and epoch facts kept in a key-value `Store` (the faust
`family_state` table in the streaming worker, a `MemoryStore` or a `diskstore.RocksStore` in the
embedded runtime, a dict in tests and in the benchmark's plain-aiokafka baseline). Both runtimes
run this one loop.

Store keys (bytes; values bytes):
- `f:<subscriber>` -> the family's hot state, `FamilyState.hot_bytes()` (a compact JSON list,
  fields `engine.family.HOT_FIELDS`: enrollment, accumulators, visit copays, claim ids and
  version counts, paid-line fingerprints; about 1 kB), written once per input the family gets
  (once per call in the Kafka runtime; on leaving the cache in the embedded one);
- `c:<subscriber>/<claim root>` -> the claim's record (`{"versions": [...], "void": ...}`, each
  version its header, line results and the paid-line and visit keys it added; stored as two lines
  of JSON, `records.encode_record`, read back by `records.decode_record`), written when
  the claim is adjudicated, replaced or voided; read only for a void or replacement, a possible
  duplicate (a paid-line fingerprint that matches), or a redelivered input's answer;
- `r:<subscriber>/<input seq, 12 digits>` -> the input's stored result (how to re-emit its
  ledger entry; `engine.family` names the layouts), kept only with `keep_results` (the Kafka
  runtime, whose inputs can be redelivered); read only for a redelivered input;
- `e:<partition>/<ledger seq>` -> an epoch fact that partition has applied, so a worker that
  takes the partition over rebuilds the partition's Context exactly;
- `p:<partition>` -> how many stream items the partition has applied, so a message that starts
  past it (a gap: messages lost in transit) is refused;
- `h:<partition>` -> the partition's horizon: the stream position below which its stored results
  may have been deleted (`streaming.changelog.TableWrites.prune`, once those messages' offsets
  are committed and can never be redelivered); items below it are skipped without an answer
  (the ledger has theirs), never looked up.
Epoch facts reach each partition at its own pace, so each partition has its own Context; a shared
one would let one partition's facts leak into another's earlier inputs.

Writes of one call go out records and results first, then hot states, then the position: any
prefix of them that survives a crash leaves each family's hot state at an input boundary, and a
record written ahead of its hot state is trimmed on reading (`FamilyState.record`).

Decoded hot states are cached in the processor; `cache_families` bounds that cache
(`familycache.FamilyCache`: the family whose next input is furthest ahead out first when the
caller says when each input's family comes back, else the least recently used; written to the
store on the way out when the store is not flushed per call), so memory stays flat in the
population while the store holds every family.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from claimsim.adjudication.engine.context import Context, Settings
from claimsim.adjudication.engine.core import adjudicate
from claimsim.adjudication.engine.family import FamilyState
from claimsim.events import vocabulary  # noqa: F401  (registers the ledger types the core emits)
from claimsim.events.encoding import canonical
from claimsim.events.reference import ReferenceData

from claimsim.adjudication.runtimes.familycache import FamilyCache, NextUses
from claimsim.adjudication.runtimes.records import StoreRecords, encode_answer, exact

# The wire module is a pure format translation (no faust): its item types are the processor's.
from claimsim.adjudication.runtimes.streaming.wire import Bad, Fact, decode_inbound


class Store(Protocol):
    """What the processor keeps its state in: bytes keys (below) to bytes values. Three
    operations, so a faust table, a dict or a disk-backed store can stand behind it."""

    def get(self, key: bytes, default: Any = None) -> bytes | None: ...
    def __setitem__(self, key: bytes, value: bytes) -> None: ...
    def items(self) -> Iterable[tuple[bytes, bytes]]: ...


class MemoryStore(dict):
    """The in-memory `Store`: a dict of bytes, gone with the process (the embedded runtime
    rebuilds it by replaying the ledger)."""


def family_key(subscriber: str) -> bytes:
    return b"f:" + subscriber.encode("utf-8")


def result_key(subscriber: str, seq: int) -> bytes:
    return b"r:%s/%012d" % (subscriber.encode("utf-8"), seq)


def fact_key(partition: int, seq: int) -> bytes:
    return b"e:%d/%012d" % (partition, seq)  # zero-padded: byte order is ledger order


def position_key(partition: int) -> bytes:
    return b"p:%d" % partition


def horizon_key(partition: int) -> bytes:
    return b"h:%d" % partition


@dataclass
class Outcome:
    ledger: list[dict[str, Any]] = field(default_factory=list)
    # With `apply(encode=True)`: each ledger event's `encoding.open_body`, in the same order.
    encoded: list[bytes] = field(default_factory=list)
    dead: list[tuple[str, Any]] = field(default_factory=list)  # (reason, raw payload)
    gap: tuple[int, int] | None = None  # (items applied, message's position): nothing was done
    end: int | None = None  # the partition's stream position after the message (None: unknown)
    skipped: int = 0  # items below the partition's horizon: already answered and committed


class _Partition:
    __slots__ = ("context", "last_fact", "applied")

    def __init__(self, context: Context, last_fact: int, applied: int):
        self.context, self.last_fact, self.applied = context, last_fact, applied


class PartitionProcessor:
    """Applies the core to inbound messages, partition by partition.

    Caches (each partition's Context, decoded family states) mirror the store; `reset()` drops
    them, and the worker calls it on every rebalance, so a partition that comes back is rebuilt
    from the store (the table, as recovered from its changelog) and never from a stale copy.
    """

    def __init__(self, reference: ReferenceData, settings: Settings, *,
                 cache_families: int | None = None, keep_results: bool = True):
        """`cache_families`: at most this many decoded family states stay in memory (None: all).
        `keep_results=False` stores no results (input seq -> its answer): for a runtime whose
        ledger already holds every answer and which never sees an input twice (the embedded
        runtime), they are only a copy of the ledger."""
        self.reference, self.settings = reference, settings
        self._partitions: dict[int, _Partition] = {}
        self._families: dict[str, FamilyState] | FamilyCache = (
            {} if cache_families is None else FamilyCache())
        if cache_families is not None and cache_families < 1:
            raise ValueError("cache_families must be at least 1")
        self.cache_families, self.keep_results = cache_families, keep_results

    def reset(self) -> None:
        self._partitions.clear()
        self._families.clear()

    def _partition(self, partition: int, store: Store) -> _Partition:
        state = self._partitions.get(partition)
        if state is None:
            context, last = Context(self.reference, self.settings), -1
            prefix = b"e:%d/" % partition
            facts = sorted((k, v) for k, v in store.items() if _as_bytes(k).startswith(prefix))
            for _, raw in facts:
                fact = orjson.loads(raw)
                context.apply_ledger_event(fact)
                last = fact["seq"]
            applied = int(store.get(position_key(partition)) or 0)
            state = self._partitions[partition] = _Partition(context, last, applied)
        return state

    def context(self, partition: int, store: Store) -> Context:
        """The Context the partition's next input is adjudicated with."""
        return self._partition(partition, store).context

    def process(self, partition: int, value: bytes | None, store: Store) -> Outcome:
        """Apply one inbound message off the wire (`wire.decode_inbound`)."""
        pos, items = decode_inbound(value)
        return self.apply(partition, pos, items, store)

    def apply(self, partition: int, pos: int | None, items: list[dict[str, Any] | Fact | Bad],
              store: Store, *, flush: bool = True, encode: bool = False,
              next_use: NextUses | None = None, ledger_seq: int | None = None) -> Outcome:
        """Apply a partition's next items (`pos`: how many items it carried before them, None
        when unknown). Family states are written to the store once per call (per family), and
        always before an epoch fact is: whatever prefix of these writes survives a crash is a
        state the stream really passed through, so a redelivery resumes it correctly (inputs at
        or below a family's last seq re-emit their stored result).

        `flush=False` keeps hot family states in the processor only (its cache is then the
        state; claim records still go to the store as they are written): the embedded runtime's
        choice, whose durable record is the ledger it replays on opening. Writing each changed
        family state to the store once per 5,000-input batch made a 30,000-claim synthetic run
        take 59 s instead of 43 s (best of 3, load average ~15 on 2 cores); a disk-backed store
        would flush at its own commit points.

        `next_use` (input seq -> the seq of its family's next input where known, asked in seq
        order: the embedded runtime's `lookahead.NextUse`) lets a bounded cache evict the
        family needed last.

        `encode=True` also gives each answer encoded (`Outcome.encoded`, for
        `LogWriter.write_encoded`), a claim's lines encoded once for its record and its answer;
        with `ledger_seq`, each holding its ledger seq, the next ones from it (for the ledger's
        one writer: `LogWriter.write_encoded(sequenced=True)` has no seq to splice)."""
        # Long: the loop runs once per input, so the cache lookup, the redelivery check and the
        # write bookkeeping are inlined in it rather than called.
        out = Outcome()
        part = self._partition(partition, store)
        if pos is not None and pos > part.applied:
            # Items between went missing (faust can drop messages around a recovery): apply
            # nothing, so the worker can stop and be redelivered from its committed offset.
            out.gap = (part.applied, pos)
            return out
        if pos is not None:
            out.end = pos + len(items)
            if pos < part.applied:  # a redelivery, or a duplicate of a committed message
                out.skipped = _below_horizon(partition, pos, len(items), store)
                items, pos = items[out.skipped:], pos + out.skipped
        records = StoreRecords(store, buffered=flush, share_lines=encode)
        results: dict[bytes, bytes] = {}  # results written this call (before the hot states)
        dirty: dict[str, FamilyState] = {}
        families, bound, keep = self._families, self.cache_families, self.keep_results
        # Unbounded, the cache is a plain dict: typed so, its lookups are the dict's own.
        memo: dict[str, FamilyState] = {} if bound else families  # type: ignore[assignment]
        first: int = -1 if ledger_seq is None else ledger_seq  # the next answer's: first + len
        for item in items:
            if type(item) is not dict:  # an input envelope is a plain dict: one check for it
                if isinstance(item, Fact):
                    if item.seq > part.last_fact:
                        self._flush(dirty, records, results, store)
                        part.context.apply_ledger_event(item.envelope)
                        store[fact_key(partition, item.seq)] = exact(canonical(item.envelope))
                        part.last_fact = item.seq
                    continue
                if isinstance(item, Bad):
                    out.dead.append((item.reason, item.raw))
                    continue
            key, seq = item["key"], item["seq"]
            if type(key) is not str:
                _answer_keyless(item, part.context, records, out, encode, first)
                continue
            family = families.pop(key, None) if bound else memo.get(key)
            cached = family is not None
            if family is None:
                family = dirty.get(key)
                if family is None:
                    raw = store.get(family_key(key))
                    family = (FamilyState(key, records) if raw is None
                              else FamilyState.from_hot(raw, records))
            family.records = records
            applied: int = family.last_seq
            if seq <= applied:
                stored = results.get(result_key(key, seq)) or store.get(result_key(key, seq))
                if stored is None:
                    # Not a redelivery (that would find its stored answer) but a message from
                    # outside the run's stream: a dead letter, never a stopped worker.
                    families[key] = family  # back in the cache (a bounded one popped it)
                    out.dead.append((f"input seq {seq} is at or before family {key}'s last"
                                     f" applied seq {applied} but was never applied"
                                     " to it: not an input of this run's stream", item))
                    continue
                family.results[seq] = orjson.loads(stored)
            # A core exception is a bug, not bad data (the core rejects bad data): it propagates
            # and stops the worker, so the input is redelivered rather than skipped.
            event, family = adjudicate(item, family, part.context, keep)
            if seq > applied:
                if keep:  # the core keeps it for a redelivery: taken back here
                    stored_results: dict[int, Any] = family.results
                    result = stored_results[seq]
                    del stored_results[seq]
                    results[result_key(key, seq)] = exact(orjson.dumps(result))
                if flush:
                    dirty[key] = family
            else:
                del family.results[seq]  # read back above for the core to re-emit
            if bound:  # popped and put back, with when it is next needed (`FamilyCache`)
                families.put(key, family,  # type: ignore[union-attr]
                             None if next_use is None else next_use.get(seq))
                while len(families) > bound:
                    self._evict(store, write=not flush)
            elif not cached:  # (the core updates a family in place: a cached one is there)
                memo[key] = family
            out.ledger.append(event)
            if encode:
                if first >= 0:
                    event["seq"] = first + len(out.encoded)
                out.encoded.append(encode_answer(event, records))
        self._flush(dirty, records, results, store)
        if pos is not None and pos + len(items) > part.applied:
            part.applied = pos + len(items)  # written after the states it covers
            store[position_key(partition)] = b"%d" % part.applied
        return out

    def release(self, store: Store) -> int:
        """Write every decoded family state of a bounded cache to the store (their home past the
        cache) and drop them from memory; returns how many. A family's next input reads it back,
        as it reads back any family the cache evicted: the states and answers are the same."""
        if not self.cache_families:
            return 0
        n = len(self._families)
        while self._families:
            self._evict(store, write=True)
        return n

    def _evict(self, store: Store, *, write: bool) -> None:
        """Drop the cache's victim (`FamilyCache.pop_victim`: the family needed last, else the
        least recently used), writing its hot part to the store when the store does not already
        have it (or the call's `dirty` set will write it)."""
        key, family = self._families.pop_victim()  # type: ignore[union-attr]
        if write:
            store[family_key(key)] = exact(family.hot_bytes())

    def family(self, subscriber: str, store: Store) -> FamilyState | None:
        """A family's current state (from the cache, else the store), or None if never seen."""
        family = self._families.get(subscriber)
        if family is None:
            raw = store.get(family_key(subscriber))
            if raw is None:
                return None
            family = FamilyState.from_hot(raw, StoreRecords(store, buffered=False))
        else:
            family.records = StoreRecords(store, buffered=False)
        return family

    def families(self, store: Store) -> Iterator[FamilyState]:
        """Every family state the processor and its store hold, cached ones as they are now."""
        cached = self._families
        records = StoreRecords(store, buffered=False)
        for family in cached.values():
            family.records = records
            yield family
        for stored, raw in store.items():
            key = _as_bytes(stored)
            if key.startswith(b"f:") and key[2:].decode("utf-8") not in cached:
                yield FamilyState.from_hot(raw, records)

    @staticmethod
    def _flush(dirty: dict[str, FamilyState], records: StoreRecords, results: dict[bytes, bytes],
               store: Store) -> None:
        """Write what the call changed: claim records and results, then the hot states that
        point at them (the order the module docstring explains)."""
        records.flush()
        for key, value in results.items():
            store[key] = value
        results.clear()
        for subscriber, family in dirty.items():
            store[family_key(subscriber)] = exact(family.hot_bytes())
        dirty.clear()


def _answer_keyless(item: dict[str, Any], ctx: Any, records: StoreRecords, out: Outcome,
                    encode: bool, first: int) -> None:
    """Answer an input whose key is not a string (a hostile log's number, null, list or object):
    it names no family the store can hold. The core answers it from a fresh state, which is all
    such a family could ever hold: a claim not sent under its own subscriber id is rejected
    (`subscriber_mismatch`), an enrollment or termination for another subscriber ignored; and
    nothing of it is kept. Both runtimes come here (the Kafka producer sends it to a partition
    by its JSON). `first`: `apply`'s (its answer's ledger seq, -1: none)."""
    event, _ = adjudicate(item, FamilyState(item["key"]), ctx)
    out.ledger.append(event)
    if encode:
        if first >= 0:
            event["seq"] = first + len(out.encoded)
        out.encoded.append(encode_answer(event, records))


def _below_horizon(partition: int, pos: int, count: int, store: Store) -> int:
    """How many of a message's `count` items, from stream position `pos`, lie below the
    partition's horizon (their stored results may be gone; their answers are in the ledger)."""
    horizon = int(store.get(horizon_key(partition)) or 0)
    return max(0, min(horizon - pos, count))


def _as_bytes(key: bytes | str) -> bytes:
    return key if isinstance(key, bytes) else key.encode("utf-8")
