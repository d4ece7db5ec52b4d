"""Adjudication throughput: 100k synthetic claims end to end (read input, adjudicate, append to
the hash-chained ledger) beside a baseline that reads the same input and appends a pre-built
result per input through the same log, so the ratio says what the rules cost over the I/O.

Run: .venv/bin/pytest benchmarks/bench_adjudication.py --benchmark-enable -p no:cacheprovider -s
The input is `scenarios.synthetic`'s (the simulator is not used): families under Medicare Part B and
commercial plans, primary-care and specialist visits with labs and imaging, CPC+ Track 2, PCF and
MCP Track 3 practices with attributed members, and a share of replacements, voids, duplicates
and malformed claims.

Each round is timed twice: wall (pytest-benchmark's own figure) and CPU seconds of this process
(`time.process_time`, kept in `extra_info["cpu_s"]`, the rounds' median). On a shared machine wall
time also counts the time this process waited for a core, which a longer run suffers more of, so
the ratio table prints both; the CPU ratio is the one to compare across sittings.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from claimsim.benchmarks.cputime import cpu_timed, record_cpu
from claimsim.events.log import LogWriter, read
from claimsim.scenarios.synthetic import attribution_events, write_synthetic_run

N_CLAIMS = int(os.environ.get("CLAIMSIM_BENCH_CLAIMS", "100000"))


BASELINE = "test_baseline_read_and_append_prebuilt_results"


def make_synthetic_run(claims: int = N_CLAIMS) -> tuple[Path, dict]:
    """The bench's input run (`run`, under a fresh temporary root, `facts["root"]`, which the
    caller removes) and what the rounds need of it."""
    root = Path(tempfile.mkdtemp(prefix="claimsim-bench-"))
    run = root / "run"
    run.mkdir()
    facts = write_synthetic_run(run, claims)
    facts["attribution"] = attribution_events(facts["members"])
    facts["root"] = root
    return run, facts


@pytest.fixture(scope="module")
def synthetic_run():
    run, facts = make_synthetic_run()
    yield run, facts
    shutil.rmtree(facts["root"], ignore_errors=True)


RESULTS: dict[str, float] = {}


def _report(benchmark, name: str, items: int, cpu: list[float]) -> tuple[float, float]:
    """(wall median, CPU median) of the rounds, recorded in `extra_info` and printed."""
    wall, cpu_s = benchmark.stats.stats.median, record_cpu(benchmark, cpu)
    benchmark.extra_info["claims_per_s"] = round(items / wall)
    benchmark.extra_info["claims_per_cpu_s"] = round(items / cpu_s)
    print(f"\n{name}: {items:,} claims in {wall:.2f} s wall = {items / wall:,.0f} claims/s;"
          f" {cpu_s:.2f} CPU s = {items / cpu_s:,.0f} claims/CPU-s (medians of {len(cpu)} rounds)")
    return wall, cpu_s


def _scratch(facts: dict, name: str) -> Path:
    """One round's scratch folder under the suite's root, the previous round's removed first
    (each round writes a full ledger: kept, they would add up to gigabytes)."""
    path = facts["root"] / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir()
    return path


def _fresh_copy(run: Path, facts: dict) -> Path:
    target = _scratch(facts, "round") / "run"
    target.mkdir()
    shutil.copy(run / "reference.json", target / "reference.json")
    shutil.copy(run / "run.json", target / "run.json")
    (target / "input").symlink_to((run / "input").resolve())
    return target


def ours_setup(run: Path, facts: dict):
    """A round's runtime over a fresh copy of the run, its attribution recorded (untimed)."""
    from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator

    rt = EmbeddedAdjudicator(_fresh_copy(run, facts))
    rt.record([dict(e) for e in facts["attribution"]])  # the log owns what it appends
    return rt


def ours_body(rt) -> None:
    """The timed body: every input read, adjudicated and its answer appended to the ledger."""
    rt.run()
    rt.close()


