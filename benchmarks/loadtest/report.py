"""The load test's outputs: a readable table, `steps.csv` and `seconds.csv`, two PNG charts
(latency percentiles vs offered rate; latency and achieved rate over time, faults marked with
their recovery time) and, with `--json`, `summary.json` for CI regression tracking."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from claimsim.benchmarks.loadtest.measure import Fault, Second, StepFigures
from claimsim.benchmarks.loadtest.verdict import Verdict

COLUMNS = ("step", "offered/s", "achieved/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms",
           "max lag", "dead", "ended")


def _ms(x: float) -> str:
    return "-" if x != x else f"{x:,.1f}"


def table(runtime: str, steps: list[StepFigures], faults: list[Fault], knee: int | None) -> str:
    rows = [COLUMNS] + [
        (str(s.index + 1), f"{s.offered_rate:,.0f}", f"{s.achieved_rate:,.0f}", _ms(s.p50_ms),
         _ms(s.p90_ms), _ms(s.p99_ms), _ms(s.p999_ms), _ms(s.max_ms), f"{s.max_backlog:,}",
         str(s.dead_letters), s.ended + (" (knee)" if knee == s.index else "")
         + ("" if s.judged() else f" after {s.duration_s:.2f} s, too short to judge"))
        for s in steps]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    lines = [f"load test on the {runtime} runtime (inputs/s; latency = ledger append - intended send)"]
    for k, row in enumerate(rows):
        lines.append("  ".join(c.rjust(w) if i < len(row) - 1 else c
                               for i, (c, w) in enumerate(zip(row, widths))))
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    for s in steps:
        if s.cpu_us:
            parts = ", ".join(f"{name} {us:,.0f}" for name, us in s.cpu_us.items())
            workers = [us for name, us in s.cpu_us.items() if name.startswith("worker-")]
            if len(workers) > 1:  # killed, added and replacement workers together
                parts += f" (workers {sum(workers):,.0f})"
            lines.append(f"step {s.index + 1} CPU per input (us): {parts};"
                         f" total {sum(s.cpu_us.values()):,.0f}")
    for f in faults:
        rec = ("not recovered before the next fault or the end" if f.recovery_s is None
               else f"recovered in {f.recovery_s:.1f} s")
        if f.landed is not None:
            rec += f" after it landed at {f.landed:.1f} s"
        lines.append(f"fault {f.name} at {f.at:.1f} s: {rec}" + (f" ({f.detail})" if f.detail else ""))
    return "\n".join(lines)


def _step_row(step: StepFigures) -> dict[str, Any]:
    """A step as a CSV row: its CPU per input one column per process (`cpu_us_<process>`,
    microseconds to a tenth), not the dict's text in one cell."""
    row = step.as_dict()
    for name, us in row.pop("cpu_us", {}).items():
        row[f"cpu_us_{name}"] = round(us, 1)
    return row


def write_csv(out: Path, steps: list[StepFigures], seconds: list[Second]) -> None:
    rows = [_step_row(s) for s in steps]
    fields = list(rows[0]) if rows else ["index"]
    fields += sorted({k for r in rows for k in r} - set(fields))  # a process some steps lack
    with open(out / "steps.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, restval="")
        w.writeheader()
        w.writerows(rows)
    with open(out / "seconds.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t", "offered", "answered", "backlog", "p50_ms", "p99_ms", "max_ms"])
        for s in seconds:
            w.writerow([f"{s.t:.0f}", s.offered, s.answered, s.backlog, f"{s.p50_ms:.3f}",
                        f"{s.p99_ms:.3f}", f"{s.max_ms:.3f}"])


def write_charts(out: Path, runtime: str, steps: list[StepFigures], seconds: list[Second],
                 faults: list[Fault]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    fig, ax = plt.subplots(figsize=(8, 4.5))
    offered = [s.offered_rate for s in steps]
    for label, attr in (("p50", "p50_ms"), ("p90", "p90_ms"), ("p99", "p99_ms"),
                        ("p99.9", "p999_ms"), ("max", "max_ms")):
        ax.plot(offered, [getattr(s, attr) for s in steps], marker="o", label=label)
    ax.set_xlabel("offered rate (inputs/s)")
    ax.set_ylabel("latency (ms, log scale)")
    ax.set_yscale("log")
    ax.set_title(f"{runtime}: latency percentiles vs offered rate")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    paths.append(out / "latency_vs_rate.png")
    fig.tight_layout()
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(10, 4.5))
    t = [s.t for s in seconds]
    ax.plot(t, [s.p50_ms for s in seconds], label="p50")
    ax.plot(t, [s.p99_ms for s in seconds], label="p99")
    ax.plot(t, [s.max_ms for s in seconds], label="max", alpha=0.6)
    ax.set_yscale("log")
    ax.set_xlabel("seconds since start (by intended send time)")
    ax.set_ylabel("latency (ms, log scale)")
    rate = ax.twinx()
    rate.plot(t, [s.offered for s in seconds], color="grey", ls="--", label="offered/s")
    rate.plot(t, [s.answered for s in seconds], color="black", lw=0.8, label="achieved/s")
    rate.set_ylabel("inputs/s")
    for f in faults:
        ax.axvline(f.at, color="red", alpha=0.7)
        rec = "not recovered" if f.recovery_s is None else f"recovered {f.recovery_s:.1f} s"
        ax.annotate(f"{f.name}\n{rec}", (f.at, 0.95), xycoords=("data", "axes fraction"),
                    fontsize=8, color="red", va="top", ha="left")
    lines = ax.get_legend_handles_labels()
    more = rate.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left", fontsize=8)
    ax.set_title(f"{runtime}: latency and throughput over time")
    paths.append(out / "latency_over_time.png")
    fig.tight_layout()
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths


def write_json(out: Path, runtime: str, steps: list[StepFigures], faults: list[Fault],
               knee: int | None, verdict: Verdict, extra: dict) -> Path:
    path = out / "summary.json"
    doc = {
        "runtime": runtime,
        "steps": [s.as_dict() for s in steps],
        "knee_step": knee,
        "faults": [{"name": f.name, "at_s": f.at, "landed_s": f.landed,
                    "recovery_s": f.recovery_s, "detail": f.detail}
                   for f in faults],
        "ledger_identical": verdict.identical,
        "first_difference": verdict.first_difference,
        **extra,
    }
    path.write_text(json.dumps(_nan_as_null(doc), indent=2) + "\n")
    return path


def _nan_as_null(x):
    """JSON has no NaN: a percentile of no latencies is null."""
    if isinstance(x, float) and x != x:
        return None
    if isinstance(x, dict):
        return {k: _nan_as_null(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_nan_as_null(v) for v in x]
    return x
