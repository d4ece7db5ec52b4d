"""CPU time per process, read from /proc (Linux): user + system seconds a process has used, so a
step's CPU cost per input can be split by process (the harness's producer and sink, each worker,
the broker). Elsewhere the figures are simply absent."""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14 and 15)


def broker_pid(explicit: int | None = None) -> int | None:
    """The broker to measure: `--broker-pid`, else the one scripts/kafka/ started for
    KAFKA_DATA_DIR (its pid file)."""
    if explicit:
        return explicit
    data = os.environ.get("KAFKA_DATA_DIR")
    if data:
        try:
            return int(Path(data, "kafka.pid").read_text().strip())
        except (OSError, ValueError):
            return None
    return None


def sample(pids: dict[str, int]) -> dict[str, float]:
    out = {}
    for name, pid in pids.items():
        seconds = cpu_seconds(pid)
        if seconds is not None:
            out[name] = seconds
    return out


def per_input_us(before: dict[str, float], after: dict[str, float], inputs: int) -> dict[str, float]:
    """Microseconds of CPU per input answered, by process (only those seen at both ends)."""
    if inputs <= 0:
        return {}
    return {name: (after[name] - before[name]) * 1e6 / inputs for name in after if name in before}
