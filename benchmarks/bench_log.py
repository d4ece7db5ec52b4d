"""Log append and sequential read of 100k claim events, beside a raw orjson baseline writing and
reading the same dicts to and from a plain file."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import orjson
import pytest

from claimsim.events.envelope import new_event
from claimsim.events.log import LogWriter, read

N = 100_000


def _claim(i: int) -> dict:
    return {
        "claim_id": f"C{i:08d}", "frequency": "1", "original_claim_id": None,
        "member_id": f"M{i % 9000:06d}", "subscriber_id": f"S{i % 4000:06d}", "payer_id": "COM",
        "billing_tin": f"{100000000 + i % 40}", "rendering_npi": f"{1000000000 + i % 160}",
        "place_of_service": "11", "received": "2025-03-10",
        "lines": [
            {"line_no": 1, "service_date": "2025-03-04", "procedure": "99214", "modifiers": [],
             "units": 1, "billed": 25_600, "diagnoses": ["E11.9", "I10"]},
            {"line_no": 2, "service_date": "2025-03-04", "procedure": "83036", "modifiers": [],
             "units": 1, "billed": 2_900, "diagnoses": ["E11.9"]},
        ],
    }


@pytest.fixture(scope="module")
def events() -> list[dict]:
    return [
        new_event({"claim": _claim(i)}, type="claim.submitted", at="2025-03-10",
                  key=f"S{i % 4000:06d}")
        for i in range(N)
    ]


@pytest.fixture
def workdir():
    d = Path(tempfile.mkdtemp(prefix="claimsim-bench-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _fresh(workdir: Path, name: str) -> Path:
    path = workdir / name
    shutil.rmtree(path, ignore_errors=True)
    return path


def test_append_log(benchmark, events, workdir):
    def setup():  # the log takes ownership of each dict, so every round gets fresh ones
        return ([dict(e) for e in events],), {}

    def run(batch):
        with LogWriter(_fresh(workdir, "log")) as w:
            w.extend(batch)

    benchmark.extra_info.update(items=N, baseline="test_append_raw_orjson")
    benchmark.pedantic(run, setup=setup, rounds=5, iterations=1, warmup_rounds=1)


def test_append_raw_orjson(benchmark, events, workdir):
    def run():
        path = _fresh(workdir, "raw.jsonl")
        with open(path, "wb", buffering=1 << 20) as f:
            for e in events:
                f.write(orjson.dumps(e) + b"\n")
            f.flush()
            os.fsync(f.fileno())

    benchmark.extra_info.update(items=N)
    benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)


def test_read_log(benchmark, events, workdir):
    log_dir = workdir / "readlog"
    with LogWriter(log_dir) as w:
        w.extend(dict(e) for e in events)

    def run():
        n = 0
        for _ in read(log_dir):
            n += 1
        assert n == N

    benchmark.extra_info.update(items=N, baseline="test_read_raw_orjson")
    benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)


def test_read_raw_orjson(benchmark, events, workdir):
    path = workdir / "raw-read.jsonl"
    with open(path, "wb") as f:
        for e in events:
            f.write(orjson.dumps(e) + b"\n")

    def run():
        n = 0
        with open(path, "rb") as f:
            for line in f:
                orjson.loads(line)
                n += 1
        assert n == N

    benchmark.extra_info.update(items=N)
    benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
