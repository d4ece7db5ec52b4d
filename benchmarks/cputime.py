"""CPU seconds beside wall time for a benchmark's rounds: on a shared machine wall time also
counts the time a process waited for a core, so the ratio table (`conftest`) prints a CPU row
where both benchmarks of a pair recorded `extra_info["cpu_s"]`."""

from __future__ import annotations

import statistics
import time


def cpu_timed(body, cpu: list[float]):
    """`body` that also appends the CPU seconds (`time.process_time`) each call takes to `cpu`."""
    def timed(*args):
        start = time.process_time()
        body(*args)
        cpu.append(time.process_time() - start)
    return timed


def record_cpu(benchmark, cpu: list[float], warmup: int = 0) -> float:
    """The median CPU seconds of the measured rounds (the first `warmup` calls left out), kept
    in `extra_info["cpu_s"]`."""
    cpu_s = statistics.median(cpu[warmup:])
    benchmark.extra_info["cpu_s"] = round(cpu_s, 4)
    return cpu_s
