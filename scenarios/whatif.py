"""What-if sweeps: a scenario run at every combination of `--vary KEY=V1,V2,...` values, each
point with R replicates under common random numbers (replicate r uses seed `seed + r` at every
point, so a difference between points is the setting, not noise), points in parallel across
cores; means and 95 % intervals over replicates, as tables and charts.
The axes and each point's scenario are `vary`'s.
"""

from __future__ import annotations

import math
import signal
import threading
import time
import os
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from claimsim.events.errors import UserError
from claimsim.events.money import nearest_cent
from claimsim.events.processes import (die_with_parent, raise_dropped_stop, release_stop_signals,
                                       stop_pool, stop_signals_held, usable_cpus)

from claimsim.adjudication.audit.tables import column_name

from claimsim.scenarios import tables, whatif_resume
from claimsim.scenarios.aligned_report import aligned_metrics
from claimsim.scenarios.spec import Scenario
from claimsim.scenarios.vary import Axis, Point, points

LOGS = ("input", "truth", "ledger", "projections")


# -- running -------------------------------------------------------------------------------------
def focus_program(axes: list[Axis]) -> str | None:
    """The program a sweep is about (`...programs.<kind>...`), whose practices its chart shows."""
    for axis in axes:
        parts = axis.path.split(".")
        if "programs" in parts and parts.index("programs") + 1 < len(parts):
            return parts[parts.index("programs") + 1]
    return None


METRICS = ("member_months", "prospective", "ffs_paid", "net_revenue", "prospective_share_bp",
           "capitation_offsets", "member_cost_share", "medicaid_cost_share", "allowed",
           "avoidable_referrals",
           "leakage_cost_true", "leakage_cost_observed", "leakage_rate_observed_bp",
           "attribution_accuracy_bp")


def metrics(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per group: `all` (every practice and payer), `primary_care`, and each program's practices."""
    groups: dict[str, list[dict[str, Any]]] = {"all": rows, "primary_care": []}
    for r in rows:
        if r["practice_kind"] == "primary_care":
            groups["primary_care"].append(r)
            groups.setdefault(r["program"], []).append(r)
    out = {}
    for name, members in groups.items():
        t = tables.total(members)
        out[name] = {m: t[m] for m in METRICS}
    # What the payer spends on the window's services: everything paid, FFS and prospective.
    out["all"]["payer_spend"] = out["all"]["prospective"] + out["all"]["ffs_paid"]
    return out


# A sweep past either limit needs `--yes`: at a few seconds per small run, 1,000 runs already
# take hours on a laptop, and a typo in --replicates should not start days of work.
MAX_RUNS = 1_000
MAX_MEMBER_MONTHS = 50_000_000


@dataclass(frozen=True)
class SweepSize:
    runs: int
    member_months: int  # initial members x months summed over runs (enrollment churn aside)

    @property
    def too_big(self) -> bool:
        return self.runs > MAX_RUNS or self.member_months > MAX_MEMBER_MONTHS


def estimate(grid: list[tuple[Point, Scenario, dict]], replicates: int,
             history: dict | None = None) -> SweepSize:
    """The sweep's runs and member-months. With `history` (an ingested run's run.json) every
    point pays that history's claims: its members and months, not the scenario's."""
    runs = len(grid) * replicates
    if history is not None:
        return SweepSize(runs, runs * history["ingest"]["members"] * history["months"])
    return SweepSize(runs, sum(s.members * s.months for _, s, _ in grid) * replicates)


def _worker_init(parent: int) -> None:
    """Each pool process: leave SIGINT to the parent (it stops the pool), and end when the parent
    is gone, even after a kill -9 that ran no cleanup (Linux's parent-death signal, and a
    watchdog for the moment between fork and that call or where it does not exist)."""
    release_stop_signals()  # held while the pool forked it (`run_sweep`)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="parent-watchdog").start()


def run_one(scenario_json: str, out: str, keep_logs: bool,
            history: str | None = None) -> dict[str, dict[str, int]]:
    """One point x replicate, in a worker process: run (or pay the history), report, return its
    metrics (a history's has no truth measures: not available for ingested runs)."""
    from claimsim.scenarios.run import run_scenario

    scenario = Scenario.model_validate_json(scenario_json)
    if history is not None:
        from claimsim.scenarios.history import run_history

        result = run_history(scenario, Path(history), out, charts_too=False)
    else:
        result = run_scenario(scenario, out, charts_too=False)
    bad = [c["check"] for c in result.checks if not c["ok"]]
    if bad:
        raise RuntimeError(f"{out}: report does not reconcile with the ledger: {bad}")
    if not keep_logs:
        for name in LOGS:
            shutil.rmtree(Path(out) / name, ignore_errors=True)
    found = metrics(result.rows)
    for group, values in aligned_metrics(result.aligned).items():
        found.setdefault(group, {}).update(values)
    whatif_resume.save_metrics(Path(out), found)  # last: the run is finished (`--resume`)
    return found


T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
         9: 2.262, 10: 2.228, 15: 2.131, 20: 2.086, 30: 2.042}


