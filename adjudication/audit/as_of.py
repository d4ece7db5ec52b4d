"""Where "as of a date D" sits in a run's ledger (DOMAIN.md §7): the run clock's position on D,
the answers to every input received before D plus the epoch facts of boundaries on or before D.

The run clock adjudicates "every input before the first one dated on or after the boundary", then
records the boundary's facts; so the position is a prefix of the ledger, found from the input log's
dates (when each input was received), never from ledger dates (paid dates are not in log order: a
claim received before D may be paid after it, and the run used it at D).

Choices where DOMAIN.md is silent: entries that neither answer an input nor belong to an epoch
(the run manifest, ledger signatures) go with the prefix they sit in.
"""

from __future__ import annotations

from pathlib import Path

from claimsim.events.input_reader import read_checked
from claimsim.events.log import read

# Ledger entries that answer one input each (their `cause` is that input's seq).
ANSWERS = frozenset({"claim.adjudicated", "claim.reversed", "claim.rejected", "no_effect"})
# Ledger entries a boundary records, dated (`at`) on that boundary.
EPOCH_FACTS = frozenset({"epoch.boundary", "attribution.assigned", "attribution.corrected",
                         "practice.status", "payment.prospective", "snapshot.taken"})


def first_input_on_or_after(run_dir: Path | str, day: str) -> int:
    """The seq of the first input dated on or after `day` (one past the last input if none): the
    run clock's cut for a boundary on `day`. The input is read as the runtime read it
    (`read_checked`): a line it could not read is dated as the line before it, as the runtime
    dated its rejection, so `--until` and this cut agree on it."""
    seq = 0
    for env in read_checked(Path(run_dir) / "input"):
        if env["at"] >= day:
            return env["seq"]
        seq = env["seq"] + 1
    return seq


def ledger_position(run_dir: Path | str, day: str) -> int:
    """The last ledger seq of the run's position on `day` (-1: nothing yet)."""
    cut = first_input_on_or_after(run_dir, day)
    last = -1
    for env in read(Path(run_dir) / "ledger"):
        kind = env["type"]
        if kind in ANSWERS:
            if env["cause"] >= cut:
                break
        elif kind in EPOCH_FACTS and env["at"] > day:
            break
        last = env["seq"]
    return last
