"""`claimsim adjudicate` of a large run in family passes: the input split by family into K parts,
each part adjudicated whole in a forked child that keeps every one of its families in memory,
and the answers merged back into input order by this process, the ledger's one writer. The
ledger is the same bytes as one pass over the whole input (and as `--processes N`), for the
reason `runtimes.parallel` gives: an answer depends only on its input, its family's state and
the Context, never on another family.

Why: over the disk store (`family_storage`) a family that left the bounded cache is read back,
decoded, and later encoded and written again, and the more members a run has, the more of its
inputs find their family out of the cache, so an input cost more the larger the run (72.7 us
at 1,000,000 members against 32.9 at 10,000: docs/performance.md, "Performance at scale"). A
pass of at most `PASS_INPUTS` inputs holds all its families decoded, as a small run does, and
gives its memory back to the system when its child exits: the time an input costs and the peak
memory no longer grow with the population. What it costs instead: the input's lines copied once
into K files, and the answers written once to K files and read back for the merge (scratch
files in `RUN_DIR/.family-passes/`, removed as they are used; at most the input's and the
ledger's size on disk at once).

When it applies (`run_in_passes`): a new ledger (no input answered yet), the whole input (no
`--until`), and more inputs than one pass holds. With `--processes N`, N passes run at a time (each
child its own part's families: N parts' memory at once). Anything the split does not understand (a
line not in the log's canonical layout, a torn last line, a `prev` that is not the line before's
`hash`, a key written with escapes) and anything a pass meets that the one-pass path would answer
differently (a line that is not an envelope, a broken chain) stops the passes before a byte is
written to the ledger, and the run goes the one-pass way over the disk store, which answers it as
always: the passes are only ever a faster way to the same ledger.

`audit replay` re-adjudicates a large run's answers in the same passes, with its own work per
part (`run_passes(work=...)`: `audit.replay_passes.check_part` compares each answer with the
ledger's entry instead of writing it).
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import shutil
import traceback
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from multiprocessing.connection import wait
from typing import TYPE_CHECKING, Any, BinaryIO

import orjson

from claimsim.events.errors import DISK_FULL
from claimsim.events.input_reader import UNREADABLE, ChainBroken, ChainPosition, LineCheck
from claimsim.events.log import FILE_BUFFER, segment_files
from claimsim.events.processes import (die_with_parent, raise_dropped_stop, release_stop_signals,
                                       stop_signals_held)

from claimsim.adjudication.runtimes.parallel import PARTITION, WorkerFailed
from claimsim.adjudication.runtimes.processor import MemoryStore, PartitionProcessor, Store
from claimsim.adjudication.runtimes.stats import RunStats

if TYPE_CHECKING:
    from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator

log = logging.getLogger(__name__)
SCRATCH = ".family-passes"  # the passes' scratch folder, inside the run directory
# Inputs a pass holds (on average: a family's inputs all go to one part). A run of this many
# keeps every family in memory in one process anyway (`family_storage.IN_MEMORY_INPUTS`: about
# 32,000 members over a year, 423 MB at the peak).
PASS_INPUTS = 250_000
MAX_PASSES = 255  # a part's number is one byte of `Split.owner`
APPLY_PIECE = 32  # inputs applied at a time (as `embedded.APPLY_PIECE`, and for the same reason)
PROGRESS_EVERY = 8_192  # inputs between a pass's progress reports

# The canonical tail of a log line: `,"prev":"<64 hex>","hash":"<64 hex>"}` and the newline.
TAIL = len(b',"prev":"') + 64 + len(b'","hash":"') + 64 + len(b'"}\n')
_PREV_AT = len(b',"prev":"')
_HASH_AT = _PREV_AT + 64 + len(b'","hash":"')
_KEY = b'"key":'  # the last field before "prev" but "seq" (fields in sorted order)
_AFTER_KEY = b',"seq":'


class NoPasses(Exception):
    """The input, or a pass, has something only the one-pass path answers (module docstring)."""


@dataclass
class Split:
    """The pending input split by family: part `owner[i]` holds input `first + i`."""

    first: int
    owner: bytearray
    parts: int
    last_hash: str  # the last input's, for the input chain's position after the run
    last_line: bytes


def passes_for(inputs: int) -> int:
    """How many parts a run of `inputs` is split into (1: no split)."""
    return max(1, min(MAX_PASSES, -(-inputs // PASS_INPUTS)))


_MEMBER_ID = b'"member_id":"'
_ENROLLED = b',"type":"member.enrolled","v":'


def member_id_of(line: bytes) -> bytes | None:
    """The bytes of the first `"member_id"` string in a canonical log line: its data's, in an
    enrollment or an attribution fact (their data is flat, and a key sorts before "data" only
    from the envelope); None if it has none or holds an escape (its bytes are then not its
    text)."""
    at = line.find(_MEMBER_ID)
    if at < 0:
        return None
    start = at + len(_MEMBER_ID)
    member = line[start:line.find(b'"', start)]
    return None if b"\\" in member else member


def split_input(input_dir: Path, start: ChainPosition, parts: int, scratch: Path,
                enrolled: dict[bytes, int] | None = None) -> Split:
    """Copy each input line from `start` on into `scratch/in-P` for its family's part P: the
    crc32 of its key, as `parallel.partition_of` (NoPasses for anything module docstring lists).
    With `enrolled`, also note each enrollment's member (`member_id_of`) -> the bit of every
    part its enrollments went to (only a family holding a member's enrollment reads its
    attribution: `audit.replay_passes` routes the member's attribution facts by it)."""
    owner = bytearray()
    prev = (start.prev or "").encode("ascii")
    expected, last = start.next_seq, b""
    files = [open(scratch / f"in-{p}", "wb", buffering=FILE_BUFFER) for p in range(parts)]
    try:
        for f in segment_files(input_dir, start.next_seq):
            for line in f:
                if line[-1:] != b"\n" or len(line) <= TAIL:
                    raise NoPasses(f"input seq {expected}: a torn or short line")
                tail = line[-TAIL:]
                if not tail.startswith(b',"prev":"') or tail[_PREV_AT:_PREV_AT + 64] != prev:
                    raise NoPasses(f"input seq {expected}: not on the chain as written")
                at = line.rfind(_KEY)
                key = line[at + len(_KEY):line.find(_AFTER_KEY, at)]
                if at < 0 or len(key) < 2 or key[:1] != b'"' or key[-1:] != b'"' or b"\\" in key:
                    raise NoPasses(f"input seq {expected}: a key not in the canonical layout")
                p = zlib.crc32(key[1:-1]) % parts
                if enrolled is not None and line.find(_ENROLLED, len(line) - TAIL - 48) >= 0:
                    member = member_id_of(line)
                    if member is None:
                        raise NoPasses(f"input seq {expected}: an enrollment's member id not in"
                                       " the canonical layout")
                    enrolled[member] = enrolled.get(member, 0) | 1 << p
                files[p].write(line)
                owner.append(p)
                prev, last = tail[_HASH_AT:_HASH_AT + 64], line
                expected += 1
    finally:
        for out in files:
            out.close()
    if not owner:
        raise NoPasses("no input pending")
    return Split(start.next_seq, owner, parts, prev.decode("ascii"), last)


def part_inputs(input_dir: Path, split: Split, part: int, path: Path
                ) -> Iterator[dict[str, Any]]:
    """Part `part`'s inputs (the file `path` the split wrote), each checked against the chain as
    `read_checked` checks it (the split checked that each line's `prev` is the line before's
    `hash`)."""
    check, mark, owner, first = LineCheck(input_dir, True), bytes((part,)), split.owner, split.first
    i = -1
    with open(path, "rb", buffering=FILE_BUFFER) as f:
        for line in f:
            i = owner.find(mark, i + 1)
            seq = first + i
            prev = line[-TAIL + _PREV_AT:-TAIL + _PREV_AT + 64].decode("ascii")
            env = check.envelope(line, seq, ChainPosition(seq, prev))
            if env["type"] == UNREADABLE:
                raise NoPasses(f"input seq {seq}: {env['data']['problem']}")
            yield env


def _adjudicate_part(processor: PartitionProcessor, store: Store, input_dir: Path, split: Split,
                     scratch: Path, part: int, progress: Callable[[int], None]) -> RunStats:
    """`claimsim adjudicate`'s pass: part `part`'s inputs adjudicated in order, every family in
    memory, each answer encoded and written to `scratch/out-P` a line each."""
    stats, piece, done = RunStats(), [], 0
    apply = processor.apply
    with open(scratch / f"out-{part}", "wb", buffering=FILE_BUFFER) as out:
        def flush() -> None:
            result = apply(PARTITION, None, piece, store, flush=False, encode=True)
            if len(result.encoded) != len(piece):  # every input has exactly one answer
                raise WorkerFailed(f"{len(piece)} inputs gave {len(result.encoded)} answers")
            stats.count_all(result.ledger)
            out.write(b"\n".join(result.encoded) + b"\n")
        for env in part_inputs(input_dir, split, part, scratch / f"in-{part}"):
            piece.append(env)
            if len(piece) >= APPLY_PIECE:
                flush()
                done += len(piece)
                piece = []
                if done % PROGRESS_EVERY == 0:
                    progress(done)
        if piece:
            flush()
    return stats


def _pass_main(conn: Any, part: int, args: tuple) -> None:
    """A forked child's life: `work(*rest, part, progress)` for `args = (work, *rest)` (a pass:
    `_adjudicate_part`, or another runtime's, such as `audit replay`'s), reporting
    ("progress", n) as it goes, then ("done", what the work returned), ("no", why),
    ("oserror", ...) or ("error", traceback). The work's result must have an `inputs` count."""
    die_with_parent()  # a parent killed outright leaves no pass running for no one
    release_stop_signals()  # held by `_Child` while it forked
    gc.disable()  # family states are acyclic trees (events.acyclic); this process only holds them
    try:
        work, *rest = args
        conn.send(("done", work(*rest, part, lambda n: conn.send(("progress", n)))))
    except (NoPasses, ChainBroken) as e:
        conn.send(("no", str(e)))
    except OSError as e:  # an I/O failure (a full disk): the parent raises the same error
        conn.send(("oserror", (e.errno, e.strerror, e.filename)) if e.errno is not None
                  else ("error", traceback.format_exc()))
    except BaseException:
        conn.send(("error", traceback.format_exc()))


class _Child:
    """A pass running in a forked child: its process, the pipe it reports on, and how many of
    its inputs it has reported answered."""

    __slots__ = ("part", "proc", "conn", "shown")

    def __init__(self, ctx: Any, part: int, args: tuple):
        self.part, self.shown = part, 0
        self.conn, child = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_pass_main, args=(child, part, args), daemon=True)
        try:
            with stop_signals_held():  # a Ctrl-C or kill during the fork is not lost: it is
                self.proc.start()      # raised here, right after
        except BaseException:
            if self.proc.pid is not None:  # not yet one of `run_passes`' children: end it here
                self.proc.kill()
                self.proc.join()
            raise
        child.close()

    def receive(self, progress: Callable[[int], None]) -> Any:
        """The next report: None for progress (given to `progress`), what the pass's work
        returned when it is done; NoPasses, the pass's OSError (a full disk) or WorkerFailed
        for the rest."""
        try:
            kind, payload = self.conn.recv()
        except EOFError:
            self.proc.join()
            raise WorkerFailed(f"pass {self.part + 1} died (exit code {self.proc.exitcode})"
                               ) from None
        if kind == "no":
            raise NoPasses(payload)
        if kind == "oserror":
            raise OSError(*payload)
        if kind == "error":
            raise WorkerFailed(f"pass {self.part + 1} failed:\n{payload}")
        answered = payload if kind == "progress" else payload.inputs
        progress(answered - self.shown)
        self.shown = answered
        return None if kind == "progress" else payload

    def end(self, kill: bool = False) -> None:
        if kill:
            self.proc.kill()
        self.conn.close()
        self.proc.join()
        self.proc.close()  # its `Finalize` run now: as a weakref callback it drops a stop (CI)


