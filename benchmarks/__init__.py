"""pytest-benchmark suites (`bench_*.py`), each measuring ours beside a raw baseline in one run."""
