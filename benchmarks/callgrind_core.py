"""The embedded loop's cost per input in instructions, which do not move with the machine's load:
one process adjudicates a synthetic run end to end (read input, adjudicate, append the
hash-chained ledger) under `valgrind --tool=callgrind`, and the inclusive counts of its parts
(docs/performance.md, "Where the embedded loop's time goes") are printed per input.

Run: .venv/bin/python -m claimsim.benchmarks.callgrind_core [CLAIMS] [--keep DIR]   (default 5000)
The whole process includes Python's start-up and imports, about 1,050M instructions (a 50-claim
run counts 1,062M): per input it is (whole - 1,050M) / inputs. The engine is the one
`claimsim.native` loads (compiled after `pip install -e .`; CLAIMSIM_PURE=1 for the Python one,
whose parts are then not named by C symbols).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Part -> the C symbols (compiled engine, orjson, the interpreter) whose inclusive counts it is.
# A part listed with several symbols takes the first one the profile has.
PARTS = (
    ("the whole process", ("below main", "main")),
    ("the core (core.adjudicate)", ("CPyDef_core___adjudicate",)),
    ("  validation (validate_claim)", ("CPyDef_validation___validate_claim",)),
    ("  validation of a typed claim (validate_typed)", ("CPyDef_typed_claims___validate_typed",)),
    ("  the date facts (plan_lines)", ("CPyDef_line_plan___plan_lines",)),
    ("  the line pass (_adjudicate_lines)", ("CPyDef_claims____adjudicate_lines",)),
    ("    line results (line_result)", ("CPyDef_line_results___line_result",)),
    ("  the ledger entry's data (claim_event_data)", ("CPyDef_claims___claim_event_data",)),
    ("  the claim record's store write (put_record)", ("CPyDef_family___FamilyState___put_record",)),
    ("orjson encode (all callers)", ("dumps",)),
    ("orjson decode (all callers)", ("loads",)),
    ("msgspec decode (typed claim input lines)", ("JSONDecoder_decode",)),
    ("sha256 (input and ledger chains; no SHA extensions under valgrind)", ("SHA256_Update",)),
)


def _child(root: Path) -> None:
    from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator

    rt = EmbeddedAdjudicator(root / "run")
    rt.record(json.loads((root / "attribution.json").read_text()))
    rt.run()
    rt.close()


def _counts(out_file: Path) -> dict[str, int]:
    """Inclusive instruction counts by function name, from callgrind_annotate."""
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(out_file)],
                          capture_output=True, text=True, check=True).stdout
    counts: dict[str, int] = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(?:\S+:)?(\S.*?)(?: \[.*\])?$", line)
        if m:
            name = m.group(2).strip()
            counts.setdefault(name, int(m.group(1).replace(",", "")))
    return counts


def synthetic_root(root: Path, claims: int) -> dict:
    """Write `claims` synthetic claims as ROOT/run and their attribution as ROOT/attribution.json
    (what a child's `rt.record` reads); returns the synthetic run's facts. Shared with
    `perf_body`."""
    from claimsim.scenarios.synthetic import attribution_events, write_synthetic_run

    shutil.rmtree(root / "run", ignore_errors=True)
    (root / "run").mkdir(parents=True)
    facts = write_synthetic_run(root / "run", claims)
    (root / "attribution.json").write_text(json.dumps(attribution_events(facts["members"])))
    return facts


def claims_and_keep(args: list[str], default: int, prog: str = "callgrind_core",
                    what: str = "") -> tuple[int, Path | None]:
    """`[CLAIMS] [--keep DIR]` from a tool's arguments (shared with `perf_body`); `--help` prints
    the usage and a bad argument stops with argparse's message, not a traceback."""
    parser = argparse.ArgumentParser(prog=f"python -m claimsim.benchmarks.{prog}", description=what)
    parser.add_argument("claims", nargs="?", type=int, default=default,
                        help=f"synthetic claims (default {default})")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep the synthetic run and the profile here")
    a = parser.parse_args(args)
    return a.claims, a.keep


def main(claims: int, keep: Path | None) -> int:
    root = keep or Path(tempfile.mkdtemp(prefix="claimsim-callgrind-"))
    try:
        facts = synthetic_root(root, claims)
        out = root / "callgrind.out"
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                        sys.executable, "-m", "claimsim.benchmarks.callgrind_core", "--child", str(root)],
                       check=True, capture_output=True, env=os.environ)
        counts = _counts(out)
        inputs = facts["inputs"]
        print(f"{claims:,} synthetic claims ({inputs:,} inputs); instructions, inclusive")
        print(f"{'part':<56} {'instructions':>14} {'per input':>10}")
        for label, symbols in PARTS:
            found = next((counts[s] for s in symbols if s in counts), None)
            if found is None:
                print(f"{label:<56} {'-':>14} {'-':>10}")
            else:
                print(f"{label:<56} {found / 1e6:>13,.1f}M {found / inputs / 1e3:>9.1f}k")
        return 0
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(Path(sys.argv[2]))
    else:
        sys.exit(main(*claims_and_keep(sys.argv[1:], 5_000, "callgrind_core",
                                       "Instructions of the embedded run, by part (callgrind).")))