def run_passes(processor: PartitionProcessor, store: Store, input_dir: Path, split: Split,
               scratch: Path, at_once: int, progress: Callable[[int], None],
               work: Callable[..., Any] = _adjudicate_part) -> list[Any]:
    """Every part's pass (`work`, `_adjudicate_part` unless said), each in a forked child (its
    memory goes back to the system when it ends), `at_once` at a time; `progress` gets how many
    more inputs were answered as the children report. Returns what each pass's work returned,
    by part. The first child to stop (NoPasses) or fail (WorkerFailed) ends the rest."""
    ctx = multiprocessing.get_context("fork")
    args = (work, processor, store, input_dir, split, scratch)
    done: dict[int, Any] = {}
    waiting, running = list(range(split.parts)), {}
    try:
        while waiting or running:
            while waiting and len(running) < at_once:
                child = _Child(ctx, waiting.pop(0), args)
                running[child.conn] = child
            for conn in wait(list(running)):
                child = running[conn]
                result = child.receive(progress)
                if result is not None:
                    done[child.part] = result
                    del running[conn]
                    child.end()
                    (scratch / f"in-{child.part}").unlink(missing_ok=True)
                    raise_dropped_stop()  # one that landed in the ended child's finalizer
    finally:
        for child in running.values():
            child.end(kill=True)
    return [done[p] for p in range(split.parts)]


