"""Reading a run's logs into the projections: the ledger entry by entry, the input log pulled
along up to each entry's `cause` (so the state sees inputs exactly as the payer had them), fast
paths for the million-event case.

Claims are most of the input. A ledger whose claim entries carry their lines' diagnoses (v2) needs
nothing from them: their lines are skipped unparsed. A v1 ledger's claim entries did not record
diagnoses, so the claims' diagnoses are read from the input as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from claimsim.events.input_reader import readable_envelope
from claimsim.events.log import envelope_of, segments

from claimsim.adjudication.projections.diagnoses import claim_conditions
from claimsim.adjudication.projections.entries import fold_envelopes, tail_marker
from claimsim.adjudication.projections.fold.follow import (  # noqa: F401 (importable here)
    follow, is_current_claim_line, pass_input)
from claimsim.adjudication.projections.fold.stream import input_lines
from claimsim.adjudication.projections.state import PayerState


class LedgerFollower:
    """Feeds a PayerState from a run directory: each ledger entry, after every input event up to
    the input seq it answers (its `cause`), so the state sees inputs exactly as the payer had them.

    Implements the `events.projection.Projection` protocol over the ledger; the input position
    travels inside the state, so a checkpoint restores both.
    """

    def __init__(self, run_dir: Path | str, state: PayerState):
        self.run_dir = Path(run_dir)
        self.state_obj = state
        self.name = state.name
        self._input: Iterator[bytes] | None = None  # input lines from st.input_seq + 1 on
        self._held: bytes | None = None  # the next input line, read but not yet applied
        # Whether the ledger's claim entries carry diagnoses: a property of the ledger (its first
        # claim entry's version; a ledger without one yet is being written by this code), fixed
        # for the follower's life so that where it stops reading never depends on its history.
        self.dx_on_ledger = ledger_records_diagnoses(self.run_dir / "ledger")
        state.input_dx_skipped = self.dx_on_ledger  # the fold refuses a claim entry without them
        # A PayerState's handlers, for `fold.follow.follow` to apply entries with directly (the
        # state's `apply` does the same, one Python call later); None for any other state.
        self.fold_handlers = state._handlers if type(state).apply is PayerState.apply else None

    def _pull_input(self, upto: int) -> None:
        """Apply the input through seq `upto`. Claims past it are read ahead to the end of its
        block of READ_AHEAD seqs (their diagnoses wait by seq, so order does not matter for
        them), stopping before any other input past `upto`: one pull then serves many ledger
        entries. The stopping point depends only on the position and `upto`, so a checkpointed
        state resumes exactly as an uninterrupted one goes on. The pass itself is
        `fold.follow.pass_input` (compiled with the fold)."""
        st = self.state_obj
        if self._input is None:
            self._input = input_lines(self.run_dir / "input", st.input_seq + 1)
            self._held = None
        block_end = (upto // READ_AHEAD + 1) * READ_AHEAD - 1
        conditions = None if self.dx_on_ledger else claim_conditions  # v1: from the input
        ended, self._held = pass_input(st, self._input, self._held, upto, block_end,
                                       claim_line_marker(), conditions, readable_envelope)
        if ended:  # the input ends here for now: reopen next time
            self._input = None

    def _pass_over(self, seq: int) -> None:
        """Apply the input before seq `seq`, then move past `seq` without applying it: an input
        the core ignored (its `no_effect` note says why), which is never a claim, so the pull
        stops with it held or next to read."""
        self._pull_input(seq - 1)
        st = self.state_obj
        if st.input_seq != seq - 1:
            return  # past it already, or the input ends before it (left as `_pull_input` leaves it)
        if self._held is None:
            if self._input is None:
                self._input = input_lines(self.run_dir / "input", st.input_seq + 1)
            if next(self._input, None) is None:
                self._input = None
                return  # the input ends before it
        self._held = None
        st.input_seq = seq

    def apply(self, envelope: dict[str, Any]) -> None:
        """The input through the entry's `cause`, then the entry (`fold.follow.follow`)."""
        follow(self, self.state_obj, self.fold_handlers, envelope)

    def envelopes(self, log_dir: Path, from_seq: int = 0) -> Iterator[dict[str, Any]]:
        """The ledger as the fold reads it (`entries.fold_envelopes`), for `ProjectionRunner`."""
        return fold_envelopes(log_dir, from_seq)

    def state(self) -> Any:
        return self.state_obj.state()

    def state_pieces(self):
        return self.state_obj.state_pieces()

    def restore(self, state: Any) -> None:
        self.state_obj.restore(state)
        self._input, self._held = None, None


READ_AHEAD = 1024


def carries_diagnoses(envelope: dict[str, Any]) -> bool:
    """Whether a claim entry records its lines' diagnoses (v2; upcast v1 lines hold None)."""
    data = envelope["data"]
    lines = data.get("lines") or data.get("reversed_lines")
    return bool(lines) and lines[0].get("diagnoses") is not None


# A claim entry's envelope ends `"type":"claim.adjudicated","v":N,"prev":...` (canonical order;
# only data strings could hold such text, and there its quotes are escaped).
_CLAIM_ENTRY = (b',"type":"claim.adjudicated","v":', b',"type":"claim.reversed","v":')
_CHUNK = 1 << 20


def ledger_records_diagnoses(ledger: Path) -> bool:
    """Whether the ledger's first claim entry carries its lines' diagnoses (v2 on), or it has no
    claim entry yet (this code writes them). A bytes search of the segments, then one decode: a
    ledger opens with a manifest and one answer per enrollment before its first claim."""
    if not ledger.is_dir():
        return True
    for _, path in segments(ledger):
        with open(path, "rb") as f:
            buf = b""
            while chunk := f.read(_CHUNK):
                buf += chunk
                hits = [i for m in _CLAIM_ENTRY if (i := buf.find(m)) >= 0]
                end = buf.find(b"\n", min(hits)) if hits else -1
                if end >= 0:
                    line = buf[buf.rfind(b"\n", 0, min(hits)) + 1:end + 1]
                    return carries_diagnoses(envelope_of(line))
                buf = buf[buf.rfind(b"\n") + 1:]  # the line in progress, if any
    return True


def claim_line_marker() -> bytes:
    """What ends a claim.submitted line at the current version, up to its chain fields (the one
    place that reads an envelope's type from its bytes is `fold.follow.is_current_claim_line`)."""
    return tail_marker("claim.submitted")


def ledger_envelopes(run_dir: Path | str, from_seq: int = 0) -> Iterator[dict[str, Any]]:
    """A run's ledger as the fold reads it, from `from_seq` (`entries.fold_envelopes`: raw
    envelopes as `events.log.read` gives them, upcast or refused, claim entries holding only the
    fields the fold reads, without their `hash`). For the fold only: a reader of other fields
    takes `read`; `ProjectionRunner`, which records the hash it folded to, `envelopes`."""
    return fold_envelopes(Path(run_dir) / "ledger", from_seq, chain=False)


