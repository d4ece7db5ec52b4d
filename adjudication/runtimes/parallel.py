"""The embedded runtime over several processes: families partitioned over N workers (forked, or
spawned over the disk store), each running the same `PartitionProcessor` over its share, and the
parent (the ledger's one writer) merging their answers back into input order, so the ledger is
byte-identical for any N.

Why this is exact: an answer depends only on its input, its family's state and the Context (the
epoch facts), never on another family. Each worker owns whole families (`partition_of`, a
stable hash of the subscriber id: never Python's `hash()`, which varies per process), receives
every epoch fact, and answers its inputs in the order given; the parent sends each batch's inputs
out and puts the answers back in the batch's order.

Choices where DOMAIN.md is silent (and DESIGN.md's "one or several processes"):
- Workers are forked (copy-on-write) from the parent when adjudication first runs, after the
  parent has rebuilt every family state by replaying the existing ledger: a resumed run starts
  exactly where it stopped without each worker reading the ledger again.
- One batch per worker is in flight at a time: the parent reads and checks the next batch, and
  writes the previous one, while the workers adjudicate (a pipe never holds two messages one way
  while the other side waits to send, so no deadlock).
- Over the disk store (a bounded cache, `family_storage`), each worker is spawned instead, with a
  scratch store of its own (`OwnStores`: why not forked is there), and keeps at most its share
  of the bound decoded, so the workers together hold what one process would; the parent feeds
  each the epoch facts and its families' keys from its own store (`load`: a resumed run's rebuilt
  states), then keeps only the epoch facts.
"""

from __future__ import annotations

import gc
import multiprocessing
import signal
import traceback
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any


from claimsim.events.processes import die_with_parent

from claimsim.adjudication.engine.context import Settings
from claimsim.adjudication.runtimes.processor import PartitionProcessor, Store
from claimsim.adjudication.runtimes.streaming.wire import Fact

PARTITION = 0  # every worker's processor holds its families in its own partition 0


def partition_of(key: str, processes: int) -> int:
    """Which worker owns a family: crc32 of the subscriber id (stable across processes and runs)."""
    return partition_of_bytes(key.encode("utf-8", "surrogatepass"), processes)


def partition_of_bytes(key: bytes, processes: int) -> int:
    """`partition_of` of a subscriber id already encoded (a store key's, `family_of`)."""
    return zlib.crc32(key) % processes


class WorkerFailed(RuntimeError):
    """A worker raised (a core bug, not bad data: the core rejects bad data) or died."""


# Keys the parent hands a worker per message (`PartitionWorkers.load`): some 1-2 MB of values.
LOAD_BATCH = 1000
# Seconds `PartitionWorkers.close` waits for each worker to end before killing it.
STOP_WAIT = 10


def family_of(key: bytes) -> bytes | None:
    """The subscriber id (UTF-8) whose family a store key belongs to (`processor.py`'s layout: a
    family's `f:` state, `c:` claim records, `r:` results); None for the partition's own keys
    (epoch facts, position), which every worker keeps."""
    kind = key[:2]
    if kind == b"f:":
        return key[2:]
    if kind == b"c:" or kind == b"r:":
        return key[2:].split(b"/", 1)[0]
    return None


def _serve(conn: Connection, processor: PartitionProcessor, store: Store,
           new_stats: Callable[[], Any]) -> None:
    """A forked worker: `_loop` over copies of the parent's processor and store."""
    gc.disable()  # family states are acyclic trees (events.acyclic); this process only holds them
    _loop(conn, processor, store, new_stats)


def _serve_own(conn: Connection, reference: Any, settings: dict[str, Any], keep_results: bool,
               own: OwnStores, worker: int, new_stats: Callable[[], Any]) -> None:
    """A spawned worker (`OwnStores`): a new processor, over the store it opens here (and
    closes, a scratch one removed, as it ends), fed the epoch facts and its families' keys by
    the parent before any input. `settings` come as `Settings.to_dict()`: the compiled engine's
    frozen `Settings` does not unpickle. A Ctrl-C reaches the whole process group: the worker
    leaves it to the parent, which stops it (its store removed as it ends); a parent killed
    outright takes it along."""
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.disable()
    processor = PartitionProcessor(reference, Settings.from_dict(settings),
                                   cache_families=own.cache_families, keep_results=keep_results)
    store = own.open_store(worker)
    try:
        _loop(conn, processor, store, new_stats)
    finally:
        store.close()


@dataclass(frozen=True)
class OwnStores:
    """Workers that each keep their families in a store of their own (a disk store: memory flat
    in the population), at most `cache_families` of them decoded; worker i's store is
    `open_store(i)`, called in the worker. Such workers are spawned, not forked: RocksDB's
    background threads (its flushes and compactions) live in a process-wide pool, started in the
    parent by its own store, and a forked child has the pool without its threads, so its first
    write that waits for a flush waits forever (seen: `RocksStore.__setitem__` in
    `InstrumentedCondVar::Wait`). `open_store` must be picklable (a module-level function or a
    `functools.partial` of one)."""

    open_store: Callable[[int], Any]
    cache_families: int