def merged_answers(split: Split, scratch: Path) -> Iterator[bytes]:
    """Every pass's answers, back in input order: input `first + i`'s is the next line of
    `out-owner[i]`."""
    files: list[BinaryIO] = [open(scratch / f"out-{p}", "rb", buffering=FILE_BUFFER)
                             for p in range(split.parts)]
    try:
        readers = [f.readline for f in files]
        for p in split.owner:
            body = readers[p]()
            if body[-1:] != b"\n":
                raise WorkerFailed(f"pass {p + 1} wrote fewer answers than it had inputs")
            yield body[:-1]
        if any(f.read(1) for f in files):
            raise WorkerFailed("a pass wrote more answers than it had inputs")
    finally:
        for f in files:
            f.close()


def new_scratch(run_dir: Path) -> Path:
    """An empty scratch folder for the passes (what a killed run left there removed)."""
    scratch = run_dir / SCRATCH
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    return scratch


def fresh_processor(processor: PartitionProcessor, store: Store) -> tuple[PartitionProcessor,
                                                                            MemoryStore]:
    """A processor keeping every family in memory, and a store holding `store`'s epoch facts
    (a new ledger's: no family yet), for the children to start from."""
    facts = MemoryStore((k, v) for k, v in store.items())
    return PartitionProcessor(processor.reference, processor.settings, cache_families=None,
                              keep_results=False), facts


