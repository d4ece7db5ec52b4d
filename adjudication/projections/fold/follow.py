"""A ledger entry's way into the fold, compiled with the fold's hot path (setup.py), since it runs
once per ledger entry and, for the input log pulled along, once per input line:

- `apply`: `PayerState.apply` (which calls it: one implementation) — the positions the entry
  moves, then its concern's handler;
- `follow`: a `follower.LedgerFollower` step (its `apply`): the input pulled up to the entry's
  `cause` (the input it answers passed over unfolded when the answer says the core ignored it:
  `events.ignored`), then `apply`;
- `pass_input`: the follower's pass over the input log (`LedgerFollower._pull_input` is the
  rest: where the pass starts and stops);
- `is_current_claim_line`: the one test of a raw input line for a current claim.

Envelope fields are read with the decoded entries' own key objects (`fold.claims.FIELDS`), which
`follow` renews every `fold.claims.RENEW_EVERY` entries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Final

from claimsim.events.ignored import is_ignored

from claimsim.adjudication.projections.fold.claims import FIELDS, RENEW_EVERY, adjudicated
from claimsim.adjudication.projections.fold.membership import INPUT_HANDLERS

if TYPE_CHECKING:
    from claimsim.adjudication.projections.state import PayerState

INPUT_TYPES: Final = frozenset(INPUT_HANDLERS)  # the input log's types the fold handles

# A line ends `"type":"claim.submitted","v":1,"prev":"<64 hex>","hash":"<64 hex>"}` (canonical key
# order: sorted, then the chain fields); looking for the type in its last bytes finds the
# envelope's own (only a claim's data is untrusted, and only a claim.submitted line carries one).
CHAIN_TAIL: Final = 160  # the chain fields after the marker: 142 bytes
# Where the marker ends in a line the log wrote, counted from the line's end: the chain fields
# `"<64 hex>","hash":"<64 hex>"}` and the newline follow it.
AT_END: Final = len('"') + 64 + len('","hash":"') + 64 + len('"}') + 1


def is_current_claim_line(line: bytes, marker: bytes) -> bool:
    """Whether a raw input line is a claim.submitted envelope at the version `marker` names (the
    current one). A claim at any other version is not: it takes the decoding path, which upcasts
    or refuses it, so the raw-bytes fast path never reads a layout it does not know.
    The marker is looked for in the line's last bytes; first compared where a line the log wrote
    holds it (one slice, where the search is a method call), which finds it in any such line."""
    start = len(line) - len(marker) - AT_END
    if start >= 0 and line[start:start + len(marker)] == marker:
        return True  # then the search below would find it too: it starts before `start`
    return line.find(marker, len(line) - len(marker) - CHAIN_TAIL) >= 0


def apply(state: PayerState, env: dict[str, Any], handlers: dict[str, Any]) -> None:
    """Fold one raw envelope of either log: the input or ledger position it moves to, then its
    handler in `handlers` (the state's), if any."""
    kind = env[FIELDS.type]
    if kind in INPUT_TYPES:
        state.input_seq = env[FIELDS.seq]
    else:
        state.last_seq, state.last_at = env[FIELDS.seq], env[FIELDS.at]
    handler = handlers.get(kind)
    if handler is None:
        return
    if handler is adjudicated:  # most entries: a native call, not a Python one
        adjudicated(state, env)
    else:
        handler(state, env)


def follow(follower: Any, state: Any, handlers: dict[str, Any] | None,
           env: dict[str, Any]) -> None:
    """`LedgerFollower.apply`: the input through the entry's `cause` (`follower._pull_input`),
    then the entry: through `apply` here when the follower feeds a `PayerState` (`handlers`, its
    `fold_handlers`), else through its `state`'s own `apply`. The follower passes its attributes
    in (read by the interpreter's specialised attribute loads, cheaper than a compiled module's
    generic ones on a Python object)."""
    fields = FIELDS
    fields.seen += 1
    if fields.seen >= RENEW_EVERY:
        fields.seen = 0
        fields.renew()
    cause = env.get(fields.cause)
    if cause is not None and cause > state.input_seq:
        if env[fields.type] == "no_effect" and is_ignored(env[fields.data]):
            follower._pass_over(cause)  # the input it answers is not folded: the core ignored it
        else:
            follower._pull_input(cause)
    if handlers is None:
        state.apply(env)
    else:
        apply(state, env, handlers)


def pass_input(state: PayerState, lines: Iterator[bytes], held: bytes | None, upto: int,
               block_end: int, marker: bytes,
               conditions: Callable[[bytes], list[str]] | None,
               decode: Callable[[bytes], dict[str, Any] | None]) -> tuple[bool, bytes | None]:
    """Apply input lines from `held` (a line read before, not yet applied) and then `lines` to
    the state until its input position reaches `block_end`: every claim (its `conditions`, when
    given, noted by seq: `diagnoses.claim_conditions` for a v1 ledger) and, through `upto`,
    every other input. Stops before any other input
    past `upto`, which it hands back held; returns (whether `lines` ran out, the held line).
    A run of claims moves the state's input position once, at its end (`finally`: also when
    reading the next line fails), not once per claim."""
    pending = state.pending_dx
    seq: int = state.input_seq
    moved = False  # claims passed since the state's input position was last set
    try:
        while seq < block_end:
            line = held
            if line is None:
                line = next(lines, None)
                if line is None:  # the input ends here for now
                    return True, None
            else:
                held = None
            # Claims are most of the input; only their diagnoses matter here (`conditions`).
            if is_current_claim_line(line, marker):
                seq += 1
                moved = True
                if conditions is not None:
                    conds = conditions(line)
                    if conds:
                        pending[str(seq)] = conds
                continue
            if moved:
                state.input_seq, moved = seq, False
            if seq >= upto:
                return False, line  # not a claim and past `upto`: its turn comes later
            seq += 1
            env = decode(line)
            if env is not None and env.get(FIELDS.type) in INPUT_TYPES:
                state.apply(env)
            else:  # unreadable or of an unknown type: answered by a rejection, nothing to fold
                state.input_seq = seq
        return False, held
    finally:
        if moved:
            state.input_seq = seq
