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
from claimsim.events.log import read
from claimsim.events.reference import ReferenceData
from claimsim.events.signing import SIGNATURE_TYPE

from claimsim.adjudication.audit.diff import first_difference
from claimsim.adjudication.audit.run_dir import require_run
from claimsim.adjudication.engine.context import Settings
from claimsim.adjudication.projections.epochs import CLOCK_FILE, Plan, epoch_steps
from claimsim.adjudication.projections.follower import LedgerFollower
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


def replay(run_dir: Path | str, *, on_event: Callable[[dict], None] | None = None) -> ReplayResult:
    """Replay the run and name the first entry it does not reproduce."""
    with cycle_gc_paused():
        return _replay(require_run(run_dir), on_event)


def _replay(run_dir: Path, on_event: Callable[[dict], None] | None) -> ReplayResult:
    ref = ReferenceData.load(run_dir)
    plan = Plan.load(run_dir) if (run_dir / CLOCK_FILE).exists() else None
    state = PayerState(ref, plan.settings.projections if plan else ProjectionSettings())
    follower = LedgerFollower(run_dir, state)
    ledger = read(run_dir / "ledger")
    manifest = next(ledger, None)
    if manifest is None or manifest["type"] != "run.manifest":
        return ReplayResult(0, "seq 0: the ledger does not start with a run manifest")
    follower.apply(manifest)
    # Family states as the embedded runtime keeps them by default (every one in memory for a
    # small run, else a bounded cache over the scratch store, here a smaller one: REPLAY_CACHE);
    # each input is replayed once, so results are not kept.
    cache = auto_cache_families(run_dir / "input")
    processor = PartitionProcessor(ref, Settings.from_dict(manifest["data"].get("settings") or {}),
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
    if clock.unfinished():
        return ReplayResult(n, "the ledger ends before events the replay expects"
                               f" ({(clock.queued[0] if clock.queued else {}).get('type', 'more')})")
    return ReplayResult(n, None)


def _check(r: Replayed, clock: ClockSteps, last_cause: int, run_dir: Path) -> str | None:
    """Why the entry is not what the replay produces (after its seq), or None."""
    env, kind = r.entry, r.entry["type"]
    if r.answer is not None:
        return None if r.reproduced else (
            f" ({kind}, input {env['cause']}): {first_difference(body_of(env), r.expected)}")
    if kind in ("run.manifest", SIGNATURE_TYPE):
        return None  # signatures prove who wrote the ledger (audit verify --public-key), not what
    if kind == "epoch.boundary":
        if clock.unfinished():
            return ": the ledger lacks events the previous boundary should have written"
        if clock.plan is None:
            return f": {run_dir / CLOCK_FILE}: no run clock plan to replay epochs"
        return None
    want = clock.next_entry(kind, last_cause)
    if want is None:
        return f": {kind} that no step of the replay produces"
    if canonical(want) != canonical(body_of(env)):
        return f" ({kind}): {first_difference(body_of(env), want)}"
    return None
