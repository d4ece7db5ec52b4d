"""What `audit verify` checks beyond the hash chains, in one pass over the ledger: reference.json
is the one the ledger's manifest names (by digest); every input is answered exactly once, in
order; every adjudicated line's money adds up with parts of the right sign; and the run is whole
(every input answered and, for a run-clock run, every boundary closed and the snapshots taken).

What only `audit replay` proves: that each answer is what the rules give for its input, and each
epoch fact and payment what the projections give. A ledger edited consistently (cents moved from
cost share to plan paid, the chain re-hashed) passes these checks; replay finds it.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


from claimsim.events.errors import UserError
from claimsim.events.log import last_envelope, read
from claimsim.events.reference import ReferenceData

from claimsim.adjudication.engine.core import ANSWER_TYPES
from claimsim.adjudication.projections.epochs import CHECKPOINT, CLOCK_FILE, Plan

PARTS = ("plan_paid", "cost_share", "cap_offset", "sequestration")
ONLY_REPLAY = ("verify proves the chains are intact, reference.json is the ledger's, every input is"
               " answered once and in order, every line adds up, and the checkpoint is what the"
               " ledger folds to; only `claimsim audit replay` proves each answer and payment is"
               " what the rules give (it re-adjudicates every input and recomputes every epoch)")


@dataclass
class LedgerScan:
    """One pass over a ledger: the first arithmetic and cause problems, and how far it got."""

    inputs: int | None = None  # how many inputs the input log holds (None: not counted)
    answered: int = 0  # answers in cause order from input 0
    lines: int = 0
    arithmetic: str | None = None
    causes: str | None = None
    boundaries: list[str] = field(default_factory=list)
    snapshots_after_last_boundary: int = 0  # snapshot.taken entries after the last boundary
    manifest: dict[str, Any] | None = None

    def add(self, env: dict[str, Any]) -> None:
        kind = env["type"]
        if kind in ANSWER_TYPES:
            if env["cause"] != self.answered and self.causes is None:
                self.causes = (f"seq {env['seq']} answers input {env['cause']}, but the next input"
                               f" to answer is {self.answered} (an answer is missing, doubled or moved)")
            elif self.inputs is not None and self.answered >= self.inputs and self.causes is None:
                self.causes = (f"seq {env['seq']} answers input {env['cause']}, but the input log"
                               f" holds {self.inputs:,} inputs (an answer to no input)")
            self.answered += 1
            if kind in ("claim.adjudicated", "claim.reversed"):
                self._lines(env)
        elif kind == "run.manifest" and env["seq"] == 0:
            self.manifest = env["data"]
        elif kind == "epoch.boundary":
            self.boundaries.append(str(env["data"]["boundary"]))
            self.snapshots_after_last_boundary = 0
        elif kind == "snapshot.taken" and self.boundaries:
            self.snapshots_after_last_boundary += 1

    def _lines(self, env: dict[str, Any]) -> None:
        data = env["data"]
        for name, sign in (("lines", 1), ("reversed_lines", -1)):
            for line in data.get(name, ()):
                self.lines += 1
                if self.arithmetic is None:
                    self.arithmetic = _line_problem(env["seq"], line, sign)


def _line_problem(seq: int, line: dict[str, Any], sign: int) -> str | None:
    parts = [line.get(p) for p in PARTS]
    allowed = line.get("allowed")
    where = f"seq {seq} line {line.get('line_no')}"
    if not all(type(v) is int for v in [allowed, *parts]):
        return f"{where}: a money field is missing or not whole cents"
    if allowed != sum(parts):
        return (f"{where}: allowed {allowed} != plan paid {parts[0]} + cost share {parts[1]}"
                f" + capitation offset {parts[2]} + sequestration {parts[3]}")
    if any(v * sign < 0 for v in parts):
        return f"{where}: a part has the wrong sign for {'a reversal' if sign < 0 else 'a payment'}"
    return None


def scan(run_dir: Path) -> LedgerScan:
    last = last_envelope(run_dir / "input")
    out = LedgerScan(inputs=0 if last is None else last["seq"] + 1)
    for env in read(run_dir / "ledger"):
        out.add(env)
    return out


@dataclass
class Finding:
    name: str
    ok: bool
    message: str


def reference_finding(run_dir: Path, result: LedgerScan) -> Finding:
    """reference.json against the digest the ledger's manifest recorded when it was written."""
    digest = ReferenceData.load(run_dir).digest()  # unreadable: a one-line UserError
    if result.manifest is None:
        return Finding("reference.json", False, "the ledger has no run manifest to check it against")
    recorded = result.manifest.get("reference_digest")
    if recorded != digest:
        return Finding("reference.json", False, f"digest {digest[:12]}... differs from the manifest's"
                       f" {str(recorded)[:12]}... (edited after the ledger was written)")
    return Finding("reference.json", True, f"digest {digest[:12]}... is the manifest's")


