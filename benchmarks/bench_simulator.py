"""Simulator throughput: 10k members x 12 months written to a run directory (reference.json,
input/ and truth/ logs), beside a raw SimPy baseline in the same run: one process per member doing
one `env.timeout` per visit, the same number of visits, no claim building and no log.

Run: .venv/bin/pytest benchmarks/bench_simulator.py --benchmark-enable -p no:cacheprovider -s
The ratio printed at the end is baseline time / our time (the target is >= 0.3x and
>= 40k claims/s). CLAIMSIM_BENCH_MEMBERS changes the population.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import simpy

from claimsim.benchmarks.cputime import cpu_timed, record_cpu
from claimsim.simulator.config import SimConfig
from claimsim.simulator.model import simulate
from claimsim.simulator.run_dir import simulate_to_dir

MEMBERS = int(os.environ.get("CLAIMSIM_BENCH_MEMBERS", "10000"))
CONFIG = SimConfig(seed=1, members=MEMBERS, months=12)


def run_shape() -> tuple[int, int, int]:
    """The run's size, from one untimed run: claims written, visits simulated, members."""
    summary = simulate(CONFIG, lambda e: None, lambda e: None)
    return summary.claims, sum(summary.visits.values()), summary.members_ever


@pytest.fixture(scope="module")
def shape():
    return run_shape()


@pytest.fixture
def workdir():
    path = Path(tempfile.mkdtemp(prefix="claimsim-bench-sim-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_simulate_10k_members_12_months(benchmark, shape, workdir):
    claims, visits, _ = shape
    runs = iter(range(1_000))

    def setup():
        return (workdir / f"run{next(runs)}",), {}

    def run(run_dir):
        simulate_round(run_dir, claims)

    benchmark.extra_info.update(items=claims, visits=visits, baseline="test_raw_simpy_baseline")
    cpu: list[float] = []
    benchmark.pedantic(cpu_timed(run, cpu), setup=setup, rounds=5, iterations=1, warmup_rounds=1)
    median, cpu_s = benchmark.stats.stats.median, record_cpu(benchmark, cpu, warmup=1)
    print(f"\nsimulator: {claims:,} claims ({visits:,} visits) in {median:.2f} s"
          f" = {claims / median:,.0f} claims/s; {claims / cpu_s:,.0f} claims/CPU-s")


def test_simulate_model_only_no_log(benchmark, shape):
    """The same run into null sinks that take encoded events as a log's sink does: what the model
    (and each event's canonical bytes, made when it is queued) costs without writing the
    hash-chained logs. Plain function sinks would take the queue's other path, which keeps every
    in-flight event as a tree of dicts: slower than writing the logs, so not a baseline."""
    claims, visits, _ = shape

    def run():
        summary = simulate(CONFIG, _Dropped(), _Dropped())
        assert summary.claims == claims

    benchmark.extra_info.update(items=claims, visits=visits, baseline="test_raw_simpy_baseline")
    cpu: list[float] = []
    benchmark.pedantic(cpu_timed(run, cpu), rounds=5, iterations=1, warmup_rounds=1)
    median, cpu_s = benchmark.stats.stats.median, record_cpu(benchmark, cpu, warmup=1)
    print(f"\nsimulator, no log: {claims:,} claims in {median:.2f} s = {claims / median:,.0f} claims/s;"
          f" {claims / cpu_s:,.0f} claims/CPU-s")


class _Dropped:
    """An `EncodedSink` that keeps nothing."""

    def __call__(self, event) -> None:
        pass

    def write_encoded(self, bodies) -> None:
        pass


def _member(env, n_visits):
    gap = 365 / (n_visits + 1)
    for _ in range(n_visits):
        yield env.timeout(gap)


def raw_simpy(visits: int, members: int) -> None:
    """The baseline's body: one process per member, one timeout per visit (visits spread evenly
    over members)."""
    env = simpy.Environment()
    per, extra = divmod(visits, members)
    for i in range(members):
        env.process(_member(env, per + (i < extra)))
    env.run()


def simulate_round(run_dir: Path, claims: int) -> None:
    """Ours: the run written to `run_dir` (its claims checked), then removed (as each round)."""
    summary = simulate_to_dir(CONFIG, run_dir)
    assert summary.claims == claims
    shutil.rmtree(run_dir)


def test_raw_simpy_baseline(benchmark, shape):
    """One process per member, one timeout per visit (visits spread evenly over members)."""
    claims, visits, members = shape

    def run():
        raw_simpy(visits, members)

    benchmark.extra_info.update(items=claims, visits=visits)
    cpu: list[float] = []
    benchmark.pedantic(cpu_timed(run, cpu), rounds=5, iterations=1, warmup_rounds=1)
    median = benchmark.stats.stats.median
    record_cpu(benchmark, cpu, warmup=1)
    print(f"\nraw SimPy: {visits:,} visits in {median:.2f} s = {visits / median:,.0f} visits/s")
