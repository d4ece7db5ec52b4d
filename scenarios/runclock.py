"""The run clock (DESIGN.md "The run clock"): simulate a region into a run directory, then pay it
epoch by epoch on a runtime (embedded by default; `kafka_runtime` builds the Kafka one, whose
ledger is byte-identical). The clock knows a runtime only through the `Runtime` seam. A baseline is paid as if nobody were attributed; at each
boundary B the clock adjudicates every claim received before B, records the boundary, then the
epoch's facts and payments, computed from the projections of the ledger so far by
`adjudication.projections.epochs.epoch_steps` (the one definition, which `audit replay` also
uses). After the run-out it closes with a final boundary and the monthly snapshots, then marks the
run paid (`run_state.PAID_MARK`) and writes the projection checkpoint (each boundary's practice
lists are written as it closes); the CLI then writes reports/.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import orjson
from tqdm import tqdm

from claimsim.events.acyclic import cycle_gc_paused
from claimsim.events.errors import UserError
from claimsim.events.heap import give_back_free_memory
from claimsim.events.log import last_envelope
from claimsim.events.projection import ProjectionRunner
from claimsim.events.signing import Signer

from claimsim.adjudication.projections.epochs import (CHECKPOINT, CLOCK_FILE, ClockSettings, Plan,
                                                      boundary_event, epoch_steps, plan_for)
from claimsim.adjudication.audit.tables import ATTRIBUTION_COLUMNS, csv_batches, iter_attribution_rows
from claimsim.adjudication.projections.attribution import AttributionRun
from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator
from claimsim.adjudication.runtimes.protocol import Runtime, Until
from claimsim.adjudication.projections.snapshots import snapshot_batches
from claimsim.adjudication.projections.follower import LedgerFollower
from claimsim.adjudication.projections.state import PayerState
from claimsim.scenarios.run_state import mark_paid, practice_list, unmark_paid

__all__ = ["CHECKPOINT", "CLOCK_FILE", "ClockResult", "ClockSettings", "Plan", "embedded_runtime",
           "epoch_steps", "kafka_runtime", "pay", "plan_for", "run"]

OpenRuntime = Callable[..., Runtime]  # (run_dir, *, signer) -> a Runtime


@dataclass
class ClockResult:
    run_dir: Path
    plan: Plan
    state: PayerState
    ledger_events: int


def start_plan(run_dir: Path, settings: ClockSettings, months: int | None) -> Plan:
    """The run's boundaries from its run.json, written to runclock.json (once: the clock records
    each boundary once, so a second pass would append them again)."""
    info_path = run_dir / "run.json"
    if not info_path.exists():
        raise UserError(f"{info_path}: no run.json (simulate the run first)")
    info = orjson.loads(info_path.read_bytes())
    if (run_dir / CLOCK_FILE).exists():
        raise UserError(f"{run_dir / CLOCK_FILE}: this run was already paid by the run clock"
                        " (audit it with `claimsim audit`, or simulate a fresh run)")
    plan = plan_for(info["start"], months or info["months"], info["horizon"], settings)
    (run_dir / CLOCK_FILE).write_bytes(plan.to_json() + b"\n")
    return plan


def close_epoch(run_dir: Path, state: PayerState, plan: Plan, epoch: int, boundary: str,
                cause: int, record: Callable[[list[dict[str, Any]]], None]) -> None:
    """At a boundary, once every claim received before it is adjudicated (`cause` = the last
    input answered): record the boundary, then each batch of the epoch's facts and payments
    (each computed after the previous is folded into `state`), and write the practice lists.
    Both runtimes' clocks close epochs with this one function."""
    record([boundary_event(epoch, boundary, cause)])
    with practice_lists(run_dir, boundary) as publish:
        for batch in epoch_steps(state, plan, boundary, cause, publish):
            if batch:
                record(batch)


def embedded_runtime(run_dir: Path | str, *, signer: Signer | None = None) -> EmbeddedAdjudicator:
    """The clock's embedded runtime: `EmbeddedAdjudicator` without the family cache's look-ahead
    (`runtimes.lookahead`). The clock folds a payer's whole population beside the cache, and the
    look-ahead's maps, small objects made and dropped all through adjudication, leave the heap
    the payer state grows in fragmented: at 1,000,000 members `claimsim run` peaked at
    1,917,812 KiB with it against 1,864,700 without (same ledger and reports; one run each, and
    runs of one code have differed by 44 MiB), for 6 % of its CPU (1,169 s against 1,247). `run`
    is the step with the least margin under 2 GB; `claimsim adjudicate`, with no payer state,
    keeps the look-ahead."""
    return EmbeddedAdjudicator(run_dir, signer=signer, lookahead=False)


