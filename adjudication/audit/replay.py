"""`audit replay`: rebuild everything from seq 0 and compare it with the ledger, entry by entry.
Each answer is re-adjudicated from its input (`runtimes.replay`, the embedded runtime's own
recovery loop); each epoch fact, payment and reconciliation is recomputed from the projections
(`projections.epochs.epoch_steps`, the run clock's own steps); the closing snapshots likewise.
Read-only: nothing here writes to a log.
"""

from __future__ import annotations

import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claimsim.events import vocabulary  # noqa: F401  (registers every event type)
from claimsim.events.acyclic import cycle_gc_paused
from claimsim.events.encoding import canonical
from claimsim.events.heap import give_back_free_memory
from claimsim.events.input_reader import read_checked
from claimsim.events.log import last_envelope, read
from claimsim.events.reference import ReferenceData
from claimsim.events.signing import SIGNATURE_TYPE

from claimsim.adjudication.audit.diff import first_difference
from claimsim.adjudication.audit.replay_passes import (Checked, LedgerSplit, answer_problem,
                                                      check_answers, parts_for)
from claimsim.adjudication.audit.run_dir import require_run
from claimsim.adjudication.engine.context import Settings
from claimsim.adjudication.engine.core import ANSWER_TYPES
from claimsim.adjudication.projections.epochs import CLOCK_FILE, Plan, epoch_steps
from claimsim.adjudication.projections.follower import LedgerFollower, ledger_envelopes
from claimsim.adjudication.projections.settings import ProjectionSettings
from claimsim.adjudication.projections.snapshots import snapshot_batches
from claimsim.adjudication.projections.state import PayerState
from claimsim.adjudication.runtimes.diskstore import RocksStore
from claimsim.adjudication.runtimes.family_storage import auto_cache_families
from claimsim.adjudication.runtimes.processor import PartitionProcessor
from claimsim.adjudication.runtimes.replay import InputMismatch, Replayed, body_of, replay_ledger


# The replay's bound on decoded family states: a quarter of the runtime's (`CACHE_FAMILIES`).
# The run clock folds an epoch's answers after resting its runtime, so its payer state grows into
# pages the family cache gave up; the replay folds each answer as it checks it, between the
# cache's evictions, so the state's small objects settle among the cache's in the same allocator
# pools and keep those pools from ever coming free. Measured on the 100,000-member run's replay:
# writing back its 32,768 decoded states at the first boundary took CPython's allocated blocks
# from 295 MB to 56 MB and the C heap in use from 107 MB to 46 MB.
REPLAY_CACHE = 8_192


@dataclass
class ReplayResult:
    events: int
    difference: str | None  # None: the replay reproduced every entry

    @property
    def ok(self) -> bool:
        return self.difference is None


class ClockSteps:
    """What the run clock should have written that answers no input, one entry at a time: after
    each boundary, its batches of facts and payments (each batch computed only once the previous
    one is folded into the projections, as the live clock did), and the snapshots at the end.

    `rest` is called before each boundary's steps and before the snapshots, as the run clock
    rests its runtime there (`EmbeddedAdjudicator.rest`): the replay's decoded family states go
    back to the scratch store, so that heavy work reuses their memory instead of adding to it;
    and once more when the ledger answers inputs again after a boundary (`settle`), when the
    steps' generator, which holds the last payer's attribution run, is dropped rather than kept
    through the next epoch. The snapshots are computed a batch at a time as the ledger's come
    (`snapshot_batches`, as of the position where they start), not all at once."""

    def __init__(self, state: PayerState, plan: Plan | None, rest: Callable[[], None] = lambda: None):
        self.state, self.plan, self.rest = state, plan, rest
        self.queued: deque[dict[str, Any]] = deque()  # the current batch, not yet seen
        self.batches: Iterator[list[dict[str, Any]]] | None = None  # the boundary's later batches
        self.snapshots: Iterator[list[dict[str, Any]]] | None = None  # closing snapshots' batches
        self.owed = False  # whether a settled boundary had batches left that the ledger lacks

    def unfinished(self) -> bool:
        """Whether the last boundary or the snapshots still owe entries (consumes the boundary's
        remaining batches; the next snapshot owed waits in `queued`)."""
        self._next_snapshot()
        return bool(self.queued) or self.owed or (self.batches is not None and any(self.batches))

    def settle(self) -> None:
        """The ledger answers an input again (called before it is folded): a boundary's steps
        are over. Whether they owed more batches is decided here, from the state the clock
        computed them from, and their generator is dropped; the steps' leftovers are given back."""
        if self.batches is not None:
            self.owed, self.batches = any(self.batches), None
            self.rest()

    def boundary(self, env: dict[str, Any]) -> None:
        """A boundary was folded: its batches come next."""
        self.rest()
        self.owed = False
        self.batches = epoch_steps(self.state, self.plan, str(env["data"]["boundary"]), env["cause"])

    def next_entry(self, kind: str, last_cause: int) -> dict[str, Any] | None:
        """The entry the clock wrote next, or None if it wrote none there."""
        if not self.queued and self.batches is not None:
            self.queued.extend(next((batch for batch in self.batches if batch), []))
            if not self.queued:
                self.batches = None
        self._next_snapshot()
        if not self.queued and kind == "snapshot.taken":  # a (new) set of snapshots starts
            self.rest()
            self.snapshots = snapshot_batches(self.state, cause=last_cause)
            self._next_snapshot()
        return self.queued.popleft() if self.queued else None

    def _next_snapshot(self) -> None:
        """Queue the next batch of snapshots owed, if nothing else is queued and one is."""
        if not self.queued and self.snapshots is not None:
            self.queued.extend(next(self.snapshots, []))


