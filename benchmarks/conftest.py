"""Benchmarks print a side-by-side ratio table at the end of the session (ours vs baseline,
measured in the same run, so the machine's load cancels out)."""

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
    if not rows:
        return
    tr = terminalreporter
    tr.section("claimsim: ours vs baseline (medians, same run)")
    from claimsim.native import engine_kind, fold_kind

    # The compiled engine and fold when built (setup.py); CLAIMSIM_PURE=1 measures the Python ones.
    tr.write_line(f"adjudication engine: {engine_kind()}")
    tr.write_line(f"projections fold: {fold_kind()}")
    tr.write_line(f"{'benchmark':<40} {'ours/s':>12} {'baseline/s':>12} {'ratio':>7}")
    for name, ours, base, ratio in rows:
        tr.write_line(f"{name:<40} {ours:>12,.0f} {base:>12,.0f} {ratio:>7.2f}x")
