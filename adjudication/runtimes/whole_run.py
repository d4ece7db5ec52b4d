"""Whether a run directory's input is whole before `claimsim adjudicate` writes a ledger for it:
a simulation that stopped part-way (no run.json, or fewer inputs than run.json lists) would be
adjudicated as if it were the whole run, and a run the run clock was paying would get a ledger
no run produces (answers without the epochs and payments between them).

Choices where DOMAIN.md is silent: a folder with neither truth/ nor run.json (input written by
another tool) is taken as whole; its chain is still checked as it is read. An ingest marks its
folder until it has written its run.json (`INGEST_MARK`), so one that stopped is not.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from claimsim.events.errors import UserError
from claimsim.events.log_tail import input_count

CLOCK_FILE = "runclock.json"  # written by the run clock (scenarios) before it pays a run
# Written by `claimsim ingest` as it starts and removed once its run.json is written: a folder
# still holding it is an ingest that stopped (killed, a failure) with part of its input.
INGEST_MARK = ".ingest-unfinished"


def require_whole_input(run_dir: Path | str) -> None:
    run_dir = Path(run_dir)
    if (run_dir / CLOCK_FILE).exists():
        raise UserError(f"{run_dir}: this run is paid epoch by epoch by `claimsim run` ({CLOCK_FILE});"
                        " adjudicating it alone would write a ledger no run produces (answers without"
                        " its epochs and payments); finish it with `claimsim run SCENARIO --out"
                        f" {run_dir} --resume`")
    if (run_dir / INGEST_MARK).exists():
        raise UserError(f"{run_dir}: the ingest into it did not finish ({INGEST_MARK}), so its input"
                        " may be partial; ingest again into a new folder")
    info_path = run_dir / "run.json"
    if not info_path.exists():
        if (run_dir / "truth").is_dir():
            raise UserError(f"{run_dir}: the simulation did not finish (no run.json), so its input may"
                            " be partial; simulate again into a new folder")
        return
    try:
        info = orjson.loads(info_path.read_bytes())
    except orjson.JSONDecodeError as e:
        raise UserError(f"{info_path}: not JSON ({e})") from None
    listed = info.get("summary", {}).get("input_events") if isinstance(info, dict) else None
    if not isinstance(listed, dict):
        return
    expected = sum(v for v in listed.values() if isinstance(v, int))
    have = input_count(run_dir / "input") if (run_dir / "input").is_dir() else 0
    if have < expected:
        raise UserError(f"{run_dir / 'input'}: holds {have:,} of {expected:,} inputs run.json lists;"
                        " the input is not whole (a copy cut short, or a simulation that stopped)")
