"""The one replay loop: walk a ledger beside its input log, re-adjudicating each input an answer
entry answers (through a `PartitionProcessor`, as live) and applying each epoch fact to the
processor's Context. The embedded runtime rebuilds its state with it on opening; `audit replay`
builds its entry-by-entry comparison on it. A run too large for one pass is re-adjudicated by
`audit replay` in family passes instead (`audit.replay_passes`): each family's inputs and every
epoch fact in the order this loop gives them, in a process per part of the families.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from claimsim.events.encoding import canonical
from claimsim.events.ledger import lines_without_diagnoses

from claimsim.adjudication.engine.context import CONTEXT_TYPES
from claimsim.adjudication.engine.core import ANSWER_TYPES
from claimsim.adjudication.runtimes.processor import PartitionProcessor, Store
from claimsim.adjudication.runtimes.streaming.wire import Fact

BODY = ("type", "v", "at", "key", "cause", "data")  # an entry without its seq and chain fields
CLAIM_TYPES = frozenset({"claim.adjudicated", "claim.reversed"})
PARTITION = 0  # replay runs every family in one partition: the ledger is in cause order


def body_of(env: dict[str, Any]) -> dict[str, Any]:
    return {k: env[k] for k in BODY}


@dataclass(slots=True)
class Replayed:
    """One ledger entry as replayed; `answer` is what this code answers to the entry's input
    (None for entries that answer no input)."""

    entry: dict[str, Any]
    answer: dict[str, Any] | None

    @property
    def expected(self) -> dict[str, Any] | None:
        """The answer in the form the entry records it (`as_recorded`)."""
        return None if self.answer is None else as_recorded(self.answer, self.entry)

    @property
    def reproduced(self) -> bool:
        """Whether the answer is the entry, byte for byte (True for a non-answer entry)."""
        return self.answer is None or canonical(self.expected) == canonical(body_of(self.entry))


def as_recorded(answer: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """This code's answer as `entry` records it. A claim entry written at v1 did not record its
    lines' diagnoses (upcast, they read None): the answer is compared without them, so a v1
    ledger replays exactly when every other field is reproduced."""
    if answer["type"] in CLAIM_TYPES and answer["type"] == entry["type"]:
        data = entry["data"]
        lines = data.get("lines") or data.get("reversed_lines")
        if lines and lines[0].get("diagnoses", None) is None:
            return {**answer, "data": lines_without_diagnoses(answer["data"])}
    return answer


class InputMismatch(Exception):
    """An answer entry whose cause is not the next input: the ledger belongs to another input log."""

    def __init__(self, entry: dict[str, Any], found: int | None):
        self.entry, self.found = entry, found
        super().__init__(f"seq {entry['seq']}: answers input {entry['cause']}, but the next"
                         f" input is {found}")


REPLAY_PIECE = 32  # inputs re-adjudicated at a time (as `embedded.APPLY_PIECE`)


def replay_ledger(entries: Iterable[dict[str, Any]], inputs: Iterator[dict[str, Any]],
                  processor: PartitionProcessor, store: Store) -> Iterator[Replayed]:
    """Each entry of `entries` (ledger envelopes after the manifest), replayed; `inputs` yields
    the input log from the first input the entries answer. Raises `InputMismatch`.

    The inputs of a run of answer entries are re-adjudicated `REPLAY_PIECE` at a time, in one
    call of the processor (each call costs a cache and bookkeeping of its own, once per input
    before): the same answers, as a family's state depends only on its own inputs in order. A
    piece ends before any other entry, so an epoch fact reaches the Context after the inputs
    before it and before those after it, as live; the entries come out in ledger order, each
    answer computed before its entry is yielded (up to a piece's inputs read ahead)."""
    apply = processor.apply
    piece: list[dict[str, Any]] = []  # answer entries whose inputs wait in `waiting`
    waiting: list[dict[str, Any]] = []

    def answered() -> Iterator[Replayed]:
        answers = apply(PARTITION, None, waiting, store, flush=False).ledger
        if len(answers) != len(piece):  # every input has exactly one answer
            raise RuntimeError(f"{len(piece)} inputs replayed gave {len(answers)} answers")
        out = [Replayed(env, answer) for env, answer in zip(piece, answers)]
        piece.clear()
        waiting.clear()
        return iter(out)

    for env in entries:
        kind = env["type"]
        if kind in ANSWER_TYPES:
            inp = next(inputs, None)
            if inp is None or inp["seq"] != env["cause"]:
                if piece:
                    yield from answered()
                raise InputMismatch(env, None if inp is None else inp["seq"])
            piece.append(env)
            waiting.append(inp)
            if len(piece) >= REPLAY_PIECE:
                yield from answered()
        else:
            if piece:
                yield from answered()
            if kind in CONTEXT_TYPES:
                apply(PARTITION, None, [Fact(env["seq"], env)], store)
            yield Replayed(env, None)
    if piece:
        yield from answered()
