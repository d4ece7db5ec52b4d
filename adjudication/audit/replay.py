"""Auditing a run directory: verify every chain and the projection checkpoint, replay the whole
ledger from seq 0 (re-adjudicating every input and recomputing every epoch fact, payment and
snapshot) against what was written, rebuild the projections as of any seq or date, and find where
two runs diverge. Read-only: nothing here writes to a log.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from claimsim.events import vocabulary  # noqa: F401  (registers every event type)
from claimsim.events.encoding import canonical
from claimsim.events.errors import UserError
from claimsim.events.log import read, segments, verify
from claimsim.events.reference import ReferenceData

from claimsim.adjudication.projections.epochs import CHECKPOINT, CLOCK_FILE, Plan, epoch_steps
from claimsim.adjudication.engine.context import CONTEXT_TYPES, Context, Settings
from claimsim.adjudication.engine.core import ANSWER_TYPES, adjudicate
from claimsim.adjudication.projections.snapshots import all_snapshots
from claimsim.adjudication.projections.follower import (LedgerFollower, cycle_gc_paused,
                                                      ledger_envelopes)
from claimsim.adjudication.projections.settings import ProjectionSettings
from claimsim.adjudication.projections.state import PayerState

LOGS = ("input", "truth", "ledger")
BODY = ("type", "v", "at", "key", "cause", "data")


def require_run(run_dir: Path | str) -> Path:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: no such run directory")
    for name in ("input", "ledger"):
        if not (run_dir / name).is_dir() or not segments(run_dir / name):
            raise UserError(f"{run_dir / name}: missing or empty log (is this a run directory?)")
    return run_dir


def projection_settings(run_dir: Path) -> ProjectionSettings:
    path = run_dir / CLOCK_FILE
    if not path.exists():
        return ProjectionSettings()
    return ProjectionSettings.model_validate(orjson.loads(path.read_bytes())["settings"]["projections"])


def fold(run_dir: Path | str, *, until_seq: int | None = None, until_date: str | None = None,
         before_date: str | None = None, on_event: Callable[[dict], None] | None = None) -> PayerState:
    """The projections rebuilt from seq 0, up to a ledger seq (inclusive), or over entries dated on
    or before `until_date` (or strictly before `before_date`)."""
    run_dir = require_run(run_dir)
    state = PayerState(ReferenceData.load(run_dir), projection_settings(run_dir))
    follower = LedgerFollower(run_dir, state)
    with cycle_gc_paused():
        for env in ledger_envelopes(run_dir):
            if until_seq is not None and env["seq"] > until_seq:
                break
            if until_date is not None and env["at"] > until_date:
                break
            if before_date is not None and env["at"] >= before_date:
                break
            follower.apply(env)
            if on_event is not None:
                on_event(env)
    return state


@dataclass
class Check:
    name: str
    ok: bool
    message: str


def verify_run(run_dir: Path | str) -> list[Check]:
    """Every log's hash chain, then the projection checkpoint: its position must be an entry of
    the ledger, and replaying the ledger to it must give its state byte for byte."""
    run_dir = require_run(run_dir)
    checks = []
    for name in LOGS:
        if not (run_dir / name).is_dir():
            continue
        r = verify(run_dir / name)
        checks.append(Check(f"{name}/", r.ok, f"{r.count:,} events, chain intact" if r.ok else
                            f"broken at seq {r.seq}: {r.problem.value}: {r.message} ({r.location})"))
    path = run_dir / CHECKPOINT
    if path.exists():
        saved = orjson.loads(path.read_bytes())
        seq, digest = saved["last_seq"], saved["last_hash"]
        entry = next(read(run_dir / "ledger", seq), None) if seq >= 0 else None
        if entry is None or entry["seq"] != seq or entry["hash"] != digest:
            checks.append(Check(str(CHECKPOINT), False, f"checkpoint at seq {seq} does not match the ledger"))
        else:
            rebuilt = fold(run_dir, until_seq=seq).state()
            same = canonical(rebuilt) == canonical(saved["state"])
            checks.append(Check(str(CHECKPOINT), same, f"state at seq {seq:,} reproduced by replay" if same
                                else f"state at seq {seq} differs from a replay ({_first_difference(saved['state'], rebuilt)})"))
    return checks


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    """The first path at which two JSON values differ, with both values (shortened)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b or a[k] != b[k]:
                if k in a and k in b:
                    return _first_difference(a[k], b[k], f"{path}.{k}" if path else str(k))
                return f"{path}.{k}: only in {'the ledger' if k in a else 'the replay'}"
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
        if len(a) != len(b):
            return f"{path}: {len(a)} items vs {len(b)}"
    return f"{path or '(value)'}: {_short(a)} vs {_short(b)}"


def _short(v: Any) -> str:
    s = orjson.dumps(v).decode()
    return s if len(s) <= 80 else s[:77] + "..."


@dataclass
class ReplayResult:
    events: int
    difference: str | None  # None: the replay reproduced every entry

    @property
    def ok(self) -> bool:
        return self.difference is None


def replay(run_dir: Path | str, *, on_event: Callable[[dict], None] | None = None) -> ReplayResult:
    with cycle_gc_paused():
        return _replay(run_dir, on_event)


