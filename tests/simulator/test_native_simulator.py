"""The compiled simulator (mypyc, built by `pip install`: setup.py's GROUPS) against the
reference, its Python sources: the same config writes the same run directory, byte for byte.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from claimsim import native

SIMULATOR = Path(native.__file__).resolve().parent.parent / "simulator"
BUILT = (SIMULATOR / native.MANIFEST).exists()

# Simulates into argv[1] in a fresh process, whose simulator CLAIMSIM_PURE picks, and prints
# which one ran. Faults at ten times their rates, HbA1c tests and a demographic group effect on
# alignment, so every compiled path (faults, tests, referrals, churn, alignment) writes events;
# the run-out is long enough for a late claim (past timely filing) to arrive.
_CHILD = """
import sys
from claimsim.native import simulator_kind
from claimsim.simulator.config import (DemographicsConfig, FaultConfig, GroupEffect,
                                       QualityConfig, SimConfig)
from claimsim.simulator.run_dir import simulate_to_dir
config = SimConfig(
    seed=7, members=1500, months=3, runout_months=14,
    faults=FaultConfig(duplicate_bp=1500, replacement_bp=1000, void_bp=500, malformed_bp=500,
                       late_bp=200),
    quality=QualityConfig(hba1c_monthly_bp=1900),
    demographics=DemographicsConfig(
        group_effects={"language:spanish": GroupEffect(alignment_delta_bp=2000)}))
simulate_to_dir(config, sys.argv[1])
print(simulator_kind())
"""


def _simulate(target: Path, pure: str) -> tuple[str, dict[str, str]]:
    env = {**os.environ, native.PURE_ENV: pure}
    done = subprocess.run([sys.executable, "-c", _CHILD, str(target)], env=env,
                          capture_output=True, text=True, check=True)
    digests = {str(p.relative_to(target)): hashlib.sha256(p.read_bytes()).hexdigest()
               for p in sorted(target.rglob("*")) if p.is_file() and p.name != "LOCK"}  # a pid
    return done.stdout.strip().splitlines()[-1], digests


@pytest.mark.skipif(not BUILT, reason="no compiled simulator built (mypyc or a C compiler missing)")
def test_compiled_and_pure_simulators_write_the_same_bytes(tmp_path):
    pure_kind, pure = _simulate(tmp_path / "pure", "1")
    native_kind, compiled = _simulate(tmp_path / "native", "0")
    assert (pure_kind, native_kind) == ("pure (CLAIMSIM_PURE is set)", "native")
    assert {"reference.json", "run.json", "input/000000000000.jsonl",
            "truth/000000000000.jsonl"} <= set(pure)
    inputs = (tmp_path / "pure" / "input" / "000000000000.jsonl").read_bytes()
    truths = (tmp_path / "pure" / "truth" / "000000000000.jsonl").read_bytes()
    for kind in (b'"frequency":"7"', b'"frequency":"8"', b'"83037"', b'"member.terminated"',
                 b'"alignment.declared"'):
        assert kind in inputs, kind
    for kind in (b'"malformed"', b'"late"', b'"duplicate"', b'"truth.referral"',
                 b'"truth.pcp_changed"'):
        assert kind in truths, kind
    assert compiled == pure
