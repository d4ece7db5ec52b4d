"""The one replay loop: walk a ledger beside its input log, re-adjudicating each input an answer
entry answers (through a `PartitionProcessor`, as live) and applying each epoch fact to the
processor's Context. The embedded runtime rebuilds its state with it on opening; `audit replay`
builds its entry-by-entry comparison on it.
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


def replay_ledger(entries: Iterable[dict[str, Any]], inputs: Iterator[dict[str, Any]],
                  processor: PartitionProcessor, store: Store) -> Iterator[Replayed]:
    """Each entry of `entries` (ledger envelopes after the manifest), replayed; `inputs` yields
    the input log from the first input the entries answer. Raises `InputMismatch`."""
    apply = processor.apply
    for env in entries:
        kind = env["type"]
        if kind in ANSWER_TYPES:
            inp = next(inputs, None)
            if inp is None or inp["seq"] != env["cause"]:
                raise InputMismatch(env, None if inp is None else inp["seq"])
            yield Replayed(env, apply(PARTITION, None, [inp], store, flush=False).ledger[0])
        else:
            if kind in CONTEXT_TYPES:
                apply(PARTITION, None, [Fact(env["seq"], env)], store)
            yield Replayed(env, None)
