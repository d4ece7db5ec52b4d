"""The adjudication bench's timed body (`rt.run()` and `close()`) round after round in one
process, as `bench_adjudication` runs it (a fresh runtime over a fresh copy of the run each round,
the previous one freed as the next is set up), with what each round cost: CPU seconds, system
seconds and the minor page faults the process took during it.

Run: .venv/bin/python -m claimsim.benchmarks.body_rounds [CLAIMS] [--rounds N] [--keep DIR]
(default 100000 claims, 3 rounds). With `--keep DIR` the synthetic run is written there once and
reused by later calls (another venv's too), so two installs can be timed alternately on the same
input. On this machine (a VM whose freed memory goes back to its host) a page the process touches
for the first time costs 2-15 us: the first round's faults are its heap's growth, the later
rounds' the little the earlier ones did not leave behind (docs/performance.md, g6ab).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from claimsim.benchmarks.callgrind_core import synthetic_root


def _fresh_copy(root: Path) -> Path:
    """ROOT/round/run: the run's reference and manifest copied, its input linked (as the bench)."""
    target = root / "round"
    shutil.rmtree(target, ignore_errors=True)
    (target / "run").mkdir(parents=True)
    for name in ("reference.json", "run.json"):
        shutil.copy(root / "run" / name, target / "run" / name)
    (target / "run" / "input").symlink_to((root / "run" / "input").resolve())
    return target / "run"


def rounds(root: Path, n: int) -> list[tuple[float, float, int]]:
    """(CPU s, system s, minor faults) of each of `n` rounds of the timed body."""
    from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator

    attribution = json.loads((root / "attribution.json").read_text())
    out, rt = [], None
    for _ in range(n):
        rt = EmbeddedAdjudicator(_fresh_copy(root))  # the previous runtime is freed here
        rt.record([dict(e) for e in attribution])
        before, cpu = resource.getrusage(resource.RUSAGE_SELF), time.process_time()
        rt.run()
        rt.close()
        cpu, after = time.process_time() - cpu, resource.getrusage(resource.RUSAGE_SELF)
        out.append((cpu, after.ru_stime - before.ru_stime, after.ru_minflt - before.ru_minflt))
    return out


def main(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m claimsim.benchmarks.body_rounds",
                                     description="The adjudication bench's timed body, round after"
                                                 " round in one process: CPU s, system s and minor"
                                                 " page faults of each round.")
    parser.add_argument("claims", nargs="?", type=int, default=100_000,
                        help="synthetic claims (default 100000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="write the synthetic run here once and reuse it on later calls")
    a = parser.parse_args(args)
    root = a.keep or Path(tempfile.mkdtemp(prefix="claimsim-rounds-"))
    try:
        if not (root / "attribution.json").exists():
            synthetic_root(root, a.claims)
        got = rounds(root, a.rounds)
        print(" ".join(f"{cpu:.2f}s/{sys_s:.2f}sys/{faults}flt" for cpu, sys_s, faults in got),
              f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")
        return 0
    finally:
        shutil.rmtree(root / "round", ignore_errors=True)
        if a.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