def replay(run_dir: Path | str, *, on_event: Callable[[dict], None] | None = None,
           on_phase: Callable[[str, int], None] | None = None,
           on_inputs: Callable[[int], None] | None = None) -> ReplayResult:
    """Replay the run and name the first entry it does not reproduce. `on_event` is called with
    each entry as it is folded; a run large enough for family passes (`replay_passes`) first
    re-adjudicates its answers in them: `on_phase(what, total)` says when a phase starts (total
    0 when unknown) and `on_inputs(n)` counts the inputs re-adjudicated."""
    with cycle_gc_paused():
        return _replay(require_run(run_dir), on_event, on_phase or (lambda what, total: None),
                       on_inputs or (lambda n: None))


def _replay(run_dir: Path, on_event: Callable[[dict], None] | None,
            on_phase: Callable[[str, int], None], on_inputs: Callable[[int], None]) -> ReplayResult:
    ref = ReferenceData.load(run_dir)
    plan = Plan.load(run_dir) if (run_dir / CLOCK_FILE).exists() else None
    manifest = next(read(run_dir / "ledger"), None)
    if manifest is None or manifest["type"] != "run.manifest":
        return ReplayResult(0, "seq 0: the ledger does not start with a run manifest")
    settings = Settings.from_dict(manifest["data"].get("settings") or {})
    parts = parts_for(run_dir / "input")
    if parts >= 2:
        checked = check_answers(run_dir, parts, ref, settings, on_phase, on_inputs)
        if checked is not None:
            on_phase("folding the ledger and checking what answers no input",
                     _entries(run_dir))
            state, follower = _fold_from(run_dir, ref, plan, manifest)
            result = _fold_checked(run_dir, follower, ClockSteps(state, plan), checked, on_event)
            if result is not None:
                return result
        on_phase("replaying in one pass", _entries(run_dir))
    return _one_pass(run_dir, ref, plan, manifest, settings, on_event)


def _entries(run_dir: Path) -> int:
    last = last_envelope(run_dir / "ledger")
    return 0 if last is None else last["seq"] + 1


def _fold_from(run_dir: Path, ref: ReferenceData, plan: Plan | None, manifest: dict[str, Any]
               ) -> tuple[PayerState, LedgerFollower]:
    """A new payer state and its follower, the manifest folded."""
    state = PayerState(ref, plan.settings.projections if plan else ProjectionSettings())
    follower = LedgerFollower(run_dir, state)
    follower.apply(manifest)
    return state, follower


