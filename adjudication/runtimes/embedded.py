"""The embedded runtime: the core run in process over a run directory, as the single writer of
`RUN_DIR/ledger/`. Family states live in a dict; the Context gets the run clock's epoch facts
through `record`. On open it replays the existing ledger (re-adjudicating the inputs it answers,
and checking each answer is reproduced), so a run killed at any point resumes where it stopped:
nothing lost, nothing doubled.
"""

from __future__ import annotations

import datetime as dt
import gc
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson
from tqdm import tqdm

from claimsim import __version__
from claimsim.events import vocabulary  # noqa: F401  (registers every event type)
from claimsim.events.encoding import canonical
from claimsim.events.envelope import new_event
from claimsim.events.errors import UserError
from claimsim.events.ledger import RunManifest
from claimsim.events.log import Fsync, LogWriter, last_envelope, read
from claimsim.events.reference import ReferenceData

from claimsim.adjudication.engine.context import CONTEXT_TYPES, Context, Settings
from claimsim.adjudication.engine.core import ANSWER_TYPES, adjudicate
from claimsim.adjudication.engine.family import FamilyState

RUN_FILE = "run.json"  # optional: {"scenario": ..., "seed": ...} for the manifest
MANIFEST_KEY = "run"


@dataclass
class RunStats:
    """What a run (or the part of it since opening) did."""

    inputs: int = 0
    claims_adjudicated: int = 0  # claim.adjudicated (originals and replacements)
    claims_reversed: int = 0  # claim.reversed (voids)
    claims_rejected: int = 0
    no_effect: int = 0
    plan_paid: int = 0  # cents, net of reversals

    def count(self, event: dict[str, Any]) -> None:
        self.inputs += 1
        kind = event["type"]
        if kind == "claim.adjudicated":  # summed in a local: this runs once per ledger entry
            self.claims_adjudicated += 1
            data = event["data"]
            paid = self.plan_paid
            for line in data["lines"]:
                paid += line["plan_paid"]
            for line in data["reversed_lines"]:
                paid += line["plan_paid"]
            self.plan_paid = paid
        elif kind == "claim.reversed":
            self.claims_reversed += 1
            paid = self.plan_paid
            for line in event["data"]["reversed_lines"]:
                paid += line["plan_paid"]
            self.plan_paid = paid
        elif kind == "claim.rejected":
            self.claims_rejected += 1
        else:
            self.no_effect += 1

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _run_info(run_dir: Path) -> tuple[str, int]:
    path = run_dir / RUN_FILE
    if not path.exists():
        return "unknown", 0
    try:
        info = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as e:
        raise UserError(f"{path}: not JSON ({e})") from None
    if not isinstance(info, dict):
        raise UserError(f"{path}: expected a JSON object")
    scenario, seed = info.get("scenario", "unknown"), info.get("seed", 0)
    if not isinstance(scenario, str) or type(seed) is not int:
        raise UserError(f"{path}: scenario must be a string and seed an integer")
    return scenario, seed


