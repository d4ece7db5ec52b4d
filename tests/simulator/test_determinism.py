"""Determinism of the simulator (DESIGN.md "Determinism"): the same seed gives byte-identical run
directories, another seed differs, and named sub-streams keep common random numbers across
what-if points (changing a referral propensity moves only referrals)."""

from __future__ import annotations

from pathlib import Path

from claimsim.simulator.config import ReferralConfig, SimConfig
from claimsim.simulator.model import simulate
from claimsim.simulator.run_dir import simulate_to_dir


def _files(run_dir: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(run_dir)): p.read_bytes()
        for p in sorted(run_dir.rglob("*"))
        if p.is_file() and p.name != "LOCK"
    }


def _small(seed: int = 7, **kw) -> SimConfig:
    return SimConfig(seed=seed, members=400, months=6, runout_months=2, **kw)


def test_same_seed_writes_byte_identical_run_directories(tmp_path):
    simulate_to_dir(_small(), tmp_path / "a")
    simulate_to_dir(_small(), tmp_path / "b")
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert set(a) >= {"reference.json", "run.json"}
    assert any(name.startswith("input/") for name in a)
    assert any(name.startswith("truth/") for name in a)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name] == b[name], f"{name} differs between two runs with the same seed"


def test_another_seed_gives_different_logs(tmp_path):
    simulate_to_dir(_small(seed=7), tmp_path / "a")
    simulate_to_dir(_small(seed=8), tmp_path / "b")
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    inputs_a = b"".join(v for k, v in a.items() if k.startswith("input/"))
    inputs_b = b"".join(v for k, v in b.items() if k.startswith("input/"))
    assert inputs_a != inputs_b
    truth_a = b"".join(v for k, v in a.items() if k.startswith("truth/"))
    truth_b = b"".join(v for k, v in b.items() if k.startswith("truth/"))
    assert truth_a != truth_b


def _run(config: SimConfig) -> tuple[list[dict], list[dict]]:
    inputs: list[dict] = []
    truth: list[dict] = []
    simulate(config, inputs.append, truth.append)
    return inputs, truth


def test_changing_referral_propensity_keeps_enrollment_and_visit_draws():
    """Common random numbers: only referral-born claims (ids starting "R") may change."""
    low = _small(referrals=ReferralConfig(avoidable_base_bp=0, avoidable_slope_bp=0,
                                          avoidable_spread_bp=0))
    high = _small(referrals=ReferralConfig(avoidable_base_bp=6000, avoidable_slope_bp=0,
                                           avoidable_spread_bp=0))
    (in_low, truth_low), (in_high, truth_high) = _run(low), _run(high)

    def not_referral_born(events):
        out = []
        for e in events:
            if e["type"] == "claim.submitted" and e["data"]["claim"]["claim_id"].startswith("R"):
                continue
            if e["type"] in ("truth.referral",):
                continue
            if e["type"] == "truth.fault" and (e["data"]["claim_id"] or "").startswith("R"):
                continue
            out.append(e)
        return out

    # Enrollment, alignment, quality and every claim not born of a referral are the same
    # events; PCP claims may differ only in the in-house lines a referral took away.
    def shape(e):
        if e["type"] != "claim.submitted":
            return e
        c = e["data"]["claim"]
        return (e["at"], c["claim_id"], c["member_id"] if "member_id" in c else None,
                c["billing_tin"], c["lines"][0]["procedure"], c["lines"][0]["service_date"])

    a = [shape(e) for e in not_referral_born(in_low)]
    b = [shape(e) for e in not_referral_born(in_high)]
    assert a == b
    assert not_referral_born(truth_low) == not_referral_born(truth_high)
    # ... while the referrals themselves did change.
    refs_low = sum(1 for e in truth_low if e["type"] == "truth.referral" and e["data"]["avoidable"])
    refs_high = sum(1 for e in truth_high if e["type"] == "truth.referral" and e["data"]["avoidable"])
    assert refs_low == 0 < refs_high
    necessary_low = [e for e in truth_low if e["type"] == "truth.referral" and not e["data"]["avoidable"]]
    necessary_high = [e for e in truth_high if e["type"] == "truth.referral" and not e["data"]["avoidable"]]
    assert necessary_low == necessary_high and necessary_low


def test_runs_in_processes_with_different_hash_seeds_write_identical_bytes(tmp_path):
    """Nothing logged may depend on `hash()` or set order: two interpreters with different
    PYTHONHASHSEED values write the same run directory."""
    import os
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from claimsim.simulator import SimConfig, simulate_to_dir\n"
        "simulate_to_dir(SimConfig(seed=3, members=300, months=3), sys.argv[1])\n"
    )
    for n, hash_seed in enumerate(("1", "987")):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", script, str(tmp_path / f"r{n}")], env=env, check=True)
    a, b = _files(tmp_path / "r0"), _files(tmp_path / "r1")
    assert a.keys() == b.keys() and all(a[k] == b[k] for k in a)
