"""Fuzzing the ingest boundary: the Tuva fixture's `medical_claim` rows with cells replaced by
garbage (text, numbers, dates out of range, huge values, quotes and delimiters). The promise: no
traceback, and every data row is accounted for, either as a line of an ingested claim or as a
named rejection in rejections.csv (nothing dropped silently).

Size: `CLAIMSIM_FUZZ_EXAMPLES` (default 100; each example is one `claimsim ingest`), at most 200
here since each runs the whole command.
"""

from __future__ import annotations

import contextlib
import csv
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claimsim.cli import main
from claimsim.events.log import read

from .conftest import COUNTS
from .test_fuzz_core import EXAMPLES

pytestmark = pytest.mark.fuzz

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "ingest_data"
ROWS = list(csv.reader((DATA / "tuva_medical_claim.csv").open(newline="")))
HEADER, BODY = ROWS[0], ROWS[1:]

garbage = st.one_of(
    st.text(max_size=30), st.sampled_from(["", "9999-12-31", "0000-00-00", "2024-02-30", "-5",
                                           "1e309", "NaN", "99999999999999999999", "1,5", "\"",
                                           "99213", "2024-03-05", "professional", "institutional"]),
    st.integers(-10**12, 10**12).map(str), st.floats(allow_nan=True).map(str))


@settings(max_examples=min(EXAMPLES, 200), deadline=None)
@given(edits=st.lists(st.tuples(st.integers(0, len(BODY) - 1), st.integers(0, len(HEADER) - 1),
                                garbage), min_size=1, max_size=6))
def test_every_row_is_ingested_or_rejected_by_name_never_a_traceback(tmp_path_factory, edits):
    rows = [list(r) for r in BODY]
    for row, column, value in edits:
        rows[row][column] = value
    folder = tmp_path_factory.mktemp("ingest")
    with (folder / "medical_claim.csv").open("w", newline="") as f:
        csv.writer(f).writerows([HEADER, *rows])
    out = folder / "run"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(["ingest", "--format", "tuva", str(folder / "medical_claim.csv"),
                     str(DATA / "tuva_eligibility.csv"), "--out", str(out), "--no-progress"])
    COUNTS["ingest: runs"] += 1
    COUNTS["ingest: rows"] += len(rows)
    assert code == 0
    lines = sum(len(e["data"]["claim"]["lines"]) for e in read(out / "input")
                if e["type"] == "claim.submitted")
    with (out / "rejections.csv").open(newline="") as f:
        rejected = [r for r in csv.DictReader(f) if r["file"] == "medical_claim.csv"]
    assert all(r["reason"] and r["column"] is not None for r in rejected)
    assert lines + len(rejected) == len(rows)