def interval(values: list[float]) -> tuple[float, float, float]:
    """(mean, low, high): the 95 % t-interval of the mean over replicates (one replicate: none)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, mean, mean
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    # Student's t for n - 1 degrees of freedom (the nearest tabulated df below: conservative).
    t = T_975[max(k for k in T_975 if k <= n - 1)] if n - 1 <= 30 else 1.96
    half = t * sd / math.sqrt(n)
    return mean, mean - half, mean + half


@dataclass
class Sweep:
    axes: list[Axis]
    replicates: int
    base_seed: int
    raw: list[dict[str, Any]]  # one row per point x replicate x group
    summary: list[dict[str, Any]]  # one row per point x group: mean, _lo, _hi per metric
    focus: str | None
    files: list[Path]
    # A history sweep re-pays this ingested run at every point (no seeds drawn): its folder and
    # its run.json (the ingest's member count among it).
    history: Path | None = None
    history_info: dict[str, Any] | None = None


def jobs_for(jobs: int | None, runs: int) -> int:
    """How many runs at a time: `jobs`, else one per CPU this process may use (a container or
    `taskset` can narrow that below the machine's count: more workers would only take turns),
    and never more than there are runs."""
    return max(1, min(jobs or usable_cpus(), runs))


def run_sweep(scenario: Scenario, data: dict[str, Any], axes: list[Axis], out: Path | str, *,
              origin: str, replicates: int = 1, jobs: int | None = None, progress: bool = False,
              keep_logs: bool = False, history: Path | None = None, resume: bool = False
              ) -> Sweep:
    """`resume`: go on with the sweep that stopped part way in `out` (`whatif_resume`)."""
    if replicates < 1:
        raise UserError("--replicates must be at least 1")
    out = Path(out)
    grid = points(data, axes, origin)
    info = None
    if history is not None:
        from claimsim.scenarios.history import read_history

        info = read_history(history)
    tasks = {}
    # Every run's scenario is serialized before the pool starts: a SIGINT that lands inside
    # pydantic's serializer comes out as a PydanticSerializationError, not a KeyboardInterrupt,
    # and the sweep would end with exit 1 instead of 130 (seen once in CI).
    # Common random numbers: replicate r has the same seed at every point.
    payloads = [((point.index, r), point_scenario.model_copy(
                    update={"seed": point_scenario.seed + r}).model_dump_json())
                for point, point_scenario, _ in grid for r in range(replicates)]
    results = whatif_resume.start(out, payloads, history, resume)
    todo = [(key, payload) for key, payload in payloads if key not in results]
    jobs = jobs_for(jobs, len(todo))
    bar = tqdm(total=len(payloads), initial=len(results), unit="run", file=sys.stderr,
               disable=not progress, desc="whatif")
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init, initargs=(os.getpid(),))
    try:
        # The pool forks its processes at the first submit: a Ctrl-C or kill that landed in the
        # fork's own handlers would be lost (`events.processes.stop_signals_held`).
        with stop_signals_held():
            for key, payload in todo:
                run_dir = whatif_resume.run_folder(out, key)
                tasks[pool.submit(run_one, payload, str(run_dir), keep_logs,
                                  str(history) if history else None)] = key
        for future in as_completed(tasks):
            results[tasks[future]] = future.result()
            bar.update(1)
            raise_dropped_stop()  # one that landed in a finalizer: stop the sweep now
    except BaseException:  # SIGINT, or a run that failed: stop the others now
        stop_pool(pool)
        raise
    pool.shutdown()
    bar.close()
    # A history sweep draws nothing at random: its rows have no seed.
    raw, summary = _tabulate(grid, results, replicates, None if history else scenario.seed)
    files = [*tables.write_both(out, "whatif", summary), *tables.write_both(out, "replicates", raw)]
    return Sweep(axes, replicates, scenario.seed, raw, summary, focus_program(axes), files,
                 history, info)


def _tabulate(grid: list[tuple[Point, Scenario, dict]],
              results: dict[tuple[int, int], dict[str, dict[str, int]]], replicates: int,
              seed: int | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(raw, summary): one row per point x replicate x group, and one per point x group with each
    metric's mean and interval, and its paired difference from the first point. `seed` None:
    the runs drew nothing (a history sweep), so the rows' seed is empty."""
    raw, summary = [], []
    for point, _, _ in grid:
        keys = dict(point.values)
        groups = sorted({g for r in range(replicates) for g in results[(point.index, r)]})
        for group in groups:
            per_rep = [results[(point.index, r)].get(group) for r in range(replicates)]
            if any(m is None for m in per_rep):
                continue
            for r, m in enumerate(per_rep):
                raw.append({"point": point.index, **keys, "replicate": r,
                            "seed": None if seed is None else seed + r,
                            "group": group, **m})
            row: dict[str, Any] = {"point": point.index, **keys, "group": group, "replicates": replicates}
            # Paired with the first point, replicate by replicate: under common random numbers
            # the difference's interval is much narrower than either mean's.
            first = [results[(0, r)].get(group) for r in range(replicates)]
            for metric in per_rep[0]:
                if any(m[metric] is None for m in per_rep):  # a history's truth measure:
                    row.update(dict.fromkeys(  # not available for ingested runs
                        metric + x for x in ("", "_lo", "_hi", "_diff", "_diff_lo", "_diff_hi")))
                    continue
                # Money stays integer cents in the tables: means and bounds to the nearest cent.
                unit = nearest_cent if column_name(metric).endswith("_cents") else float
                mean, lo, hi = interval([m[metric] for m in per_rep])
                row[metric], row[metric + "_lo"], row[metric + "_hi"] = unit(mean), unit(lo), unit(hi)
                if all(f is not None for f in first):
                    d, dlo, dhi = interval([m[metric] - f[metric] for m, f in zip(per_rep, first)])
                    row[metric + "_diff"], row[metric + "_diff_lo"], row[metric + "_diff_hi"] = (
                        unit(d), unit(dlo), unit(dhi))
            summary.append(row)
    return raw, summary