def ledger_findings(run_dir: Path, result: LedgerScan) -> list[Finding]:
    arithmetic = Finding("ledger arithmetic", result.arithmetic is None, result.arithmetic or
                         f"{result.lines:,} lines: allowed = plan paid + cost share + capitation"
                         " offset + sequestration, each part of the right sign")
    causes = Finding("ledger causes", result.causes is None, result.causes or
                     (f"inputs 0..{result.answered - 1} each answered once, in order"
                      if result.answered else "no input answered yet"))
    return [arithmetic, causes, completeness(run_dir, result)]


def completeness(run_dir: Path, result: LedgerScan) -> Finding:
    """Whole, or INCOMPLETE with where it stopped and the command that finishes it. A run is a
    run-clock run when the ledger says so (it holds epoch boundaries) or runclock.json exists:
    the file's absence does not skip the boundary and snapshot checks of a ledger that has them."""
    if result.inputs is None:
        last = last_envelope(run_dir / "input")
        result.inputs = 0 if last is None else last["seq"] + 1
    inputs = result.inputs
    missing = []
    if result.answered < inputs:
        missing.append(f"ledger answers none of the {inputs:,} inputs" if not result.answered else
                       f"ledger answers {result.answered:,} of {inputs:,} inputs (stopped after"
                       f" input seq {result.answered - 1:,})")
    clocked = (run_dir / CLOCK_FILE).exists() or bool(result.boundaries)
    if clocked:
        try:
            missing += _clock_missing(run_dir, result)
        except UserError as e:
            return Finding("run", False, str(e))
    if not missing:
        answered = f"all {inputs:,} inputs answered" if inputs else "the input log is empty"
        return Finding("run", True, f"complete: {answered}"
                       + (f", every boundary closed, {result.snapshots_after_last_boundary:,}"
                          " closing snapshots taken (replay proves they are all there and right)"
                          if clocked else ""))
    where = shlex.quote(str(run_dir))
    if clocked:
        scenario = shlex.quote(str((result.manifest or {}).get("scenario") or "SCENARIO"))
        how = (f"finish it with `claimsim run {scenario} --out {where} --resume` and the flags it"
               " was started with")
    else:
        how = f"finish it with `claimsim adjudicate {where}`"
    return Finding("run", False, "INCOMPLETE: " + "; ".join(missing) + f"; {how}")


def _clock_missing(run_dir: Path, result: LedgerScan) -> list[str]:
    """What a run-clock run lacks against its plan: boundaries, closing snapshots, checkpoint.
    A plan missing or unreadable is a `UserError` naming the file."""
    if not (run_dir / CLOCK_FILE).exists():
        raise UserError(f"{run_dir / CLOCK_FILE}: missing, but the ledger holds"
                        f" {len(result.boundaries):,} epoch boundaries (a `claimsim run`): its"
                        " boundaries and snapshots cannot be checked against the run's plan")
    planned = list(Plan.load(run_dir).boundaries)
    missing = []
    done = result.boundaries
    if done != planned[:len(done)]:  # not incomplete: another plan than the ledger's
        raise UserError(f"the ledger's boundaries ({', '.join(done)}) are not those of"
                        f" {run_dir / CLOCK_FILE} ({', '.join(planned)})")
    if done != planned:
        at = f"last boundary {done[-1]}" if done else "no boundary closed"
        missing.append(f"{at} ({len(done)} of {len(planned)})")
    if not result.snapshots_after_last_boundary:
        missing.append("no closing snapshots")
    if not (run_dir / CHECKPOINT).exists():
        missing.append(f"no {CHECKPOINT}")
    return missing


def require_complete(run_dir: Path) -> None:
    """For commands that need a whole run: a one-line error saying where it stopped."""
    finding = completeness(run_dir, scan(run_dir))
    if not finding.ok:
        raise UserError(f"{run_dir}: {finding.message}")
