"""`claimsim ingest --format tuva` on a generated Tuva medical_claim table (1M claim lines by
default; CLAIMSIM_BENCH_INGEST_LINES to change it), beside a raw pyarrow read of the same file.
The files are generated in a temporary directory and deleted after.

Peak memory is measured outside pytest (`/usr/bin/time -v`), on files written by
`python -m claimsim.benchmarks.bench_ingest DIR [LINES]`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

import pyarrow.csv as pacsv
import pytest

from claimsim.scenarios.tuva_sample import write_tuva_sample

LINES = int(os.environ.get("CLAIMSIM_BENCH_INGEST_LINES", "1000000"))
@pytest.fixture(scope="module")
def files():
    d = Path(tempfile.mkdtemp(prefix="claimsim-bench-ingest-"))
    try:
        yield d, *write_tuva_sample(d, LINES)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_ingest_tuva(benchmark, files):
    from claimsim.scenarios.ingest import Sources, ingest
    from claimsim.scenarios.ingest_cli import _template

    directory, claims, eligibility = files
    scenario, template = _template(None)
    run = directory / "run"

    def setup():
        shutil.rmtree(run, ignore_errors=True)
        return (), {}

    def once():
        summary = ingest(Sources("tuva", [claims], [eligibility]), template, run, scenario=scenario)
        assert summary.claim_lines == LINES and not summary.rejections

    benchmark.extra_info.update(items=LINES, baseline="test_read_raw_pyarrow")
    benchmark.pedantic(once, setup=setup, rounds=1, iterations=1)


def test_read_raw_pyarrow(benchmark, files):
    _, claims, _ = files

    def once():
        assert pacsv.read_csv(claims).num_rows == LINES

    benchmark.extra_info.update(items=LINES)
    benchmark.pedantic(once, rounds=3, iterations=1, warmup_rounds=1)


if __name__ == "__main__":  # write the files for a peak-memory run under /usr/bin/time -v
    parser = argparse.ArgumentParser(prog="python -m claimsim.benchmarks.bench_ingest",
                                     description="Write a generated Tuva medical_claim and"
                                                 " eligibility table into DIR.")
    parser.add_argument("dir", type=Path, help="folder to write the files into (made if missing)")
    parser.add_argument("lines", nargs="?", type=int, default=LINES,
                        help=f"claim lines (default {LINES})")
    a = parser.parse_args()
    a.dir.mkdir(parents=True, exist_ok=True)
    print(*write_tuva_sample(a.dir, a.lines))
