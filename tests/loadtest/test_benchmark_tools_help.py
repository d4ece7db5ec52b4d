"""Every measurement tool a user runs as `python -m claimsim.benchmarks.X` answers `--help` with
its usage and nothing else: before, four of them read `--help` as a number of claims (a
ValueError) or as a folder to write into (`bench_ingest` made `./--help/`)."""

from __future__ import annotations

import subprocess
import sys

import pytest

TOOLS = ("bench_adjudication", "bench_ingest", "body_rounds", "callgrind_core", "engines", "paired",
         "perf_body", "loadtest.changelog_bytes", "loadtest.steady")


@pytest.mark.parametrize("tool", TOOLS)
def test_help_prints_usage_and_writes_nothing(tool, tmp_path):
    done = subprocess.run([sys.executable, "-m", f"claimsim.benchmarks.{tool}", "--help"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: python -m claimsim.benchmarks.{tool}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("tool", ("callgrind_core", "perf_body", "engines", "body_rounds"))
def test_a_claims_count_that_is_not_a_number_is_a_usage_error(tool, tmp_path):
    done = subprocess.run([sys.executable, "-m", f"claimsim.benchmarks.{tool}", "many"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "invalid int value: 'many'" in done.stderr and "Traceback" not in done.stderr
