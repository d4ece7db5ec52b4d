"""`audit replay`'s answers re-adjudicated in family passes (`runtimes.passes`, as `claimsim
adjudicate` of a large run): the input split by family into parts, each part's inputs
re-adjudicated in a forked child that keeps every one of its families in memory and compares each
answer with the entry the ledger recorded for it. The replay's own process then only folds the
ledger and checks what answers no input (`audit.replay`).

Why: one pass over a payer-sized input keeps a bounded cache of family states over a scratch
store, and nearly every input of a million-member run finds its family out of the cache (a read,
a decode, and later an encode and a write back): the re-adjudication cost an input more the
larger the run. A pass holds all its families, so an input costs what it costs in a small run.

The same answers as the one pass, for the reason `runtimes.parallel` gives: an answer depends only
on its input, its family's state and the Context. Every epoch fact a pass's families can read
(a practice's status; a member's attribution where the part holds one of the member's
enrollments: `split_ledger`) reaches the pass's Context where it reached the one pass's: before
the first input the ledger answers after it. Each answer is compared byte for byte with its entry without the seq and chain fields
(what the one pass compares, canonically encoded, when the ledger is canonical); an entry that is
not those bytes is decoded and compared exactly as the one pass compares it, which also words
the difference. Anything the split does not understand stops the passes (`NoPasses`) and the
replay goes the one-pass way.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claimsim.events.errors import DISK_FULL
from claimsim.events.input_reader import ChainPosition
from claimsim.events.log import FILE_BUFFER, envelope_of, last_envelope, raw_lines, segments
from claimsim.events.processes import own_scratch, usable_cpus
from claimsim.events.reference import ReferenceData

from claimsim.adjudication.audit.diff import first_difference
from claimsim.adjudication.engine.context import ATTRIBUTION_TYPES, CONTEXT_TYPES, Settings
from claimsim.adjudication.engine.core import ANSWER_TYPES
from claimsim.adjudication.runtimes.passes import (APPLY_PIECE, PROGRESS_EVERY, TAIL, NoPasses,
                                                   Split, member_id_of, part_inputs, passes_for,
                                                   run_passes, split_input)
from claimsim.adjudication.runtimes.processor import MemoryStore, PartitionProcessor, Store
from claimsim.adjudication.runtimes.replay import PARTITION, Replayed, body_of

log = logging.getLogger(__name__)
MAX_AT_ONCE = 4  # passes at a time at most: each holds a part's families and their facts

# A ledger line ends `,"seq":N,"type":"<type>","v":N` and then its chain fields (`passes.TAIL`
# bytes): keys in sorted order, the chain fields last.
_TYPE, _V, _SEQ = b',"type":"', b',"v":', b',"seq":'


def answer_problem(r: Replayed) -> str | None:
    """Why an answer entry is not what this code answers to its input (after its seq), or None."""
    if r.reproduced:
        return None
    env = r.entry
    return f" ({env['type']}, input {env['cause']}): {first_difference(body_of(env), r.expected)}"


@dataclass
class LedgerSplit:
    """What `split_ledger` wrote: how many answer entries (each answering the next input), and
    a count and sums of their seqs for the fold's loop to check it read the same entries as
    answers."""

    answers: int = 0
    seq_sum: int = 0
    seq_squares: int = 0

    def add(self, seq: int) -> None:
        self.answers += 1
        self.seq_sum += seq
        self.seq_squares += seq * seq


@dataclass
class PartChecked:
    """A pass's report: how many inputs it re-adjudicated, and its first answer not reproduced:
    (the entry's seq, its input's place among the inputs answered, the problem) or None."""

    inputs: int
    difference: tuple[int, int, str] | None = None


@dataclass
class Checked:
    """Every pass's answers checked: where the inputs start and how many there are, what the
    split read as answers, and the first answer not reproduced (`PartChecked.difference`)."""

    first: int
    inputs: int
    split: LedgerSplit
    difference: tuple[int, int, str] | None


def _kind_and_seq(line: bytes) -> tuple[bytes, int]:
    """A canonical ledger line's type and seq, read off its tail (NoPasses for any other). For
    a line orjson reads, the type found is the envelope's own: in a JSON string a quote is
    escaped, so `,"type":"` and `,"v":` before the chain fields can only be keys."""
    end = len(line) - TAIL
    if end <= 0 or line[end:end + 9] != b',"prev":"' or line[-1:] != b"\n":
        raise NoPasses("a ledger line not in the canonical layout")
    v = line.rfind(_V, 0, end)
    t = line.rfind(_TYPE, 0, v) if v > 0 else -1
    s = line.rfind(_SEQ, 0, t) if t > 0 else -1
    if s < 0 or line[v - 1:v] != b'"':
        raise NoPasses("a ledger line not in the canonical layout")
    try:
        return line[t + len(_TYPE):v - 1], int(line[s + len(_SEQ):t])
    except ValueError:
        raise NoPasses("a ledger line not in the canonical layout") from None


_ANSWERS = frozenset(t.encode() for t in ANSWER_TYPES)
_FACT_TYPES = frozenset(t.encode() for t in CONTEXT_TYPES)
_ATTRIBUTION = frozenset(t.encode() for t in ATTRIBUTION_TYPES)


def split_ledger(ledger_dir: Path, split: Split, scratch: Path, enrolled: dict[bytes, int]
                 ) -> LedgerSplit:
    """Each answer entry after the manifest into `scratch/led-P` for its input's part (the k-th
    answer entry is the k-th input's, as the one pass pairs them; the fold's loop checks each
    entry's cause and reports the first that is not the next input), each epoch fact into
    `scratch/facts-P` after how many inputs were answered before it. Stops at an answer entry
    past the last input.

    A member's attribution facts go only to the parts holding one of its enrollments
    (`enrolled`, from `split_input`): the core reads a member's attribution only for a claim
    whose family holds the member's coverage, which only an enrollment gives. Every other fact
    (a practice's status), and one whose member id is not plain bytes, goes to every part."""
    owner, inputs, parts = split.owner, len(split.owner), split.parts
    everyone = (1 << parts) - 1
    written = LedgerSplit()
    files = [open(scratch / f"led-{p}", "wb", buffering=FILE_BUFFER) for p in range(parts)]
    facts = [open(scratch / f"facts-{p}", "wb", buffering=FILE_BUFFER) for p in range(parts)]
    try:
        for line in raw_lines(ledger_dir, 1):
            kind, seq = _kind_and_seq(line)
            if kind in _ANSWERS:
                k = written.answers
                if k >= inputs:
                    break
                files[owner[k]].write(line)
                written.add(seq)
            elif kind in _FACT_TYPES:
                fact = b"%d %s" % (written.answers, line)
                member = member_id_of(line) if kind in _ATTRIBUTION else None
                mask = everyone if member is None else enrolled.get(member, 0)
                while mask:
                    low = mask & -mask
                    facts[low.bit_length() - 1].write(fact)
                    mask ^= low
    finally:
        for f in files + facts:
            f.close()
    return written


def same_entry(body: bytes, line: bytes) -> bool:
    """Whether an answer encoded as `encoding.open_body` gives it (canonical, no seq, no closing
    brace) is the ledger line `line` without its seq and chain fields (`_kind_and_seq` read it)."""
    end = len(line) - TAIL
    t = line.rfind(_TYPE, 0, line.rfind(_V, 0, end))
    s = line.rfind(_SEQ, 0, t)
    return len(body) == s + end - t and body == line[:s] + line[t:end]


def _facts(path: Path) -> Iterator[tuple[int, bytes]]:
    with open(path, "rb", buffering=FILE_BUFFER) as f:
        for line in f:
            before, _, entry = line.partition(b" ")
            yield int(before), entry


def check_part(processor: PartitionProcessor, store: Store, input_dir: Path, split: Split,
               scratch: Path, part: int, progress: Callable[[int], None]) -> PartChecked:
    """A pass (`runtimes.passes.run_passes`' work): part `part`'s inputs re-adjudicated in order,
    `APPLY_PIECE` at a time, each epoch fact applied to the Context before the first input
    answered after it, each answer compared with its entry; stops at the first not reproduced.

    An epoch fact goes to the Context directly (`Context.apply_ledger_event`), not through
    `processor.apply`, which would also keep it in the store for a restart: a pass never
    restarts."""
    inputs = part_inputs(input_dir, split, part, scratch / f"in-{part}")
    context = processor.context(PARTITION, store)
    apply, first = processor.apply, split.first
    lines: list[bytes] = []  # the entries of the inputs in `piece`
    piece: list[dict[str, Any]] = []
    done = shown = 0

    def check() -> tuple[int, int, str] | None:
        """Re-adjudicate the piece and compare: the first difference, or None."""
        nonlocal done
        result = apply(PARTITION, None, piece, store, flush=False, encode=True)
        if len(result.encoded) != len(piece):  # every input has exactly one answer
            raise RuntimeError(f"{len(piece)} inputs replayed gave {len(result.encoded)} answers")
        done += len(piece)
        for line, body, answer, inp in zip(lines, result.encoded, result.ledger, piece):
            if not same_entry(body, line):
                problem = answer_problem(Replayed(envelope_of(line), answer))
                if problem is not None:
                    return _kind_and_seq(line)[1], inp["seq"] - first, problem
        lines.clear()
        piece.clear()
        return None

    facts = _facts(scratch / f"facts-{part}")
    try:
        fact = next(facts, None)
        with open(scratch / f"led-{part}", "rb", buffering=FILE_BUFFER) as answers:
            for line in answers:
                inp = next(inputs)  # the split wrote an answer only for an input it read
                index = inp["seq"] - first
                if fact is not None and fact[0] <= index:
                    if piece and (difference := check()) is not None:
                        return PartChecked(done, difference)
                    while fact is not None and fact[0] <= index:
                        context.apply_ledger_event(envelope_of(fact[1]))
                        fact = next(facts, None)
                lines.append(line)
                piece.append(inp)
                if len(piece) >= APPLY_PIECE:
                    if (difference := check()) is not None:
                        return PartChecked(done, difference)
                    if done - shown >= PROGRESS_EVERY:
                        progress(done)
                        shown = done
            if piece and (difference := check()) is not None:
                return PartChecked(done, difference)
    finally:
        facts.close()
    (scratch / f"led-{part}").unlink(missing_ok=True)
    (scratch / f"facts-{part}").unlink(missing_ok=True)
    return PartChecked(done)


def parts_for(input_dir: Path) -> int:
    """How many family passes the run's input is replayed in (`runtimes.passes.passes_for`; 1:
    none, the one pass)."""
    last = last_envelope(input_dir)
    return passes_for(0 if last is None else last["seq"] + 1)


ONE_PASS_INSTEAD = ("replaying in one pass (slower; set TMPDIR to a folder with about the"
                    " input's and the ledger's size free for the passes)")


def _size(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB"


SCRATCH_PREFIX = "claimsim-replay-passes-"  # + the replaying process's pid and "-"
# (`events.processes.own_scratch`, as the Kafka workers' data folders are swept)


def check_answers(run_dir: Path, parts: int, reference: ReferenceData, settings: Settings,
                  on_phase: Callable[[str, int], None], on_inputs: Callable[[int], None]
                  ) -> Checked | None:
    """Every answer the ledger records re-adjudicated and compared in `parts` family passes
    (`parts_for`); None, having checked nothing, when the split or a pass stops (`NoPasses`)."""
    input_dir = run_dir / "input"
    temp = Path(tempfile.gettempdir())
    need = sum(path.stat().st_size for _, path in segments(input_dir))
    free = shutil.disk_usage(temp).free
    if free < need:  # the split alone copies the input there
        log.warning("%s has %s free; replaying in family passes needs more than the input's %s"
                    " there: %s", temp, _size(free), _size(need), ONE_PASS_INSTEAD)
        return None
    scratch = own_scratch(SCRATCH_PREFIX)  # what a killed replay left there swept first
    try:
        on_phase(f"splitting the input and the ledger into {parts} parts by family", 0)
        enrolled: dict[bytes, int] = {}  # member id -> the parts holding its enrollments
        split = split_input(input_dir, ChainPosition(), parts, scratch, enrolled)
        written = split_ledger(run_dir / "ledger", split, scratch, enrolled)
        del enrolled
        processor = PartitionProcessor(reference, settings, cache_families=None, keep_results=False)
        at_once = min(parts, usable_cpus(), MAX_AT_ONCE)
        on_phase(f"re-adjudicating {parts} parts by family, {at_once} at a time", written.answers)
        reports = run_passes(processor, MemoryStore(), input_dir, split, scratch, at_once,
                             on_inputs, work=check_part)
    except NoPasses:
        return None
    except OSError as e:
        if e.errno not in DISK_FULL:
            raise
        log.warning("%s filled up with the family passes' scratch (%s): %s", temp, e.strerror,
                    ONE_PASS_INSTEAD)
        return None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    found = [r.difference for r in reports if r.difference is not None]
    return Checked(split.first, len(split.owner), written, min(found) if found else None)