def _loop(conn: Connection, processor: PartitionProcessor, store: Store,
          new_stats: Callable[[], Any]) -> None:
    """A worker's loop: ("inputs", [envelope, ...]) -> ("ok", ([encoded answer, ...], stats)),
    the answers in the same order, encoded here (`PartitionProcessor.apply(encode=True)`) so the
    writer only chains them, and `stats` a `new_stats()` that counted them; ("fact", envelope)
    applies an epoch fact; ("put", [(key, value), ...]) stores a family's keys as they are;
    ("stop", None) ends it."""
    apply = processor.apply
    while True:
        try:
            kind, payload = conn.recv()
        except EOFError:  # the parent is gone
            return
        if kind == "stop":
            return
        try:
            if kind == "fact":
                apply(PARTITION, None, [Fact(payload["seq"], payload)], store)
                continue
            if kind == "put":
                for key, value in payload:
                    store[key] = value
                continue
            out = apply(PARTITION, None, payload, store, flush=False, encode=True)
            if len(out.ledger) != len(payload):  # every input has exactly one answer
                raise WorkerFailed(f"{len(payload)} inputs gave {len(out.ledger)} answers:"
                                   f" {out.dead[:1]}")
            stats = new_stats()
            stats.count_all(out.ledger)
            conn.send(("ok", (out.encoded, stats)))
        except BaseException:
            try:
                conn.send(("error", traceback.format_exc()))
            except OSError:  # the parent closed its end (it is stopping): nobody to tell
                pass
            return


class PartitionWorkers:
    """N forked workers, each a copy of `processor` (and `store`) as they are at creation; or,
    with `own`, N spawned workers each with a new processor of `processor`'s reference data and
    settings over its own store (`OwnStores`), which the caller feeds the epoch facts (`fact`)
    and the families' keys (`load`) before any input."""

    def __init__(self, processor: PartitionProcessor, store: Store, processes: int,
                 new_stats: Callable[[], Any], *, own: OwnStores | None = None):
        if processes < 2:
            raise ValueError("PartitionWorkers is for 2 or more processes")
        ctx = multiprocessing.get_context("fork" if own is None else "spawn")
        self.processes = processes
        self._conns: list[Connection] = []
        self._procs: list[Any] = []
        self._owners: list[int] | None = None  # worker of each input of the batch in flight
        self._in_flight = False  # a batch sent whose answers are not all received
        # a spawned worker's settings as `Settings.to_dict()` (`_serve_own`: why)
        settings = None if own is None else processor.settings.to_dict()
        for i in range(processes):
            parent, child = ctx.Pipe()
            if own is None:
                target, args = _serve, (child, processor, store, new_stats)
            else:
                target, args = _serve_own, (child, processor.reference, settings,
                                            processor.keep_results, own, i, new_stats)
            proc = ctx.Process(target=target, args=args, daemon=True)
            proc.start()
            child.close()
            self._conns.append(parent)
            self._procs.append(proc)

    def submit(self, inputs: list[dict[str, Any]]) -> None:
        """Send a batch's inputs out, each to its family's worker (one batch in flight)."""
        if self._owners is not None:
            raise RuntimeError("a batch is already in flight")
        n = self.processes
        parts: list[list[dict[str, Any]]] = [[] for _ in range(n)]
        owners = []
        for env in inputs:
            key = env["key"]
            i = zlib.crc32(key.encode("utf-8", "surrogatepass")) % n if type(key) is str \
                else partition_of(str(key), n)
            parts[i].append(env)
            owners.append(i)
        self._in_flight = True
        for conn, part in zip(self._conns, parts):
            conn.send(("inputs", part))
        self._owners = owners

    def collect(self) -> tuple[list[bytes], list[Any]]:
        """The batch in flight's encoded answers in its input order, and each worker's stats."""
        owners, self._owners = self._owners, None
        if owners is None:
            return [], []
        received = [self._receive(i) for i in range(self.processes)]
        self._in_flight = False
        answers = [iter(bodies) for bodies, _ in received]
        return [next(answers[i]) for i in owners], [stats for _, stats in received]

    def _receive(self, i: int) -> tuple[list[bytes], Any]:
        try:
            status, payload = self._conns[i].recv()
        except EOFError:
            raise WorkerFailed(f"worker {i} died (exit code {self._procs[i].exitcode})") from None
        if status != "ok":
            raise WorkerFailed(f"worker {i} failed:\n{payload}")
        return payload

    def load(self, items: Iterable[tuple[bytes, bytes]]) -> int:
        """Hand each worker the store keys of its families (`family_of`, `partition_of`), before
        any input; returns how many went out."""
        processes, n = self.processes, 0
        parts: list[list[tuple[bytes, bytes]]] = [[] for _ in range(processes)]
        for key, value in items:
            family = family_of(key)
            if family is None:
                raise ValueError(f"{key!r} is not a family's key")
            i = partition_of_bytes(family, processes)
            part = parts[i]
            part.append((key, value))
            if len(part) >= LOAD_BATCH:
                self._conns[i].send(("put", part))
                parts[i] = []
            n += 1
        for conn, part in zip(self._conns, parts):
            if part:
                conn.send(("put", part))
        return n

    def fact(self, envelope: dict[str, Any]) -> None:
        """Apply an epoch fact in every worker (before any input sent after it)."""
        for conn in self._conns:
            conn.send(("fact", envelope))

    def close(self) -> None:
        """End the workers: each told to stop when idle; with a batch in flight (a Ctrl-C or an
        error while they adjudicated it), this side's pipe ends closed first instead, so a worker
        sending its answers, or sending them once done, meets a broken pipe and ends (a spawned
        one closing its store) at once: it would never read a "stop" behind them (measured
        before: some 10 s a worker, the join's timeout, then killed)."""
        if self._in_flight:
            for conn in self._conns:
                conn.close()
        else:
            for conn in self._conns:
                try:
                    conn.send(("stop", None))
                except (BrokenPipeError, OSError):
                    pass
        for proc in self._procs:
            proc.join(timeout=STOP_WAIT)
            if proc.is_alive():
                proc.kill()
                proc.join()
        for conn in self._conns:
            conn.close()
        self._conns, self._procs = [], []
