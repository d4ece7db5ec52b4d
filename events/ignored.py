"""The inputs a run's adjudication ignored: an enrollment, termination, alignment or quality report
it answered `no_effect` with a note saying why (malformed, a plan its payer does not have, sent
under another family's key, ...; `adjudication.engine.core`). An applied input's note is empty.

Everything built from a run leaves an ignored input out, as the adjudication did: the projections'
fold (`fold.follow`, as it meets each answer), and the readers that read the input log beside the
ledger (`audit explain claim`, `export`, the aligned reports), through `ignored_inputs`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from claimsim.events.log import envelope_of, raw_lines

NO_EFFECT = "no_effect"
# In every `no_effect` line the log writes (canonical JSON); also in a few others (a hostile key
# may hold it), which the decoding then sets aside.
_MARKER = b'"type":"no_effect"'
_CAUSE = b',"cause":'
_CAUSE_WITHIN = 48  # `{"at":"` and a date (or a hostile `at` of some length) before it


def is_ignored(data: Any) -> bool:
    """Whether a `no_effect` answer's data says its input was ignored (a note saying why)."""
    return type(data) is dict and bool(data.get("note"))


def ignored_inputs(ledger: Path | str) -> frozenset[int]:
    """The input seqs the ledger answers as ignored: one pass of its lines, decoding only those
    that may be a `no_effect` (a sixth of a simulated run's)."""
    return answered_inputs(ledger)[0]


def answered_inputs(ledger: Path | str) -> tuple[frozenset[int], int]:
    """(`ignored_inputs`, the last input seq the ledger answers: -1 for none) in one pass. Inputs
    are answered in seq order, so every input through the second is answered and none after it
    (a run adjudicated part way: `adjudicate --until`, the run clock between epochs)."""
    seqs = set()
    last = -1
    for line in raw_lines(ledger):
        # An answer's line starts `{"at":"<date>","cause":<seq>,` (canonical key order); every
        # other entry's cause is null. A line laid out otherwise is decoded.
        start = line.find(_CAUSE, 0, _CAUSE_WITHIN)
        if start < 0:
            cause = envelope_of(line).get("cause")
        else:
            start += len(_CAUSE)
            value = line[start:line.find(b",", start)]
            cause = (int(value) if value.isdigit() else None if value == b"null"
                     else envelope_of(line).get("cause"))
        if type(cause) is int and cause > last:
            last = cause
        if _MARKER in line:
            env = envelope_of(line)
            if env["type"] == NO_EFFECT and is_ignored(env["data"]):
                seqs.add(env["cause"])
    return frozenset(seqs), last
