"""Where the adjudication bench's timed body spends its CPU time, by part: `perf record` of one
process adjudicating a synthetic run, sampling only `EmbeddedAdjudicator.run()` (perf starts
disabled and the process enables it through perf's control fifo once its set-up is done, so the
run's creation, imports and attribution are not in the profile), with DWARF call graphs. Each
sample is given to the part it falls in, by the compiled engine's C symbols
(`CPyDef_<module>___<function>`), orjson's, OpenSSL's and the kernel's; Python frames are not
named (the interpreter shows as `_PyEval_EvalFrameDefault`), so the input reader is recognised as
the generator it runs in (`gen_iternext`; compiled, by its symbols) and what is left is the
runtime's Python, or its compiled glue ("glue").

Run: .venv/bin/python -m claimsim.benchmarks.perf_body [CLAIMS] [--keep DIR]   (default 100000)
Needs `perf` (perf_event_paranoid <= 2 samples one's own processes). `callgrind_core` counts the
same loop in instructions; this one says where the time goes, which is what the bench measures.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from claimsim.benchmarks.callgrind_core import claims_and_keep, synthetic_root

# The core's parts, the first whose symbol is on a sample's stack (below `core.adjudicate`) wins:
# nested parts come before the parts that call them.
ENGINE_PARTS = (
    ("the claim record: build, encode, store (put_record)", "CPyDef_family___FamilyState___put_record"),
    ("the answer's data (claim_event_data)", "CPyDef_claims___claim_event_data"),
    ("validation (validate_claim)", "CPyDef_validation___validate_claim"),
    ("validation of a typed claim (validate_typed)", "CPyDef_typed_claims___validate_typed"),
    ("line results and adjustments (line_results)", "CPyDef_line_results___"),
    ("cost share (_cost_share)", "CPyDef_claims____cost_share"),
    ("the rest of the line pass (_adjudicate_lines)", "CPyDef_claims____adjudicate_lines"),
    ("the date facts (plan_lines)", "CPyDef_line_plan___plan_lines"),
    ("root and record read (_root)", "CPyDef_claims____root"),
    ("an enrollment (_enroll)", "CPyDef_core____enroll"),
)
CORE = "CPyDef_core___adjudicate"


def part_of(stack: list[str]) -> tuple[str, str]:
    """(part, detail) of one sample, its stack's symbols from the outermost frame in."""
    def on(symbol: str) -> bool:
        return any(symbol in frame for frame in stack)

    hashing = on("SHA256") or on("sha256") or on("EVP_") or on("_hashlib")

    if on(CORE):
        inner = stack[next(i for i, f in enumerate(stack) if CORE in f):]
        for label, symbol in ENGINE_PARTS:
            if any(symbol in frame for frame in inner):
                return "engine", label
        return "engine", "the rest of the core"
    # The chain-checked input reader: a generator, run by the interpreter (`gen_iternext`) or
    # compiled (its C symbols, `CPyDef_input_reader___read_checked_gen...`).
    if on("gen_iternext") or on("input_reader___read_checked_gen"):
        if on("loads"):
            return "input read and check", "orjson decode"
        if on("JSONDecoder_decode"):
            return "input read and check", "msgspec decode (typed claims)"
        if hashing:
            return "input read and check", "sha256 of each line"
        return "input read and check", "reading lines, checks"
    if on("ksys_write"):
        return "ledger", "write (kernel copy)"
    if hashing:
        return "ledger", "sha256 of each entry"
    if on("dumps"):
        return "answer encoding", "orjson encode (the answer around its lines)"
    if on("_dealloc") or on("_Free") or on("free_keys_object") or on("_int_free"):
        return "runtime's Python (glue)", "freeing inputs and answers"
    return "runtime's Python (glue)", "the rest (processor loop, writer, stats)"


def stacks(script: Iterable[str]) -> Iterator[list[str]]:
    """Each sample's stack (outermost frame first, symbols without offsets) from `perf script`."""
    frames: list[str] = []
    for line in script:
        if line[:1] in (" ", "\t") and line.strip():
            fields = line.split(None, 1)
            if len(fields) == 2:
                frames.append(fields[1].split(" (")[0].split("+0x")[0])
            continue
        if frames:
            yield frames[::-1]
        frames = []
    if frames:
        yield frames[::-1]


def table(samples: Iterable[list[str]]) -> list[tuple[str, str, float]]:
    """(part, detail, share of samples) rows, parts by share, each followed by its details
    (detail "" for a part's own row)."""
    parts: Counter[str] = Counter()
    details: Counter[tuple[str, str]] = Counter()
    for stack in samples:
        part, detail = part_of(stack)
        parts[part] += 1
        details[(part, detail)] += 1
    total = sum(parts.values()) or 1
    rows = []
    for part, n in parts.most_common():
        rows.append((part, "", n / total))
        rows += [(p, d, m / total) for (p, d), m in details.most_common() if p == part]
    return rows


def _child(root: Path, fifo: str) -> None:
    from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator

    rt = EmbeddedAdjudicator(root / "run")
    rt.record(json.loads((root / "attribution.json").read_text()))
    control = os.open(fifo, os.O_WRONLY)
    os.write(control, b"enable\n")
    cpu = time.process_time()
    n = rt.run()
    rt.close()
    cpu = time.process_time() - cpu
    os.write(control, b"disable\n")
    os.close(control)
    print(f"{n:,} inputs in {cpu:.2f} CPU s (the timed body, profiled)")


def main(claims: int, keep: Path | None) -> int:
    root = keep or Path(tempfile.mkdtemp(prefix="claimsim-perf-"))
    try:
        facts = synthetic_root(root, claims)
        fifo, data = root / "perf.ctl", root / "perf.data"
        fifo.unlink(missing_ok=True)
        os.mkfifo(fifo)
        subprocess.run(["perf", "record", "-F", "499", "--call-graph", "dwarf,16384", "-D", "-1",
                        "--control", f"fifo:{fifo}", "-o", str(data), "--", sys.executable, "-m",
                        "claimsim.benchmarks.perf_body", "--child", str(root), str(fifo)],
                       check=True, stderr=subprocess.DEVNULL)
        script = subprocess.run(["perf", "script", "-i", str(data)], capture_output=True,
                                text=True, errors="replace", check=True).stdout
        print(f"{claims:,} synthetic claims ({facts['inputs']:,} inputs); share of CPU samples")
        for part, detail, share in table(stacks(script.splitlines())):
            label = part if not detail else f"  {detail}"
            print(f"{label:<60} {100 * share:>5.1f} %")
        return 0
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(Path(sys.argv[2]), sys.argv[3])
    else:
        sys.exit(main(*claims_and_keep(sys.argv[1:], 100_000, "perf_body",
                                       "Where the adjudication bench's timed body spends its"
                                       " CPU time, by part (perf).")))
