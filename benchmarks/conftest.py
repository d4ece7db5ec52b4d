"""Benchmarks print a side-by-side ratio table at the end of the session (ours vs baseline,
measured in the same run, so the machine's load cancels out): wall medians, and CPU-second
medians where both benchmarks of a pair recorded them (`extra_info["cpu_s"]`), since on a shared
machine wall time also counts the time a process waited for a core."""

from __future__ import annotations


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or not session.benchmarks:
        return
    by_name = {b.name: b for b in session.benchmarks}
    rows = []
    for bench in session.benchmarks:
        pair = bench.extra_info.get("baseline")
        if pair and pair in by_name and bench.stats and by_name[pair].stats:
            ours, base = bench.stats.median, by_name[pair].stats.median
            items = bench.extra_info.get("items", 0)
            rows.append((bench.name, items / ours if items else 0.0,
                         items / base if items else 0.0, base / ours))
            ours_cpu, base_cpu = bench.extra_info.get("cpu_s"), by_name[pair].extra_info.get("cpu_s")
            if ours_cpu and base_cpu:
                rows.append((f"{bench.name} (CPU s)", items / ours_cpu if items else 0.0,
                             items / base_cpu if items else 0.0, base_cpu / ours_cpu))
    if not rows:
        return
    tr = terminalreporter
    tr.section("claimsim: ours vs baseline (medians, same run)")
    from claimsim.native import kinds, python_build

    # The compiled groups (engine, fold, simulator, runtime glue, input reader and encoding)
    # when built (setup.py); CLAIMSIM_PURE=1 measures the Python ones. And the interpreter, whose
    # build alone moves the rates.
    for group, kind in kinds().items():
        tr.write_line(f"{group}: {kind}")
    tr.write_line(f"python: {python_build()}")
    tr.write_line(f"{'benchmark (wall, or CPU s)':<48} {'ours/s':>12} {'baseline/s':>12} {'ratio':>7}")
    for name, ours, base, ratio in rows:
        tr.write_line(f"{name:<48} {ours:>12,.0f} {base:>12,.0f} {ratio:>7.2f}x")
