"""`audit verify`: every log's hash chain, then the projection checkpoint, which replaying the
ledger to its position must reproduce byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson

from claimsim.events.encoding import canonical
from claimsim.events.log import read, verify

from claimsim.adjudication.audit.diff import first_difference
from claimsim.adjudication.audit.run_dir import LOGS, fold, require_run
from claimsim.adjudication.projections.epochs import CHECKPOINT


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
                                else f"state at seq {seq} differs from a replay ({first_difference(saved['state'], rebuilt)})"))
    return checks