def _one_pass(run_dir: Path, ref: ReferenceData, plan: Plan | None, manifest: dict[str, Any],
              settings: Settings, on_event: Callable[[dict], None] | None) -> ReplayResult:
    """The replay in one pass over the ledger: each answer re-adjudicated as its entry comes."""
    state, follower = _fold_from(run_dir, ref, plan, manifest)
    ledger = read(run_dir / "ledger", 1)
    # Family states as the embedded runtime keeps them by default (every one in memory for a
    # small run, else a bounded cache over the scratch store, here a smaller one: REPLAY_CACHE);
    # each input is replayed once, so results are not kept.
    cache = auto_cache_families(run_dir / "input")
    processor = PartitionProcessor(ref, settings,
                                   cache_families=None if cache is None else min(cache, REPLAY_CACHE),
                                   keep_results=False)
    n, last_cause = 1, -1
    scratch = tempfile.TemporaryDirectory(prefix="claimsim-replay-")
    store = RocksStore(Path(scratch.name) / "families", scratch=True, cache_mb=32)

    def rest() -> None:
        processor.release(store)
        give_back_free_memory()  # what the cache freed, where the payer state can use it (events.heap)

    clock = ClockSteps(state, plan, rest=rest)
    try:
        # The input as the runtime read it: chain checked, unreadable lines as pseudo-envelopes,
        # plainly written claims and enrollments typed (as the runtime reads them, live and on
        # opening; the engine answers either form alike: tests/engine/test_typed_claims.py).
        inputs = read_checked(run_dir / "input", typed=True)
        for r in replay_ledger(ledger, inputs, processor, store):
            n += 1
            problem = _check(r, clock, last_cause, run_dir)
            if problem is not None:
                return ReplayResult(n, f"seq {r.entry['seq']}{problem}")
            if r.answer is not None:
                last_cause = r.entry["cause"]
                clock.settle()
            follower.apply(r.entry)
            if r.entry["type"] == "epoch.boundary":
                clock.boundary(r.entry)  # its steps are computed from the state that holds it
            if on_event is not None:
                on_event(r.entry)
    except InputMismatch as e:
        return ReplayResult(n + 1, str(e))
    finally:
        store.close()
        scratch.cleanup()
    return _ended(clock, n)


def _ended(clock: ClockSteps, n: int) -> ReplayResult:
    """The replay's result once every entry of the ledger was reproduced."""
    if clock.unfinished():
        return ReplayResult(n, "the ledger ends before events the replay expects"
                               f" ({(clock.queued[0] if clock.queued else {}).get('type', 'more')})")
    return ReplayResult(n, None)


def _fold_checked(run_dir: Path, follower: LedgerFollower, clock: ClockSteps, checked: Checked,
                  on_event: Callable[[dict], None] | None) -> ReplayResult | None:
    """The replay's rest once the passes checked every answer (`checked`): the ledger folded as
    the fold reads it, every entry that answers no input checked as the one pass checks it, and
    the first difference by seq reported, the passes' or this loop's. None when this loop reads
    other entries as answers than the passes' split did (a ledger not in the canonical layout):
    then the caller replays the one-pass way."""
    # Long: one loop over the ledger, with the one pass's checks in the one pass's order.
    difference, first, inputs = checked.difference, checked.first, checked.inputs
    seen = LedgerSplit()  # the answer entries this loop read
    n, last_cause = 1, -1
    for env in ledger_envelopes(run_dir, 1):
        n += 1
        kind, seq = env["type"], env["seq"]
        if kind in ANSWER_TYPES:
            k = seen.answers
            if k >= inputs or env["cause"] != first + k:
                mismatch = InputMismatch(env, first + k if k < inputs else None)
                return ReplayResult(n, str(mismatch)) if k <= checked.split.answers else None
            if difference is not None and seq == difference[0]:
                return ReplayResult(n, f"seq {seq}{difference[2]}") if k == difference[1] else None
            seen.add(seq)
            last_cause = env["cause"]
            clock.settle()
        else:
            if difference is not None and seq >= difference[0]:
                return None  # the split took an entry for an answer that this loop does not
            problem = _check(Replayed(env, None), clock, last_cause, run_dir)
            if problem is not None:  # every answer before it checked, if the split saw them all
                return ReplayResult(n, f"seq {seq}{problem}") if (
                    seen.answers <= checked.split.answers) else None
        follower.apply(env)
        if kind == "epoch.boundary":
            clock.boundary(env)  # its steps are computed from the state that holds it
        if on_event is not None:
            on_event(env)
    if difference is not None or seen != checked.split:
        return None
    return _ended(clock, n)


def _check(r: Replayed, clock: ClockSteps, last_cause: int, run_dir: Path) -> str | None:
    """Why the entry is not what the replay produces (after its seq), or None."""
    env, kind = r.entry, r.entry["type"]
    if r.answer is not None:
        return answer_problem(r)
    if kind in ("run.manifest", SIGNATURE_TYPE):
        return None  # signatures prove who wrote the ledger (audit verify --public-key), not what
    if kind == "epoch.boundary":
        if clock.unfinished():
            return ": the ledger lacks events the previous boundary should have written"
        if clock.plan is None:
            return f": {run_dir / CLOCK_FILE}: no run clock plan to replay epochs"
        if str(env["data"].get("boundary")) not in clock.plan.boundaries:
            return (f": boundary {env['data'].get('boundary')} is not one of {CLOCK_FILE}'s"
                    f" ({', '.join(clock.plan.boundaries)})")
        return None
    want = clock.next_entry(kind, last_cause)
    if want is None:
        return f": {kind} that no step of the replay produces"
    if canonical(want) != canonical(body_of(env)):
        return f" ({kind}): {first_difference(body_of(env), want)}"
    return None