class EmbeddedAdjudicator:
    """Single writer of a run's ledger; adjudicates its input in process.

    `settings` None means: the ones recorded in the ledger's manifest (defaults for a new ledger).
    """

    def __init__(
        self,
        run_dir: Path | str,
        *,
        settings: Settings | None = None,
        batch_size: int = 5000,
        fsync: Fsync | str = Fsync.BATCH,
        check_replay: bool = True,
    ):
        self.run_dir = Path(run_dir)
        if not self.run_dir.is_dir():
            raise UserError(f"{self.run_dir}: no such run directory")
        self.input_dir = self.run_dir / "input"
        if not self.input_dir.is_dir():
            raise UserError(f"{self.input_dir}: the run has no input log")
        try:
            self.reference = ReferenceData.load(self.run_dir)
        except FileNotFoundError as e:
            raise UserError(str(e)) from None
        if batch_size < 1:
            raise UserError("batch size must be at least 1")
        self.batch_size = batch_size
        self.families: dict[str, FamilyState] = {}
        self.stats = RunStats()
        self.next_input = 0
        self.writer = LogWriter(self.run_dir / "ledger", fsync=fsync)
        try:
            settings = self._open_manifest(settings)
            self.context = Context(self.reference, settings)
            self._rebuild(check_replay)
        except BaseException:
            self.writer.close()
            raise

    # -- opening ---------------------------------------------------------------------------
    def _open_manifest(self, settings: Settings | None) -> Settings:
        digest = self.reference.digest()
        if self.writer.next_seq == 0:
            settings = settings or Settings()
            scenario, seed = _run_info(self.run_dir)
            first = next(read(self.input_dir), None)
            manifest = RunManifest(scenario=scenario, seed=seed, code_version=__version__,
                                   reference_digest=digest, settings=settings.to_dict())
            at = first["at"] if first is not None else "0001-01-01"
            self.writer.append(new_event(manifest, at=at, key=MANIFEST_KEY))
            self.writer.commit()
            return settings
        manifest = next(read(self.writer.directory), None)
        if manifest is None or manifest["type"] != "run.manifest":
            raise UserError(f"{self.writer.directory}: the ledger does not start with a run manifest")
        recorded = manifest["data"]
        if recorded["reference_digest"] != digest:
            raise UserError(
                f"{self.run_dir / 'reference.json'}: reference data differs from the one the ledger"
                f" was written with (digest {recorded['reference_digest'][:12]}..., now {digest[:12]}...)"
            )
        try:
            kept = Settings.from_dict(recorded.get("settings") or {})
        except (TypeError, ValueError) as e:
            raise UserError(f"{self.writer.directory}: run manifest settings: {e}") from None
        if settings is not None and settings != kept:
            raise UserError(
                f"{self.writer.directory}: the ledger was written with settings {kept.to_dict()};"
                f" cannot resume with {settings.to_dict()}"
            )
        return kept

    def _rebuild(self, check: bool) -> None:
        """Replay the ledger: epoch facts into the Context, answered inputs into family states."""
        inputs = read(self.input_dir)
        ctx, families = self.context, self.families
        for env in read(self.writer.directory, 1):
            kind = env["type"]
            if kind in ANSWER_TYPES:
                cause = env["cause"]
                inp = next(inputs, None)
                if inp is None or inp["seq"] != cause:
                    raise UserError(
                        f"{self.writer.directory}: ledger seq {env['seq']} answers input {cause},"
                        f" but the input log has {None if inp is None else inp['seq']} there"
                    )
                event, state = adjudicate(inp, families.get(inp["key"]), ctx)
                families[inp["key"]] = state
                if check and canonical({**event, "seq": env["seq"]}) != canonical(
                    {k: env[k] for k in ("type", "v", "at", "key", "cause", "data", "seq")}
                ):
                    raise UserError(
                        f"{self.writer.directory}: ledger seq {env['seq']} (input {cause}) is not"
                        " what this code and reference data produce; was it written by another version?"
                    )
                self.next_input = cause + 1
            elif kind in CONTEXT_TYPES:
                ctx.apply_ledger_event(env)

    # -- running ---------------------------------------------------------------------------
    def pending(self) -> int:
        """How many inputs are written and not yet adjudicated."""
        last = last_envelope(self.input_dir)
        return 0 if last is None else max(0, last["seq"] + 1 - self.next_input)

    def run(self, until_at: dt.date | str | None = None, until_seq: int | None = None,
            progress: bool = False) -> int:
        """Adjudicate input from the next unanswered seq up to, not including, the first input
        with `at >= until_at` or `seq >= until_seq` (or to the end); returns how many."""
        limit_at = until_at.isoformat() if isinstance(until_at, dt.date) else until_at
        bar = tqdm(total=self.pending(), unit="input", file=sys.stderr, disable=not progress,
                   mininterval=0.5)
        ctx, families, writer, stats = self.context, self.families, self.writer, self.stats
        batch_size = self.batch_size
        expected = self.next_input
        n = 0
        batch: list[dict[str, Any]] = []
        # The family states are trees of dicts and lists (no reference cycles), and they grow
        # with the run: the cyclic GC would rescan all of them every few thousand allocations,
        # which cost more than half the run's time. Reference counting frees everything here.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            for env in read(self.input_dir, expected):
                seq = env["seq"]
                if until_seq is not None and seq >= until_seq:
                    break
                if limit_at is not None and env["at"] >= limit_at:
                    break
                if seq != expected:
                    raise UserError(f"{self.input_dir}: input seq {seq} follows {expected - 1}")
                key = env["key"]
                event, state = adjudicate(env, families.get(key), ctx)
                families[key] = state
                batch.append(event)
                expected = seq + 1
                if len(batch) >= batch_size:
                    n += self._write(batch)
                    self.next_input = expected
                    bar.update(len(batch))
                    batch = []
        finally:
            n += self._write(batch)
            self.next_input = expected
            bar.update(len(batch))
            bar.close()
            if gc_was_enabled:
                gc.enable()
        return n

    def _write(self, batch: list[dict[str, Any]]) -> int:
        """Append a batch of answers and commit it (one flush, and fsync per the log's policy)."""
        count = self.stats.count
        for event in batch:
            count(event)
        return self.writer.extend(batch)

    def record(self, ledger_events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Append non-input ledger events (attribution, practice status, payments, snapshots)
        through the ledger's one writer, and apply the epoch facts among them to the Context.

        As with `LogWriter.append`, the log takes ownership of the event dicts (they gain seq,
        prev and hash); the stored envelopes are returned."""
        out = []
        for event in ledger_events:
            if event["type"] in ANSWER_TYPES:
                raise ValueError(f"{event['type']} answers an input: only run() writes those")
            env = self.writer.append(event)
            self.context.apply_ledger_event(env)
            out.append(env)
        self.writer.commit()
        return out

    def close(self) -> None:
        self.writer.close()

    def __enter__(self) -> EmbeddedAdjudicator:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def adjudicate_run(
    run_dir: Path | str,
    *,
    settings: Settings | None = None,
    until_at: dt.date | str | None = None,
    until_seq: int | None = None,
    progress: bool = False,
    batch_size: int = 5000,
) -> RunStats:
    """Open the run's ledger, adjudicate its pending input (to `until_at`/`until_seq`), close."""
    with EmbeddedAdjudicator(run_dir, settings=settings, batch_size=batch_size) as runtime:
        runtime.run(until_at=until_at, until_seq=until_seq, progress=progress)
        return runtime.stats
