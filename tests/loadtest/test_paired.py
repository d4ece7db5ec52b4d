"""`claimsim bench --paired N`: ours and its baseline in alternating rounds, each pair's ratio
(baseline time / ours time) and their median, every scratch folder removed after. Run as a
command (tests do not import the benchmarks), on a bench input small enough for the fast loop."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys

ROW = re.compile(r"^\s+(\d+)\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)\s+([\d.]+)x\s+([\d.]+)x"
                 r"\s+(ours|base)$")


def _paired(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CLAIMSIM_BENCH_CLAIMS": "300", "TMPDIR": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "claimsim", "bench", *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)


def test_pairs_alternate_and_the_median_is_of_the_pairs_ratios(tmp_path):
    done = _paired(tmp_path, "adjudication", "--paired", "3")
    assert done.returncode == 0, done.stderr
    rows = [ROW.match(line) for line in done.stdout.splitlines()]
    rows = [m for m in rows if m]
    assert [m[1] for m in rows] == ["1", "2", "3"]
    assert [m[8] for m in rows] == ["ours", "base", "ours"]  # the order alternates
    for m in rows:
        ours, ours_cpu, base, base_cpu = (int(m[i].replace(",", "")) for i in (2, 3, 4, 5))
        # Throughputs of one pair: the ratio is ours over the baseline's (rates rounded).
        assert abs(float(m[6]) - ours / base) < 0.01 + 1 / base * 2
        assert abs(float(m[7]) - ours_cpu / base_cpu) < 0.01 + 1 / base_cpu * 2
    wall = statistics.median(float(m[6]) for m in rows)
    cpu = statistics.median(float(m[7]) for m in rows)
    assert f"median of 3 pairs' ratios: {wall:.3f}x wall" in done.stdout
    assert f"{cpu:.3f}x per CPU-second" in done.stdout
    assert "300 claims" in done.stdout
    assert list(tmp_path.iterdir()) == []  # the synthetic run and every round's ledger removed


def test_a_suite_without_a_paired_form_is_a_user_error(tmp_path):
    done = _paired(tmp_path, "streaming", "--paired", "2")
    assert done.returncode == 2
    assert "--paired runs adjudication, projections, simulator; not 'streaming'" in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []
