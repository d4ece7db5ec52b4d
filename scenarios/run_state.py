"""What a run directory holds, read before anything writes into it: nothing, a finished run, a
run that stopped part-way (simulated or not), or something that is not a claimsim run at all.
`claimsim demo --force` replaces only a recognisable run; `claimsim run` refuses a stopped run
unless told to `--resume` it, and then redoes only the steps that did not finish.

A run's steps, each ending in a file it writes last: simulate (run.json, scenario.json), pay
epoch by epoch (the paid mark, then the projection checkpoint), report (reports/checks.csv, after
every other report file; every table is written whole or not at all,
`events.files.whole_or_absent`).

Choices where DOMAIN.md is silent: resuming a run whose payment stopped re-pays it from the
simulated input (the ledger is rebuilt from seq 0; the ledger is a pure function of the input
and reference data, so it comes out as an uninterrupted run's, byte for byte); a stopped
simulation is simulated again (it is made from its seed and writes no partial state worth
keeping); a run whose payment finished (`paid_in_full`) and whose reports did not keeps its
ledger and writes only the reports, from the ledger folded again (a million-member run's
reports in minutes, where paying again takes half an hour), and its checkpoint from that fold
if the run stopped while writing it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson

from claimsim.events.encoding import canonical
from claimsim.events.errors import UserError
from claimsim.events.files import PART_SUFFIX, remove_entry, whole_and_on_disk
from claimsim.events.log import LogError, last_envelope
from claimsim.events.projection import checkpoint_head

from claimsim.adjudication.runtimes.manifest import recorded_signing_key

# The payment step's own working files, left behind by a run that was stopped while paying: the
# embedded runtime's scratch family store, and the Kafka runtime's topics, sink position (each
# with the ".part" it is written to before its rename, there if a kill landed between the two:
# `events.files.whole_or_absent`) and worker logs. (Named here, not imported: the streaming
# modules load faust; a test holds the names equal.)
PAY_WORK = (".family-state", ".kafka-run.json", ".kafka-run.json.part", ".kafka-sink.json",
            ".kafka-sink.json.part", ".kafka-workers")
# Every entry a run directory may hold (the simulator's, the run clock's, the reports).
RUN_ENTRIES = frozenset({"input", "truth", "ledger", "projections", "reports", "reference.json",
                         "run.json", "runclock.json", "scenario.json", *PAY_WORK})
PAY_ENTRIES = ("ledger", "projections", "reports", "runclock.json", *PAY_WORK)
CHECKPOINT = Path("projections") / "payer-state.json"
# The ledger's last entry (seq, hash) once the payment has written it, written (small, whole) just
# before the checkpoint (at a million members some 0.6 GB, the last seconds of a half-hour
# payment) and removed once the checkpoint is in place: a run stopped in that write keeps its
# payment (`mark_paid`).
PAID_MARK = Path("projections") / "paid.json"
REPORT_LAST = Path("reports") / "checks.csv"


class Stage(StrEnum):
    ABSENT = "absent"  # no directory, or an empty one
    FOREIGN = "foreign"  # holds something that is not (only) a claimsim run
    SIMULATING = "simulating"  # the simulation stopped before run.json
    SIMULATED = "simulated"  # simulated, not paid (or payment stopped part-way)
    PAID = "paid"  # paid, reports not written
    COMPLETE = "complete"


@dataclass
class RunState:
    path: Path
    stage: Stage
    entries: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    info: dict[str, Any] | None = None  # run.json

    def describe(self) -> str:
        """Where the run stopped, in words a user can act on."""
        if self.stage is Stage.SIMULATING:
            return "the simulation did not finish (no run.json)"
        if self.stage is Stage.SIMULATED:
            last = last_envelope(self.path / "ledger") if (self.path / "ledger").is_dir() else None
            if last is None:
                return "simulated, not yet paid"
            return f"simulated; payment stopped at ledger seq {last['seq']:,} ({last['at']})"
        if self.stage is Stage.PAID and not checkpoint_at_end(self.path):
            return "paid; its checkpoint and reports were not written"
        if self.stage is Stage.PAID:
            return "paid; the reports were not written"
        return str(self.stage)


def _listing(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def inspect_run(path: Path) -> RunState:
    if not path.exists():
        return RunState(path, Stage.ABSENT)
    if not path.is_dir():
        raise UserError(f"{path}: exists and is not a directory")
    entries = sorted(p.name for p in path.iterdir())
    if not entries:
        return RunState(path, Stage.ABSENT)
    foreign = [n for n in entries if n not in RUN_ENTRIES]
    info = _run_json(path / "run.json")
    if foreign or not (info is not None or (path / "reference.json").is_file() and (path / "input").is_dir()):
        return RunState(path, Stage.FOREIGN, entries, foreign or entries, info)
    if info is None:
        stage = Stage.SIMULATING
    elif not ((path / CHECKPOINT).is_file() or (path / PAID_MARK).is_file()):
        stage = Stage.SIMULATED
    elif not (path / REPORT_LAST).is_file():
        stage = Stage.PAID
    else:
        stage = Stage.COMPLETE
    return RunState(path, stage, entries, [], info)


def _run_json(path: Path) -> dict[str, Any] | None:
    """run.json as the simulator writes it (scenario, seed, summary), or as `run --history`
    writes it (scenario, seed, history: no simulation summary), or None."""
    try:
        info = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if isinstance(info, dict) and {"scenario", "seed"} <= set(info) and (
            "summary" in info or "history" in info):
        return info
    return None


def _recorded_config(state: RunState) -> dict[str, Any]:
    """The scenario a run was made with: run.json's `config` (a simulated run's), else its
    scenario.json (a history run's)."""
    info = state.info or {}
    if "config" in info or "history" not in info:
        return info.get("config", {})
    try:
        config = orjson.loads((state.path / "scenario.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    return config if isinstance(config, dict) else {}


def _differs(state: RunState, scenario_config: dict[str, Any]) -> list[str]:
    """The scenario keys in which the run's recorded scenario and `scenario_config` differ (the
    runtime aside: a run may be resumed on the other one)."""
    recorded = {k: v for k, v in _recorded_config(state).items() if k != "runtime"}
    wanted = {k: v for k, v in scenario_config.items() if k != "runtime"}
    return sorted(k for k in set(recorded) | set(wanted) if recorded.get(k) != wanted.get(k))


def not_a_run(state: RunState) -> UserError:
    return UserError(f"{state.path}: not a claimsim run (holds {_listing(state.foreign)});"
                     " choose another --out, or move those files yourself")


def replace_run(path: Path) -> None:
    """`--force`: remove a previous run at `path`, and nothing that is not one."""
    state = inspect_run(path)
    if state.stage is Stage.ABSENT:
        return
    if state.stage is Stage.FOREIGN:
        raise not_a_run(state)
    if path.resolve() == Path.cwd().resolve():
        raise UserError(f"{path}: is the working folder; give --out a folder of its own")
    shutil.rmtree(path)


def prepare_resume(path: Path, scenario_config: dict[str, Any], history: Path | None = None,
                   signing_key_id: str | None = None) -> RunState:
    """Make `path` ready to redo the steps of a stopped run of this scenario (paying `history`'s
    claims, for `run --history`; signing with the key `signing_key_id` names); returns its state
    (ABSENT: start from scratch). Refuses a run of another scenario or seed, a simulated run
    resumed as a history run or the other way, and a stopped payment signed with another key
    (or resumed without its key: the ledger paid again would be unsigned)."""
    state = inspect_run(path)
    if state.stage is Stage.FOREIGN:
        raise not_a_run(state)
    if state.stage in (Stage.ABSENT, Stage.COMPLETE):
        return state
    if state.info is not None:
        was = state.info.get("history")
        if (was is None) != (history is None) or (
                was is not None and Path(was).resolve() != Path(history).resolve()):
            raise UserError(f"{path}: holds a run of simulated claims; --resume continues it"
                            " without --history" if was is None else
                            f"{path}: holds a run paying the history {was}; --resume continues"
                            f" it with --history {was}")
        differ = _differs(state, scenario_config)
        if differ:
            raise UserError(f"{path}: holds a run of another scenario (differs in {_listing(differ)});"
                            " --resume continues the same scenario, seed and overrides")
    if state.stage is Stage.SIMULATING:
        for name in state.entries:
            remove_entry(path / name)
        return RunState(path, Stage.ABSENT)
    if state.stage is Stage.PAID and reports_resumable(path):
        for name in PAY_WORK:  # none, normally: the runtime removes them as it closes
            remove_entry(path / name)
        for folder in ("projections", "reports"):  # a kill between a file's write and its rename
            for part in (path / folder).glob(f"*{PART_SUFFIX}"):
                remove_entry(part)
        return state  # only the reports are written again (`scenarios.run.report_paid`)
    _same_key(path, signing_key_id)
    for name in PAY_ENTRIES:
        remove_entry(path / name)
    return RunState(path, Stage.SIMULATED, info=state.info)


def _same_key(path: Path, signing_key_id: str | None) -> None:
    """Refuse to pay again, unsigned or with another key, a stopped payment whose ledger was
    signed (its manifest names the key): the run would no longer be the one asked for, and
    `audit verify --public-key` would fail it. An unsigned one may be paid again signed."""
    try:
        recorded = recorded_signing_key(path)
    except LogError:  # a ledger damaged at its start: nothing recorded to keep
        return
    if recorded is None or recorded == signing_key_id:
        return
    if signing_key_id is None:
        raise UserError(f"{path}: its payment was signed with key {recorded}; give that key's"
                        " private file with --signing-key to resume it")
    raise UserError(f"{path}: its payment was signed with key {recorded}, not {signing_key_id};"
                    " --resume continues with the same key")


def paid_in_full(path: Path) -> bool:
    """Whether the run's payment finished: its projection checkpoint (written last, after the
    ledger's final entry and signature) or, for a run stopped while writing it, its paid mark
    names the ledger's last entry, seq and hash. Then a resume writes only the reports (and the
    checkpoint, if missing); otherwise it pays again."""
    heads = [head for head in (_checkpoint_head(path / CHECKPOINT), _mark(path / PAID_MARK))
             if head is not None]
    last = _last_entry(path) if heads else None
    return last is not None and any(_names(head, last) for head in heads)


def checkpoint_at_end(path: Path) -> bool:
    """Whether the run's projection checkpoint names the ledger's last entry (seq and hash), as
    the payment's own does. A paid run whose checkpoint does not (stopped while writing it, or a
    folder edited since) gets it from the ledger's fold (`scenarios.run.report_paid`)."""
    head = _checkpoint_head(path / CHECKPOINT)
    last = _last_entry(path) if head is not None else None
    return head is not None and last is not None and _names(head, last)


def _names(head: dict[str, Any], last: dict[str, Any]) -> bool:
    return head.get("last_seq") == last["seq"] and head.get("last_hash") == last["hash"]


def _last_entry(path: Path) -> dict[str, Any] | None:
    return last_envelope(path / "ledger") if (path / "ledger").is_dir() else None


def _checkpoint_head(checkpoint: Path) -> dict[str, Any] | None:
    return checkpoint_head(checkpoint)[0] if checkpoint.is_file() else None


def _mark(mark: Path) -> dict[str, Any] | None:
    try:
        head = orjson.loads(mark.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return head if isinstance(head, dict) else None


def mark_paid(path: Path, last_seq: int, last_hash: str) -> None:
    """Record that the payment has written its last ledger entry (`PAID_MARK`): whole or not at
    all, and on disk (fsync) before the checkpoint's write begins."""
    mark = path / PAID_MARK
    mark.parent.mkdir(parents=True, exist_ok=True)
    with whole_and_on_disk(mark) as f:
        f.write(canonical({"last_hash": last_hash, "last_seq": last_seq}) + b"\n")


def unmark_paid(path: Path) -> None:
    """The checkpoint is in place: the paid mark says nothing more."""
    (path / PAID_MARK).unlink(missing_ok=True)


def practice_list(boundary: str) -> Path:
    """A boundary's practice list (`runclock.practice_lists`), written while the run is paid."""
    return Path("reports") / f"attribution_{boundary}.csv"


def practice_lists_kept(path: Path) -> bool:
    """Whether every boundary of the run clock's plan (runclock.json) still has its practice
    list: a run resumed for its reports alone cannot write them again (each is the attribution
    run of its boundary, made while paying), so without them it is paid again."""
    try:
        boundaries = orjson.loads((path / "runclock.json").read_bytes())["boundaries"]
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
        return False
    return isinstance(boundaries, list) and all(
        isinstance(b, str) and (path / practice_list(b)).is_file() for b in boundaries)


def reports_resumable(path: Path) -> bool:
    """A stopped run's payment is whole and kept (`paid_in_full`, `practice_lists_kept`): a
    resume writes only its reports."""
    return paid_in_full(path) and practice_lists_kept(path)


def resumes_reports_only(path: Path) -> bool:
    """`run --resume` of `path` will write only its reports (no runtime, no broker needed)."""
    return inspect_run(path).stage is Stage.PAID and reports_resumable(path)


def refuse_existing(state: RunState, scenario_config: dict[str, Any] | None = None) -> None:
    """`claimsim run` without --resume: a non-empty folder is an error saying what it holds (and,
    given the scenario asked for, whether --resume could continue it)."""
    if state.stage is Stage.ABSENT:
        return
    if state.stage is Stage.FOREIGN:
        raise UserError(f"{state.path}: directory is not empty and not a claimsim run"
                        f" (holds {_listing(state.foreign)}); choose a new --out")
    if state.stage is Stage.COMPLETE:
        raise UserError(f"{state.path}: already holds a finished run (audit it with `claimsim audit"
                        " verify`, or choose a new --out)")
    differ = [] if scenario_config is None or state.info is None else _differs(
        state, scenario_config)
    if differ:  # `--resume` would refuse it too: say so now (a `claimsim simulate` folder, say)
        raise UserError(f"{state.path}: holds an incomplete run of another scenario"
                        f" ({state.describe()}; differs in {_listing(differ)}): `claimsim"
                        " adjudicate` pays a simulated folder as it is; choose a new --out to run"
                        " this scenario")
    raise UserError(f"{state.path}: holds an incomplete run: {state.describe()}; rerun with --resume"
                    " to finish it (steps that did not finish are redone), or choose a new --out"
                    " to start over")
