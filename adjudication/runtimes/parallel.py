"""The embedded runtime over several processes: families partitioned over N forked workers, each
running the same `PartitionProcessor` over its share, and the parent (the ledger's one writer)
merging their answers back into input order, so the ledger is byte-identical for any N.

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
"""

from __future__ import annotations

import gc
import multiprocessing
import traceback
import zlib
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any


from claimsim.adjudication.runtimes.processor import PartitionProcessor, Store
from claimsim.adjudication.runtimes.streaming.wire import Fact

PARTITION = 0  # every worker's processor holds its families in its own partition 0


def partition_of(key: str, processes: int) -> int:
    """Which worker owns a family: crc32 of the subscriber id (stable across processes and runs)."""
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) % processes


class WorkerFailed(RuntimeError):
    """A worker raised (a core bug, not bad data: the core rejects bad data) or died."""


def _serve(conn: Connection, processor: PartitionProcessor, store: Store,
           new_stats: Callable[[], Any]) -> None:
    """A worker's loop: ("inputs", [envelope, ...]) -> ("ok", ([encoded answer, ...], stats)),
    the answers in the same order, encoded here (`PartitionProcessor.apply(encode=True)`) so the writer only
    chains them, and `stats` a `new_stats()` that counted them; ("fact", envelope) applies an
    epoch fact; ("stop", None) ends it."""
    gc.disable()  # family states are acyclic trees (events.acyclic); this process only holds them
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
            out = apply(PARTITION, None, payload, store, flush=False, encode=True)
            if len(out.ledger) != len(payload):  # every input has exactly one answer
                raise WorkerFailed(f"{len(payload)} inputs gave {len(out.ledger)} answers:"
                                   f" {out.dead[:1]}")
            stats = new_stats()
            stats.count_all(out.ledger)
            conn.send(("ok", (out.encoded, stats)))
        except BaseException:
            conn.send(("error", traceback.format_exc()))
            return


class PartitionWorkers:
    """N forked workers, each a copy of `processor` (and `store`) as they are at creation."""

    def __init__(self, processor: PartitionProcessor, store: Store, processes: int,
                 new_stats: Callable[[], Any]):
        if processes < 2:
            raise ValueError("PartitionWorkers is for 2 or more processes")
        ctx = multiprocessing.get_context("fork")
        self.processes = processes
        self._conns: list[Connection] = []
        self._procs: list[Any] = []
        self._owners: list[int] | None = None  # worker of each input of the batch in flight
        for _ in range(processes):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(child, processor, store, new_stats),
                               daemon=True)
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
        for conn, part in zip(self._conns, parts):
            conn.send(("inputs", part))
        self._owners = owners

    def collect(self) -> tuple[list[bytes], list[Any]]:
        """The batch in flight's encoded answers in its input order, and each worker's stats."""
        owners, self._owners = self._owners, None
        if owners is None:
            return [], []
        received = [self._receive(i) for i in range(self.processes)]
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

    def fact(self, envelope: dict[str, Any]) -> None:
        """Apply an epoch fact in every worker (before any input sent after it)."""
        for conn in self._conns:
            conn.send(("fact", envelope))

    def close(self) -> None:
        for conn in self._conns:
            try:
                conn.send(("stop", None))
            except (BrokenPipeError, OSError):
                pass
        for proc in self._procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
                proc.join()
        for conn in self._conns:
            conn.close()
        self._conns, self._procs = [], []
