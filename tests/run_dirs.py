"""Run-directory helpers the runtime tests share: copy a run's input side, read a ledger's bytes."""

from __future__ import annotations

import shutil
from pathlib import Path


def fresh_copy(src: Path, dst: Path) -> Path:
    """A new run directory holding `src`'s input side only (no ledger yet)."""
    dst.mkdir(parents=True)
    for name in ("input", "reference.json", "run.json"):
        path = src / name
        (shutil.copytree if path.is_dir() else shutil.copy)(path, dst / name)
    return dst


def ledger_bytes(run_dir: Path) -> bytes:
    """Every ledger segment's bytes, in order: what "byte-identical ledger" compares."""
    return b"".join(p.read_bytes() for p in sorted((run_dir / "ledger").glob("*.jsonl")))