def pay(run_dir: Path | str, *, settings: ClockSettings | None = None, months: int | None = None,
        progress: bool = False, runtime: OpenRuntime = embedded_runtime,
        signer: Signer | None = None) -> ClockResult:
    """Pay a simulated run directory epoch by epoch (its run.json gives start, months, horizon)
    on the runtime `runtime(run_dir, signer=signer)` opens. With a `signer`, the ledger's head is
    signed after the manifest (by the runtime), after each epoch's facts and payments, and at the
    end (events.signing): the same positions whichever runtime adjudicates."""
    run_dir = Path(run_dir)
    settings = settings or ClockSettings()
    plan = start_plan(run_dir, settings, months)
    with runtime(run_dir, signer=signer) as rt:
        # One bar over the inputs, advanced as each batch is written: at a million members an
        # epoch's adjudication takes minutes.
        bar = tqdm(total=rt.progress().pending, unit="input", file=sys.stderr,
                   disable=not progress, mininterval=0.5)
        state = PayerState(rt.reference, settings.projections)
        follower = LedgerFollower(run_dir, state)
        # Checkpointed once, at the end: the live run folds every entry as it is written.
        runner = ProjectionRunner(run_dir / "ledger", follower)

        def record(events: list[dict[str, Any]]) -> None:
            for env in rt.record(events):
                follower.apply(env)
                runner.last_seq, runner.last_hash = env["seq"], env["hash"]

        def fold_answers() -> int:
            """Fold what the runtime wrote; the last input answered."""
            runner.run()
            return rt.progress().answered - 1

        for epoch, boundary in enumerate(plan.boundaries, start=1):
            bar.set_description(f"epoch {epoch}/{len(plan.boundaries)} to {boundary}")
            rt.adjudicate(Until(at=boundary), progress=bar)
            bar.set_description(f"epoch {epoch}/{len(plan.boundaries)}: paying")
            rt.rest()  # the boundary's attribution, risk and payments reuse the runtime's cache
            give_back_free_memory()  # what the cache freed, where they cannot reuse it (events.heap)
            with cycle_gc_paused():
                close_epoch(run_dir, state, plan, epoch, boundary, fold_answers(), record)
            rt.sign_head()
        rt.adjudicate(progress=bar)  # anything received on or after the horizon (none normally)
        bar.set_description("closing snapshots")
        rt.rest()
        with cycle_gc_paused():
            for batch in snapshot_batches(state, cause=fold_answers()):
                record(batch)
        rt.sign_head()
        fold_answers()  # the signature too: the checkpoint covers the whole ledger
        mark_paid(run_dir, runner.last_seq, runner.last_hash)  # a stop from here keeps the payment
        save_checkpoint(run_dir, state, runner.last_seq, runner.last_hash)
        unmark_paid(run_dir)
    give_back_free_memory()  # the closed runtime's pages, before the caller's reports
    bar.close()
    last = last_envelope(run_dir / "ledger")
    return ClockResult(run_dir, plan, state, 0 if last is None else last["seq"] + 1)


def save_checkpoint(run_dir: Path, state: PayerState, last_seq: int, last_hash: str) -> None:
    """The payer state's checkpoint (`CHECKPOINT`), folded through the ledger entry `last_seq`
    (whose hash is `last_hash`): at the end of a payment, and by a resume that finds the
    payment whole and its checkpoint not written (`scenarios.run.report_paid`)."""
    runner = ProjectionRunner(run_dir / "ledger", state)  # (given the path, it would load one)
    runner.last_seq, runner.last_hash, runner.checkpoint = last_seq, last_hash, run_dir / CHECKPOINT
    runner.save_checkpoint()


def kafka_runtime(options=None) -> OpenRuntime:
    """What `pay(runtime=...)` opens to adjudicate on Kafka (`claimsim run --runtime kafka`);
    `options`: a `streaming.runtime.KafkaOptions` (default: the environment's broker, one
    partition, one worker). Imported when used: faust is slow to import."""
    from claimsim.adjudication.runtimes.streaming.runtime import KafkaRuntime

    return lambda run_dir, signer=None: KafkaRuntime(run_dir, options, signer=signer)


@contextmanager
def practice_lists(run_dir: Path, boundary: str) -> Iterator[Callable[[AttributionRun], None]]:
    """The practice lists of one boundary (who, and why: basis, visits, last visit), as the LAN
    blueprint asks payers to share them: reports/attribution_<boundary>.csv (as `claimsim
    attribute` names them), in (payer, practice, member) order. Each payer's attribution run is
    written as it comes (payers come in id order), so no boundary holds every member's row."""
    with csv_batches(run_dir / practice_list(boundary), ATTRIBUTION_COLUMNS) as write:
        yield lambda run: write(iter_attribution_rows([run]))


def run(sim_config, run_dir: Path | str, *, settings: ClockSettings | None = None,
        progress: bool = False) -> ClockResult:
    """`claimsim run` as a library call: simulate into a fresh `run_dir`, then pay it."""
    from claimsim.simulator.run_dir import simulate_to_dir

    simulate_to_dir(sim_config, run_dir, progress=progress)
    return pay(run_dir, settings=settings, months=sim_config.months, progress=progress)