def test_adjudicate_100k_claims_end_to_end(benchmark, synthetic_run):
    run, facts = synthetic_run

    def setup():
        return (ours_setup(run, facts),), {}

    cpu: list[float] = []
    benchmark.pedantic(cpu_timed(ours_body, cpu), setup=setup, rounds=3, iterations=1)
    from claimsim.native import engine_kind

    benchmark.extra_info.update(items=facts["claims"], baseline=BASELINE, engine=engine_kind())
    wall, cpu_s = _report(benchmark, f"adjudicate ({engine_kind()} engine)", facts["claims"], cpu)
    RESULTS["ours"], RESULTS["ours_cpu"] = wall, cpu_s
    benchmark.extra_info["inputs_per_s"] = round(facts["inputs"] / wall)


def prebuilt_results(run: Path, facts: dict) -> list[dict]:
    """The baseline's answers: one real run's ledger entries for the inputs, without their
    chain fields (the baseline's writer adds its own)."""
    from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator

    target = _fresh_copy(run, facts)
    with EmbeddedAdjudicator(target) as rt:
        rt.record([dict(e) for e in facts["attribution"]])
        rt.run()
    return [{k: env[k] for k in ("type", "v", "at", "key", "cause", "data")}
            for env in read(target / "ledger") if env["cause"] is not None]


def baseline_setup(facts: dict, prebuilt: list[dict]) -> tuple[LogWriter, list[dict]]:
    """A round's fresh ledger writer and answers (untimed)."""
    ledger = _scratch(facts, "base-round") / "ledger"
    # The log takes ownership of what it appends (it adds seq, prev, hash): fresh copies.
    return LogWriter(ledger), [dict(e) for e in prebuilt]


def baseline_body(run: Path, writer: LogWriter, results: list[dict]) -> None:
    """The timed baseline: the same input read and checked, a pre-built answer appended for
    each through the same log, committed every 5,000 as the runtime's batches are."""
    append, i = writer.append, 0
    for env in read(run / "input"):
        append(results[env["seq"]])
        i += 1
        if i % 5000 == 0:
            writer.commit()
    writer.close()


def test_baseline_read_and_append_prebuilt_results(benchmark, synthetic_run):
    run, facts = synthetic_run
    prebuilt = prebuilt_results(run, facts)

    def setup():
        return (run, *baseline_setup(facts, prebuilt)), {}

    cpu: list[float] = []
    benchmark.pedantic(cpu_timed(baseline_body, cpu), setup=setup, rounds=3, iterations=1)
    benchmark.extra_info.update(items=facts["claims"])
    wall, cpu_s = _report(benchmark, "baseline", facts["claims"], cpu)
    if "ours" in RESULTS:  # the same medians the session's ratio table divides
        ratio, cpu_ratio = wall / RESULTS["ours"], cpu_s / RESULTS["ours_cpu"]
        benchmark.extra_info["ratio_ours_to_baseline"] = round(ratio, 3)
        benchmark.extra_info["cpu_ratio_ours_to_baseline"] = round(cpu_ratio, 3)
        print(f"ratio (adjudicate throughput / baseline throughput): {ratio:.2f} wall,"
              f" {cpu_ratio:.2f} CPU")


if __name__ == "__main__":  # quick look without pytest: python -m claimsim.benchmarks.bench_adjudication
    import argparse

    from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator

    parser = argparse.ArgumentParser(prog="python -m claimsim.benchmarks.bench_adjudication",
                                     description="One embedded run of the bench's synthetic claims,"
                                                 " without pytest (its folder removed after).")
    parser.add_argument("claims", nargs="?", type=int, default=N_CLAIMS,
                        help=f"synthetic claims (default {N_CLAIMS})")
    claims = parser.parse_args().claims
    root = Path(tempfile.mkdtemp(prefix="claimsim-bench-"))
    try:
        (root / "run").mkdir()
        facts = write_synthetic_run(root / "run", claims)
        with EmbeddedAdjudicator(root / "run") as rt:
            rt.record(attribution_events(facts["members"]))
            t0 = time.perf_counter()
            rt.run()
            took = time.perf_counter() - t0
            print(rt.stats, f"{facts['claims'] / took:,.0f} claims/s")
    finally:
        shutil.rmtree(root, ignore_errors=True)
