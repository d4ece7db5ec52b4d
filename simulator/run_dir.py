"""Writing a run directory: reference.json, run.json, and the input/ and truth/ logs.

The logs are appended in batches and committed per batch, so memory stays flat however many
claims a run makes, and a reader (or a crash) sees whole batches.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from claimsim.events.errors import UserError
from claimsim.events.log import Fsync, LogWriter
from claimsim.simulator.config import SimConfig
from claimsim.simulator.model import Summary, simulate
from claimsim.simulator.region import build_region

RUN_FILE = "run.json"
INPUT_DIR = "input"
TRUTH_DIR = "truth"
BATCH_EVENTS = 50_000


class BatchSink:
    """A sink that appends to a log and commits every `batch` events; it takes events as dicts
    or, a batch at a time, already encoded (`SubmissionQueue` hands it encoded days)."""

    def __init__(self, writer: LogWriter, batch: int = BATCH_EVENTS):
        self.writer, self.batch, self._pending = writer, batch, 0
        self._append = writer.append

    def __call__(self, event: dict[str, Any]) -> None:
        self._append(event)
        self._pending += 1
        if self._pending >= self.batch:
            self.writer.commit()
            self._pending = 0

    def write_encoded(self, bodies: list[bytes]) -> None:
        self._pending += self.writer.write_encoded(bodies)
        if self._pending >= self.batch:
            self.writer.commit()
            self._pending = 0


def check_empty_run_dir(run_dir: Path, command: str = "simulate") -> None:
    """A one-line error unless `run_dir` is absent or an empty directory (`command`: the
    `claimsim` command writing it, as the error names it)."""
    if run_dir.exists():
        if not run_dir.is_dir():
            raise UserError(f"{run_dir}: exists and is not a directory")
        if any(run_dir.iterdir()):
            raise UserError(
                f"{run_dir}: directory is not empty; {command} writes a fresh run directory"
                " (choose a new --out or remove this one)"
            )


def simulate_to_dir(config: SimConfig, run_dir: Path | str, progress: bool = False) -> Summary:
    """Simulate into a fresh run directory; refuses a non-empty one."""
    run_dir = Path(run_dir)
    check_empty_run_dir(run_dir)
    region = build_region(config)
    run_dir.mkdir(parents=True, exist_ok=True)
    region.reference.save(run_dir)
    # A half-written run is useless (it has no run.json) and is made again from its seed, so the
    # logs are not fsynced batch by batch (the run would wait on the disk); the finished run is.
    with LogWriter(run_dir / INPUT_DIR, fsync=Fsync.NEVER) as input_log, \
            LogWriter(run_dir / TRUTH_DIR, fsync=Fsync.NEVER) as truth_log:
        summary = simulate(config, BatchSink(input_log), BatchSink(truth_log), progress=progress,
                           region=region)
    for name in (INPUT_DIR, TRUTH_DIR):
        _fsync_tree(run_dir / name)
    manifest = {
        "scenario": config.scenario,
        "seed": config.seed,
        "members": config.members,
        "start": config.start.isoformat(),
        "months": config.months,
        "runout_months": config.runout_months,
        "service_end": summary.service_end,
        "horizon": summary.horizon,
        "reference_digest": region.reference.digest(),
        "config": orjson.loads(config.model_dump_json()),
        "summary": summary.to_dict(),
    }
    (run_dir / RUN_FILE).write_bytes(
        orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"
    )
    _fsync_tree(run_dir)
    return summary


def _fsync_tree(directory: Path) -> None:
    """Make a directory's files, and the directory entries, durable."""
    for path in sorted(directory.iterdir()):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
