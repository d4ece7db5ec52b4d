"""Differences between ledgers and JSON values: where two runs' ledgers first diverge and which
final snapshots differ (`claimsim audit diff`), and the first differing path of two JSON values,
which every audit message names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from claimsim.events.log import read
from claimsim.events.log_verify import verify

from claimsim.adjudication.audit.run_dir import require_run
from claimsim.adjudication.runtimes.replay import body_of


def first_difference(a: Any, b: Any, path: str = "",
                     names: tuple[str, str] = ("the ledger", "the replay")) -> str:
    """The first path at which two JSON values differ, with both values (shortened); `names`
    say where `a` and `b` come from, for a key only one of them has."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b or a[k] != b[k]:
                if k in a and k in b:
                    return first_difference(a[k], b[k], f"{path}.{k}" if path else str(k), names)
                where = f"{path}.{k}" if path else str(k)
                return f"{where}: only in {names[0] if k in a else names[1]}"
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return first_difference(x, y, f"{path}[{i}]", names)
        if len(a) != len(b):
            return f"{path}: {len(a)} items vs {len(b)}"
    return f"{path or '(value)'}: {_short(a)} vs {_short(b)}"


def _short(v: Any) -> str:
    s = orjson.dumps(v).decode()
    return s if len(s) <= 80 else s[:77] + "..."


def ledger_diff(run_a: Path | str, run_b: Path | str, limit: int = 20) -> list[str]:
    """Where two runs' ledgers first diverge, then which final snapshots differ and how. Both
    chains are verified first: an entry's stored hash speaks for its content only on an intact
    chain (a byte flipped without re-hashing keeps the hash), so a broken ledger is named and
    not compared."""
    a, b = require_run(run_a), require_run(run_b)
    broken = [f"run {name}'s ledger ({run / 'ledger'}) is broken at seq {r.seq}:"
              f" {r.problem.value}: {r.message} ({r.location}); only intact ledgers are compared"
              for name, run in (("A", a), ("B", b)) if not (r := verify(run / "ledger")).ok]
    if broken:
        return broken
    out = []
    for ea, eb in zip(read(a / "ledger"), read(b / "ledger")):
        if ea["hash"] != eb["hash"]:
            out.append(f"ledgers diverge at seq {ea['seq']}: {ea['type']} vs {eb['type']}:"
                       f" {first_difference(body_of(ea), body_of(eb), names=('run A', 'run B'))}")
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


def latest_snapshots(run_dir: Path) -> dict[tuple[str, str, str], dict[str, int]]:
    out = {}
    for env in read(run_dir / "ledger"):
        if env["type"] == "snapshot.taken":
            d = env["data"]
            out[(d["payer_id"], d["practice_id"], d["month"])] = d["figures"]
    return out
