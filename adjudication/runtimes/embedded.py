"""The embedded runtime: the partition processor the faust agent wraps, run in process as the
single writer of `RUN_DIR/ledger/` (one partition: the ledger is written in input order).

Where family states live (`cache_families`) is `family_storage`'s choice: every family in memory
for a small run, else a bounded cache over a scratch disk store. The ledger stays the durable
record either way (`apply(flush=False)`; the store is rebuilt on every open)
and no stored results are kept: the ledger holds those answers. With `processes=N` (N > 1) the
families are partitioned over N worker processes (`runtimes.parallel`), each keeping its families
where this process would (in memory, or its share of the bounded cache over a scratch store of
its own), and this process, the ledger's one writer, merges their answers in input order: the
ledger is the same bytes for any N. The run clock's epoch facts reach the processor's Context
(and every worker's) through `record`. On open it replays the existing ledger (`runtimes.replay`:
re-adjudicating the inputs it answers, and checking each answer is reproduced), so a run killed
at any point resumes where it stopped: nothing lost, nothing doubled.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from tqdm import tqdm

from claimsim.events import vocabulary  # noqa: F401  (registers every event type)
from claimsim.events.acyclic import cycle_gc_paused
from claimsim.events.errors import UserError
from claimsim.events.input_reader import ChainPosition, read_checked
from claimsim.events.log import Fsync, LogWriter, read
from claimsim.events.log_tail import input_count
from claimsim.events.processes import raise_dropped_stop
from claimsim.events.reference import ReferenceData
from claimsim.events.signing import SIGNATURE_TYPE, Signer, sign_head

from claimsim.adjudication.engine.context import CONTEXT_TYPES, Context, Settings
from claimsim.adjudication.engine.core import ANSWER_TYPES
from claimsim.adjudication.runtimes.diskstore import RocksStore
from claimsim.adjudication.runtimes.family_storage import (
    AUTO, LARGE, CacheFamilies, open_family_store, remove_worker_stores, worker_store,
)
from claimsim.adjudication.runtimes.lookahead import WINDOW_PER_FAMILY, WhenNeeded
from claimsim.adjudication.runtimes.manifest import open_manifest
from claimsim.adjudication.runtimes.parallel import OwnStores, PartitionWorkers
from claimsim.adjudication.runtimes.passes import run_in_passes
from claimsim.adjudication.runtimes.processor import MemoryStore, PartitionProcessor
from claimsim.adjudication.runtimes.protocol import Bar, Progress, Until
from claimsim.adjudication.runtimes.replay import PARTITION, InputMismatch, replay_ledger
from claimsim.adjudication.runtimes.stats import RunStats
from claimsim.adjudication.runtimes.streaming.wire import Fact


# Inputs applied at a time within a batch (`_run_pieces`). 100,000 synthetic claims, CPU seconds of
# the run alone, piece sizes tried in turn on a loaded machine (load 2.8-4, 2026-12-01 18:27-18:46):
# the batch whole (5,000) 5.10-5.39 s; 1,024 5.32-5.38; 512 4.95-5.33; 128 3.64-4.35; 64
# 3.40-3.74; 32 3.22-3.47 (once 4.23); 16 3.37-3.84; 8 3.28-3.69. A piece's input envelopes and
# answers' dicts are freed as soon as it is counted, so the memory is reused while it is still in
# the CPU's caches; callgrind, which counts instructions, sees no difference.
APPLY_PIECE = 32


class EmbeddedAdjudicator:
    """Single writer of a run's ledger; adjudicates its input in process (a `Runtime`).

    `settings` None means: the ones recorded in the ledger's manifest (defaults for a new ledger).
    """

    def __init__(
        self,
        run_dir: Path | str,
        *,
        settings: Settings | None = None,
        batch_size: int = 5000,
        fsync: Fsync | str = Fsync.BATCH,
        check_replay: bool = True,
        signer: Signer | None = None,
        cache_families: CacheFamilies = AUTO,
        processes: int = 1,
        lookahead: bool = True,
        passes: bool = False,
    ):
        """`cache_families`: None keeps every family in memory, N at most N decoded over the
        scratch disk store, `AUTO` chooses by the input's size (`family_storage`), `LARGE`
        likewise with `ADJUDICATE_CACHE_FAMILIES` (`claimsim adjudicate`). `passes`: a new
        ledger too large for one pass goes in family passes instead (`runtimes.passes`)."""
        self.run_dir = Path(run_dir)
        self.workers: PartitionWorkers | None = None
        if processes < 1:
            raise UserError("processes must be at least 1")
        self.processes = processes
        self.lookahead = lookahead  # hints for a bounded cache (`_lookahead`)
        self.passes = passes
        self._gap: UserError | None = None
        self.signer = signer
        if not self.run_dir.is_dir():
            raise UserError(f"{self.run_dir}: no such run directory")
        self.input_dir = self.run_dir / "input"
        if not self.input_dir.is_dir():
            raise UserError(f"{self.input_dir}: the run has no input log")
        try:
            self.reference = ReferenceData.load(self.run_dir)
        except FileNotFoundError as e:
            raise UserError(str(e)) from None
        if batch_size < 1:
            raise UserError("batch size must be at least 1")
        self.batch_size = batch_size
        self.stats = RunStats()
        self.next_input = 0
        self.input_position = ChainPosition()  # the input chain is checked as it is read
        self.writer = LogWriter(self.run_dir / "ledger", fsync=fsync)
        self.store: MemoryStore | RocksStore = MemoryStore()
        try:
            self.cache_families, self.store = open_family_store(self.run_dir, cache_families)
            settings = open_manifest(self.run_dir, self.writer, self.reference, settings, signer)
            self.processor = PartitionProcessor(self.reference, settings,
                                                cache_families=self.cache_families,
                                                keep_results=False)
            self._rebuild(check_replay)
        except BaseException:
            self.close()
            raise

    @property
    def context(self) -> Context:
        """The Context the next input is adjudicated with (the run clock's facts so far)."""
        return self.processor.context(PARTITION, self.store)

    def _rebuild(self, check: bool) -> None:
        """Replay the ledger: epoch facts into the Context, answered inputs into family states."""
        ledger = self.writer.directory
        replayed = replay_ledger(read(ledger, 1), self._accepted_inputs(), self.processor, self.store)
        try:
            with cycle_gc_paused(freeze=True):
                for r in replayed:
                    if r.answer is None:
                        continue
                    if check and not r.reproduced:
                        raise UserError(
                            f"{ledger}: ledger seq {r.entry['seq']} (input {r.entry['cause']}) is"
                            " not what this code and reference data produce; was it written by"
                            " another version?")
                    self.next_input = r.entry["cause"] + 1
        except InputMismatch as e:
            raise UserError(f"{ledger}: ledger seq {e.entry['seq']} answers input"
                            f" {e.entry['cause']}, but the input log has {e.found} there") from None

    def _accepted_inputs(self):
        """The input log from the start, chain checked, each entry accepted as the replay takes
        it (the replay loop takes exactly the inputs the ledger answers)."""
        for env in read_checked(self.input_dir, self.input_position, typed=True):
            self.input_position.accept(env)
            yield env

    # -- running ---------------------------------------------------------------------------
    def pending(self) -> int:
        """How many inputs are written and not yet adjudicated."""
        return max(0, input_count(self.input_dir) - self.next_input)

    def progress(self) -> Progress:
        return Progress(self.next_input, self.pending())

    def adjudicate(self, until: Until = Until(), *, progress: bool | Bar = False) -> int:
        return self.run(until_at=until.at, until_seq=until.seq, progress=progress)

    def run(self, until_at: dt.date | str | None = None, until_seq: int | None = None,
            progress: bool | Bar = False) -> int:
        """Adjudicate input from the next unanswered seq up to, not including, the first input
        with `at >= until_at` or `seq >= until_seq` (or to the end); returns how many.
        `progress`: True for a bar of its own, or a caller's `protocol.Bar` to advance (kept open).

        Inputs go to the processor (or the workers) a batch at a time, each batch's answers then
        written and committed together. A core exception (a bug, not bad data) propagates with
        its batch unwritten: close the runtime, and reopening resumes after the last batch
        written."""
        limit_at = Until.of(until_at).at
        own = isinstance(progress, bool)
        bar: Any = (tqdm(total=self.pending(), unit="input", file=sys.stderr,
                         disable=not progress, mininterval=0.5) if own else progress)
        self._gap = None
        with cycle_gc_paused(freeze=True):  # family states grow with the run; see events.acyclic
            whole = until_seq is None and limit_at is None
            n = run_in_passes(self, bar) if self.passes and whole else None
            if n is None:
                n = (self._run_pieces(self._batches(until_seq, limit_at, APPLY_PIECE), bar)
                     if self.processes == 1 else
                     self._run_parallel(self._batches(until_seq, limit_at), bar))
        if own:
            bar.close()
        if self._gap is not None:
            raise self._gap
        return n

    def _lookahead(self) -> WhenNeeded | None:
        """When each pending input's family comes back, for a bounded cache to evict the family
        needed last (`runtimes.lookahead`), read from when the cache is half full on; None when
        every family stays in memory."""
        bound = self.cache_families
        if bound is None or not self.lookahead:
            return None
        families = self.processor._families
        return WhenNeeded(self.input_dir, WINDOW_PER_FAMILY * bound,
                          lambda: 2 * len(families) >= bound)

    def _batches(self, until_seq: int | None, limit_at: str | None, piece: int | None = None
                 ) -> Iterator[list[dict[str, Any]]]:
        """The pending inputs, checked against the input chain, in batches; stops before the
        first input past the limits, and at a gap in seq (kept in `_gap` for `run` to raise).
        With `piece`, each batch comes in consecutive lists of at most `piece` inputs, none of
        them spanning two batches (`_run_pieces`)."""
        expected = self.next_input
        batch: list[dict[str, Any]] = []
        size, in_batch = self.batch_size, 0
        cut = size if piece is None else min(piece, size)
        # Typed claims in one process (`typed_input`); the workers take dicts: typed ones cost
        # the parent more to send (measured in docs/performance.md, 2026-12-04).
        for env in read_checked(self.input_dir, self.input_position, typed=self.processes == 1):
            seq = env["seq"]
            if (until_seq is not None and seq >= until_seq) or (
                    limit_at is not None and env["at"] >= limit_at):
                break
            if seq != expected:
                self._gap = UserError(f"{self.input_dir}: input seq {seq} follows {expected - 1}")
                break
            batch.append(env)  # accepted into `input_position` when its answers are written
            expected = seq + 1
            in_batch += 1
            if len(batch) >= cut or in_batch >= size:
                yield batch
                batch = []
                if in_batch >= size:
                    in_batch = 0
        if batch:
            yield batch

    def _run_pieces(self, pieces: Iterator[list[Any]], bar: tqdm) -> int:
        """`run` in this process: each batch applied `APPLY_PIECE` inputs at a time, its answers
        counted as they come and kept encoded (compact bytes) until the batch is written and
        committed whole. A piece's input and answer dicts are freed while still in the CPU's
        caches, where a whole batch's (some 50 MB at 5,000 inputs) are not."""
        count, ahead, apply = self.stats.count_all, self._lookahead(), self.processor.apply
        store, size, writer = self.store, self.batch_size, self.writer
        n, held = 0, 0
        bodies: list[bytes] = []
        moved = self.input_position.copy()  # where the batch's inputs take the input chain
        for piece in pieces:
            # Each answer encoded with its ledger seq (this is the ledger's one writer).
            out = apply(PARTITION, None, piece, store, flush=False, encode=True, next_use=ahead,
                        ledger_seq=writer.next_seq + len(bodies))
            count(out.ledger)
            bodies += out.encoded
            moved.accept_all(piece)
            held += len(piece)
            out.ledger.clear()  # its answers and inputs freed now (`APPLY_PIECE`)
            piece.clear()
            if held >= size:
                n += self._commit_encoded(moved, (bodies, []), bar, True)
                moved, held, bodies = moved.copy(), 0, []
        if held:
            n += self._commit_encoded(moved, (bodies, []), bar, True)
        return n

    def _run_parallel(self, batches: Iterator[list[dict[str, Any]]], bar: tqdm) -> int:
        """`run` over the workers: batch k+1 is read and checked here while the workers
        adjudicate batch k, and batch k is written while they adjudicate batch k+1."""
        if self.workers is None:
            self.workers = self._start_workers()
        workers, n, sent = self.workers, 0, None
        for batch in batches:
            if sent is not None:
                answers = workers.collect()
                workers.submit(batch)
                n += self._commit_encoded(self._moved(sent), answers, bar)
            else:
                workers.submit(batch)
            sent = batch
        if sent is not None:
            n += self._commit_encoded(self._moved(sent), workers.collect(), bar)
        return n

    def _start_workers(self) -> PartitionWorkers:
        """Start the workers: forked, over every family in memory; over the disk store, spawned
        with stores of their own (`OwnStores`), fed the epoch facts and their families' keys
        from this process's store, which is then closed (removed): this process keeps only the
        epoch facts (a `MemoryStore`), for `record` and `context`."""
        if not isinstance(self.store, RocksStore):
            return PartitionWorkers(self.processor, self.store, self.processes, RunStats)
        store, processes, bound = self.store, self.processes, self.cache_families
        assert bound is not None  # a disk store is a bounded cache's (`family_storage`)
        self.processor.release(store)  # every decoded state to the store, to be handed over
        own = OwnStores(partial(worker_store, self.run_dir, cache_mb=store.cache_mb,
                                warm_mb=store.warm_mb / processes),
                        max(1, bound // processes))
        workers = PartitionWorkers(self.processor, store, processes, RunStats, own=own)
        try:
            shared = [kv for prefix in (b"e:", b"h:", b"p:") for kv in store.items(prefix)]
            for key, raw in shared:  # the epoch facts in ledger order (`fact_key`)
                if key.startswith(b"e:"):
                    workers.fact(orjson.loads(raw))
            for prefix in (b"c:", b"f:", b"r:"):
                workers.load(store.items(prefix))
        except BaseException:
            workers.close()
            raise
        self.store = MemoryStore(shared)
        store.close()
        return workers

    def _moved(self, inputs: list[dict[str, Any]]) -> ChainPosition:
        """The input chain's position past `inputs`, the next consecutive ones."""
        moved = self.input_position.copy()
        moved.accept_all(inputs)
        return moved

    def _commit_encoded(self, moved: ChainPosition,
                        answers: tuple[list[bytes], list[RunStats]], bar: tqdm,
                        sequenced: bool = False) -> int:
        """Write the answers of the next inputs, encoded and counted (`PartitionProcessor.apply`'s
        `encode=True`; `sequenced`: with their ledger seqs), and move past those inputs (`moved`:
        the input chain's position after them, which says how many they are)."""
        bodies, counted = answers
        for stats in counted:
            self.stats.add(stats)
        written = self.writer.write_encoded(bodies, sequenced=sequenced)
        self.writer.commit()
        bar.update(moved.next_seq - self.next_input)
        self.input_position = moved
        self.next_input = moved.next_seq
        raise_dropped_stop()  # a Ctrl-C or kill Python dropped (in a finalizer): stop here,
        return written        # where a rerun resumes

    def record(self, ledger_events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Append non-input ledger events (attribution, practice status, payments, snapshots)
        through the ledger's one writer, and apply the epoch facts among them to the Context.

        As with `LogWriter.append`, the log takes ownership of the event dicts (they gain seq,
        prev and hash); the stored envelopes are returned."""
        out = []
        for event in ledger_events:
            if event["type"] in ANSWER_TYPES:
                raise ValueError(f"{event['type']} answers an input: only run() writes those")
            env = self.writer.append(event)
            if env["type"] in CONTEXT_TYPES:
                self.processor.apply(PARTITION, None, [Fact(env["seq"], env)], self.store)
                if self.workers is not None:
                    self.workers.fact(env)
            out.append(env)
        self.writer.commit()
        return out

    def sign_head(self) -> None:
        """Sign the ledger's head (events.signing): the run clock does at every epoch boundary
        and at the end, `claimsim adjudicate` at the end. A no-op for an unsigned run, and when
        the head is already a signature."""
        if self.signer is None or self.writer.next_seq == 0:
            return
        last = next(read(self.writer.directory, self.writer.next_seq - 1), None)
        if last is not None and last["type"] != SIGNATURE_TYPE:
            sign_head(self.writer, self.signer, last["at"])

    def rest(self) -> None:
        """Give back the memory the runtime can rebuild before the caller's own heavy work (the
        run clock's boundaries and snapshots): over the disk store, every decoded family state
        goes back to the store (some 200 MB at a payer's scale), to be read back by its family's
        next input. A no-op when every family lives in memory (a small run)."""
        if self.workers is None:
            self.processor.release(self.store)

    def close(self) -> None:
        """End the workers, close the ledger, and close (a scratch one: remove) the family store,
        each whatever the one before raised: a full disk fails the ledger's last flush again on
        close, and the scratch store must still give its gigabytes back."""
        try:
            if self.workers is not None:
                self.workers.close()
                self.workers = None
                remove_worker_stores(self.run_dir)
        finally:
            try:
                self.writer.close()
            finally:
                if isinstance(self.store, RocksStore):
                    self.store.close()

    def __enter__(self) -> EmbeddedAdjudicator:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def adjudicate_run(run_dir: Path | str, *, settings: Settings | None = None,
                   until_at: dt.date | str | None = None, until_seq: int | None = None,
                   progress: bool = False, batch_size: int = 5000) -> RunStats:
    """Open the run's ledger, adjudicate its pending input (to `until_at`/`until_seq`), close."""
    with EmbeddedAdjudicator(run_dir, settings=settings, batch_size=batch_size) as runtime:
        runtime.run(until_at=until_at, until_seq=until_seq, progress=progress)
        return runtime.stats
