"""A what-if sweep that stopped part way (Ctrl-C, `kill`, a crash, a run that failed, a full
disk) goes on with `claimsim whatif ... --resume`: the runs that finished are kept, and only the
others are run again. A sweep of a payer's size takes hours; without this, a stop lost every
finished point and the same `--out` was refused.

How: a sweep writes `OUT/sweep.json` before its first run (each run's folder and the scenario it
runs, as JSON, and the history it pays, if any), and each run writes its metrics to
`runs/pNN_rMM/metrics.json` as its last act (written whole or not at all). `--resume` takes a
folder only if its sweep.json is the one this command would write (the same scenario, values,
seeds and history: its results are then the ones an uninterrupted sweep computes, since a run
is a pure function of its scenario and seed), reads each finished run's metrics, and removes
every run folder without them before running those again. The tables, charts and page are
written from all of them at the end, as an uninterrupted sweep writes them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson

from claimsim.events.errors import UserError
from claimsim.events.files import whole_or_absent

SWEEP_FILE = "sweep.json"
METRICS_FILE = "metrics.json"
Key = tuple[int, int]  # (point, replicate)
Metrics = dict[str, dict[str, int]]


def run_folder(out: Path, key: Key) -> Path:
    return out / "runs" / f"p{key[0]:02d}_r{key[1]:02d}"


def _sweep(payloads: list[tuple[Key, str]], history: Path | None) -> bytes:
    runs = {run_folder(Path(), key).as_posix(): orjson.loads(scenario)
            for key, scenario in payloads}
    return orjson.dumps({"history": None if history is None else str(history.resolve()),
                         "runs": runs}, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)


def start(out: Path, payloads: list[tuple[Key, str]], history: Path | None,
          resume: bool) -> dict[Key, Metrics]:
    """Make `out` ready for the sweep of `payloads` ((point, replicate) -> scenario JSON); returns
    the metrics of the runs already finished there (none unless `resume`)."""
    wanted = _sweep(payloads, history)
    if out.exists() and any(out.iterdir()):
        if not resume:
            raise UserError(f"{out}: directory is not empty (choose a new --out or remove it; a"
                            " sweep that stopped part way goes on with --resume)")
        return _finished(out, payloads, wanted)
    if resume:
        raise UserError(f"{out}: no sweep to resume here (an empty or new folder)")
    out.mkdir(parents=True, exist_ok=True)
    with whole_or_absent(out / SWEEP_FILE) as part:
        part.write_bytes(wanted + b"\n")
    return {}


def _finished(out: Path, payloads: list[tuple[Key, str]], wanted: bytes) -> dict[Key, Metrics]:
    try:
        recorded = (out / SWEEP_FILE).read_bytes().rstrip(b"\n")
    except OSError:
        raise UserError(f"{out}: not a what-if sweep (no {SWEEP_FILE}); choose a new --out"
                        ) from None
    if recorded != wanted:
        raise UserError(f"{out}: holds a sweep of other runs (its {SWEEP_FILE} differs: another"
                        " scenario, --vary values, --replicates, seed, members, months or"
                        " history); --resume goes on with the same command only")
    done: dict[Key, Metrics] = {}
    for key, _ in payloads:
        folder = run_folder(out, key)
        try:
            done[key] = orjson.loads((folder / METRICS_FILE).read_bytes())
        except (OSError, orjson.JSONDecodeError):
            shutil.rmtree(folder, ignore_errors=True)  # stopped part way: run again
    return done


def save_metrics(folder: Path, metrics: Metrics) -> None:
    """A run's metrics, its last file (`start` reads them on a resume)."""
    with whole_or_absent(folder / METRICS_FILE) as part:
        part.write_bytes(orjson.dumps(metrics))  # in its order: the tables follow it