def _replay(run_dir: Path | str, on_event: Callable[[dict], None] | None) -> ReplayResult:
    """Rebuild everything from seq 0 and compare with the ledger, entry by entry: each answer by
    re-adjudicating its input; each epoch fact, payment and reconciliation by recomputing the
    boundary's batches (`runclock.epoch_steps`) from the projections; snapshots likewise."""
    run_dir = require_run(run_dir)
    ref = ReferenceData.load(run_dir)
    plan = Plan.load(run_dir) if (run_dir / CLOCK_FILE).exists() else None
    state = PayerState(ref, plan.settings.projections if plan else ProjectionSettings())
    follower = LedgerFollower(run_dir, state)
    ledger = ledger_envelopes(run_dir)
    manifest = next(ledger, None)
    if manifest is None or manifest["type"] != "run.manifest":
        return ReplayResult(0, "seq 0: the ledger does not start with a run manifest")
    follower.apply(manifest)
    ctx = Context(ref, Settings.from_dict(manifest["data"].get("settings") or {}))
    families: dict[str, Any] = {}
    inputs = read(run_dir / "input")
    expected: deque[dict[str, Any]] = deque()
    steps: Iterator[list[dict[str, Any]]] | None = None
    last_cause = -1
    n = 1

    def body(env: dict[str, Any]) -> dict[str, Any]:
        return {k: env[k] for k in BODY}

    for env in ledger:
        n += 1
        kind = env["type"]
        if kind in ANSWER_TYPES:
            inp = next(inputs, None)
            if inp is None or inp["seq"] != env["cause"]:
                return ReplayResult(n, f"seq {env['seq']}: answers input {env['cause']}, but the"
                                       f" next input is {None if inp is None else inp['seq']}")
            event, families[inp["key"]] = adjudicate(inp, families.get(inp["key"]), ctx)
            if canonical(event) != canonical(body(env)):
                return ReplayResult(n, f"seq {env['seq']} ({kind}, input {inp['seq']}):"
                                       f" {_first_difference(body(env), event)}")
            last_cause = env["cause"]
        elif kind == "epoch.boundary":
            if expected or _pending(steps):
                return ReplayResult(n, f"seq {env['seq']}: the ledger lacks events the previous"
                                       " boundary should have written")
            follower.apply(env)
            if plan is None:
                return ReplayResult(n, f"{run_dir / CLOCK_FILE}: no run clock plan to replay epochs")
            steps = epoch_steps(state, plan, str(env["data"]["boundary"]), env["cause"])
            continue
        elif kind != "run.manifest":
            if not expected and steps is not None:
                for batch in steps:
                    if batch:
                        expected.extend(batch)
                        break
                else:
                    steps = None
            if not expected and kind == "snapshot.taken":
                expected.extend(all_snapshots(state, cause=last_cause))
            if not expected:
                return ReplayResult(n, f"seq {env['seq']}: {kind} that no step of the replay produces")
            want = expected.popleft()
            if canonical(want) != canonical(body(env)):
                return ReplayResult(n, f"seq {env['seq']} ({kind}): {_first_difference(body(env), want)}")
        if kind in CONTEXT_TYPES:
            ctx.apply_ledger_event(env)
        follower.apply(env)
        if on_event is not None:
            on_event(env)
    if expected or _pending(steps):
        return ReplayResult(n, "the ledger ends before events the replay expects"
                               f" ({(expected[0] if expected else {}).get('type', 'more')})")
    return ReplayResult(n, None)


def _pending(steps: Iterator[list[dict[str, Any]]] | None) -> bool:
    """Whether a boundary's remaining steps would still produce events (consumes them)."""
    return steps is not None and any(batch for batch in steps)


def ledger_diff(run_a: Path | str, run_b: Path | str, limit: int = 20) -> list[str]:
    """Where two runs' ledgers first diverge, then which final snapshots differ and how."""
    a, b = require_run(run_a), require_run(run_b)
    out = []
    for ea, eb in zip(read(a / "ledger"), read(b / "ledger")):
        if ea["hash"] != eb["hash"]:
            out.append(f"ledgers diverge at seq {ea['seq']}: {ea['type']} vs {eb['type']}:"
                       f" {_first_difference(body_of(ea), body_of(eb))}")
            break
    else:
        na = sum(1 for _ in read(a / "ledger"))
        nb = sum(1 for _ in read(b / "ledger"))
        out.append("ledgers identical" if na == nb else
                   f"ledgers agree on their first {min(na, nb):,} entries; lengths {na:,} vs {nb:,}")
    snaps_a, snaps_b = latest_snapshots(a), latest_snapshots(b)
    differing = 0
    for key in sorted(set(snaps_a) | set(snaps_b)):
        fa, fb = snaps_a.get(key), snaps_b.get(key)
        if fa == fb:
            continue
        differing += 1
        if differing <= limit:
            if fa is None or fb is None:
                out.append(f"snapshot {'/'.join(key)}: only in {'B' if fa is None else 'A'}")
            else:
                changed = ", ".join(f"{k} {fa.get(k, 0):,} -> {fb.get(k, 0):,}"
                                    for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k))
                out.append(f"snapshot {'/'.join(key)}: {changed}")
    out.append(f"{differing:,} of {len(set(snaps_a) | set(snaps_b)):,} snapshots differ")
    return out


def body_of(env: dict[str, Any]) -> dict[str, Any]:
    return {k: env[k] for k in BODY}


def latest_snapshots(run_dir: Path) -> dict[tuple[str, str, str], dict[str, int]]:
    out = {}
    for env in read(run_dir / "ledger"):
        if env["type"] == "snapshot.taken":
            d = env["data"]
            out[(d["payer_id"], d["practice_id"], d["month"])] = d["figures"]
    return out
