"""The embedded core on the Python engine and on the compiled one, side by side in CPU seconds:
each round adjudicates the same synthetic run (read input, adjudicate, append the hash-chained
ledger) in a fresh process per engine (the engine is chosen at import: `claimsim.native`), then
the same-log I/O baseline (read the input, append the pre-built answers), and checks that both
engines wrote the same ledger bytes.

Run: .venv/bin/python -m claimsim.benchmarks.engines [CLAIMS] [ROUNDS]   (default 30000 3)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from claimsim.events.log import LogWriter, read


def _fresh(root: Path, name: str) -> Path:
    target = root / name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    for f in ("reference.json", "run.json"):
        shutil.copy(root / "run" / f, target / f)
    (target / "input").symlink_to((root / "run" / "input").resolve())
    return target


def _ours(root: Path, name: str) -> tuple[str, float]:
    from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator
    from claimsim.native import engine_kind

    rt = EmbeddedAdjudicator(_fresh(root, name))
    rt.record(json.loads((root / "attribution.json").read_text()))
    start = time.process_time()
    rt.run()
    rt.close()
    return engine_kind(), time.process_time() - start


def _baseline(root: Path) -> tuple[str, float]:
    answers = [{k: e[k] for k in ("type", "v", "at", "key", "cause", "data")}
               for e in read(root / "pure" / "ledger") if e["cause"] is not None]
    target = root / "baseline"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    writer, n = LogWriter(target / "ledger"), 0
    start = time.process_time()
    for env in read(root / "run" / "input"):
        writer.append(answers[env["seq"]])
        n += 1
        if n % 5000 == 0:
            writer.commit()
    writer.close()
    return "baseline", time.process_time() - start


def _ledger_digest(run: Path) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted((run / "ledger").glob("*.jsonl")))).hexdigest()


def _child(root: Path, what: str, pure: str) -> tuple[str, float]:
    done = subprocess.run([sys.executable, "-m", "claimsim.benchmarks.engines", "--child", str(root), what],
                          env={**os.environ, "CLAIMSIM_PURE": pure}, capture_output=True, text=True, check=True)
    kind, cpu = json.loads(done.stdout.strip().splitlines()[-1])
    return kind, cpu


def main(claims: int, rounds: int) -> int:
    from claimsim.scenarios.synthetic import attribution_events, write_synthetic_run

    root = Path(tempfile.mkdtemp(prefix="claimsim-engines-"))
    try:
        (root / "run").mkdir()
        facts = write_synthetic_run(root / "run", claims)
        (root / "attribution.json").write_text(json.dumps(attribution_events(facts["members"])))
        print(f"{claims:,} synthetic claims ({facts['inputs']:,} inputs), CPU seconds; load {os.getloadavg()[0]:.1f}")
        print(f"{'round':>5}  {'run':<8} {'engine':<32} {'CPU s':>7} {'claims/CPU-s':>13} {'vs baseline':>11}")
        for r in range(rounds):
            figures = [("pure", *_child(root, "pure", "1")), ("native", *_child(root, "native", "0")),
                       ("baseline", *_child(root, "baseline", "1"))]
            base = figures[2][2]
            for name, kind, cpu in figures:
                print(f"{r:>5}  {name:<8} {kind[:32]:<32} {cpu:>7.2f} {claims / cpu:>13,.0f} {base / cpu:>10.2f}x")
        same = _ledger_digest(root / "pure") == _ledger_digest(root / "native")
        print(f"ledgers byte-identical (pure, native): {'yes' if same else 'NO'}")
        return 0 if same else 1
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        where, what = Path(sys.argv[2]), sys.argv[3]
        print(json.dumps(_baseline(where) if what == "baseline" else _ours(where, what)))
    else:
        parser = argparse.ArgumentParser(
            prog="python -m claimsim.benchmarks.engines",
            description="The Python and the compiled engine side by side in CPU seconds, beside"
                        " the I/O baseline.")
        parser.add_argument("claims", nargs="?", type=int, default=30_000,
                            help="synthetic claims (default 30000)")
        parser.add_argument("rounds", nargs="?", type=int, default=3, help="rounds (default 3)")
        a = parser.parse_args()
        sys.exit(main(a.claims, a.rounds))
