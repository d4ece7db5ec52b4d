"""Reading a run directory for an audit: check it is one, the projection settings the run clock
used, and `fold`, the projections rebuilt from seq 0 up to a ledger seq or date.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import orjson

from claimsim.events.acyclic import cycle_gc_paused
from claimsim.events.errors import UserError
from claimsim.events.log import read, segments
from claimsim.events.processes import raise_dropped_stop
from claimsim.events.reference import ReferenceData

from claimsim.adjudication.projections.epochs import CLOCK_FILE, Plan
from claimsim.adjudication.projections.follower import LedgerFollower
from claimsim.adjudication.projections.settings import ProjectionSettings
from claimsim.adjudication.projections.state import PayerState

LOGS = ("input", "truth", "ledger")


def require_run(run_dir: Path | str) -> Path:
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise UserError(f"{run_dir}: not a directory (give the run directory itself)")
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: no such run directory")
    for name in ("input", "ledger"):
        if not (run_dir / name).is_dir() or not segments(run_dir / name):
            raise UserError(f"{run_dir / name}: missing or empty log (is this a run directory?)")
    return run_dir


def projection_settings(run_dir: Path) -> ProjectionSettings:
    if not (run_dir / CLOCK_FILE).exists():
        return ProjectionSettings()
    return Plan.load(run_dir).settings.projections  # a damaged plan: a one-line error


PROGRESS_EVERY = 65_536  # entries folded between two `on_progress` calls


def fold(run_dir: Path | str, *, until_seq: int | None = None,
         on_event: Callable[[dict], None] | None = None,
         on_progress: Callable[[int], None] | None = None) -> PayerState:
    """The projections rebuilt from seq 0, up to a ledger seq (inclusive). "As of a date" is a
    ledger position too (`audit.as_of.ledger_position`), never a filter on ledger dates: those are
    paid dates, not in log order. `on_progress(n)`: n more entries folded (every
    `PROGRESS_EVERY`, and at the end), for a progress bar that costs the fold nothing per entry."""
    run_dir = require_run(run_dir)
    state = PayerState(ReferenceData.load(run_dir), projection_settings(run_dir))
    expected = 0  # the seq the next entry must have: a damaged ledger is an error, not a crash
    try:
        follower = LedgerFollower(run_dir, state)
        # Only the fold reads the entries unless `on_event` is given (claim entries hold only
        # the fields the fold reads: `projections.entries`).
        envelopes = (read if on_event is not None else follower.envelopes)(run_dir / "ledger")
        if on_progress is not None:
            envelopes = _counted(envelopes, on_progress)
        with cycle_gc_paused():
            for env in envelopes:
                if env.get("seq") != expected:
                    raise _damaged(run_dir, expected, f"found seq {env.get('seq')!r} there")
                if until_seq is not None and expected > until_seq:
                    break
                follower.apply(env)
                if on_event is not None:
                    on_event(env)
                expected += 1
    except orjson.JSONDecodeError as e:
        raise _damaged(run_dir, expected, f"a line is not JSON: {e}") from None
    return state


def _damaged(run_dir: Path, seq: int, what: str) -> UserError:
    folded = f"; folded through seq {seq - 1:,}" if seq else ""
    return UserError(f"{run_dir / 'ledger'}: cannot fold the ledger ({what}{folded});"
                     " `claimsim audit verify` names the damage")


def _counted(envelopes: Iterator[dict], on_progress: Callable[[int], None]) -> Iterator[dict]:
    """`envelopes`, with `on_progress(n)` every `PROGRESS_EVERY` of them and for the rest when
    they end (the fold without a bar pays nothing for it)."""
    taken = 0
    try:
        for env in envelopes:
            yield env
            taken += 1
            if taken == PROGRESS_EVERY:
                on_progress(taken)
                taken = 0
                raise_dropped_stop()  # a Ctrl-C or kill Python dropped (in a finalizer)
    finally:
        if taken:
            on_progress(taken)