def run_in_passes(rt: EmbeddedAdjudicator, bar: Any) -> int | None:
    """`rt.run()` of a new ledger's whole input in family passes (module docstring); None,
    having written nothing, when they do not apply or stop (`NoPasses`): then the caller goes
    the one-pass way. An error while the merge writes leaves `rt` to be closed and reopened,
    which resumes after the last batch written."""
    parts = passes_for(rt.pending())
    if parts < 2 or rt.next_input != 0:
        return None
    scratch = new_scratch(rt.run_dir)
    try:
        try:
            bar.set_description(f"splitting the input into {parts} parts by family")
            split = split_input(rt.input_dir, rt.input_position, parts, scratch)
            processor, store = fresh_processor(rt.processor, rt.store)
            at_once = min(rt.processes, parts)
            bar.set_description(f"adjudicating {parts} parts, {at_once} at a time")
            stats = RunStats()
            for part_stats in run_passes(processor, store, rt.input_dir, split, scratch, at_once,
                                         bar.update):
                stats.add(part_stats)
        except NoPasses as e:
            bar.set_description(f"one pass ({e})")
            bar.reset()
            return None
        except OSError as e:  # the scratch filled the disk: the one pass needs less room
            if e.errno not in DISK_FULL:
                raise
            log.warning("%s filled up with the family passes' scratch (%s): adjudicating in one"
                        " pass over the disk store, which needs less room but more time"
                        " (`--no-passes` goes that way from the start)", rt.run_dir, e.strerror)
            shutil.rmtree(scratch, ignore_errors=True)
            bar.set_description("one pass (the disk filled up)")
            bar.reset()
            return None
        bar.set_description("writing the ledger in input order")
        bar.reset()
        return _write_merged(rt, split, stats, scratch, bar)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _write_merged(rt: EmbeddedAdjudicator, split: Split, stats: RunStats, scratch: Path,
                  bar: Any) -> int:
    """The passes' answers written to the ledger in input order, `rt.batch_size` a commit, and
    `rt` moved past every input."""
    writer, size, written, bodies = rt.writer, rt.batch_size, 0, []
    for body in merged_answers(split, scratch):
        bodies.append(body)
        if len(bodies) >= size:
            written += writer.write_encoded(bodies)
            writer.commit()
            bar.update(len(bodies))
            bodies = []
    if bodies:
        written += writer.write_encoded(bodies)
        writer.commit()
        bar.update(len(bodies))
    rt.stats.add(stats)
    rt.next_input = split.first + len(split.owner)
    rt.input_position = ChainPosition(rt.next_input, split.last_hash,
                                      orjson.loads(split.last_line)["at"])
    return written
