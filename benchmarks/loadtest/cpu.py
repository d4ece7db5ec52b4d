"""CPU time per process, read from /proc (Linux): user + system seconds a process has used, so a
step's CPU cost per input can be split by process (the harness's producer and sink, each worker,
the broker). Elsewhere the figures are simply absent.

`CpuAccount` keeps those seconds by a process's name across its death: a child killed or stopped
is reaped with its final CPU (`reap`: the kernel's rusage), and a process that is not a child
(the broker) keeps the last value seen of it, so a name's seconds only ever grow.
"""

from __future__ import annotations

import os
import subprocess
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


def per_input_us(before: dict[str, float], after: dict[str, float],
                 inputs: int) -> dict[str, float]:
    """Microseconds of CPU per input answered, by process name (`CpuAccount.seconds` at a step's
    two ends): a name first seen at the end (a worker added during the step) spent all of its
    seconds in the step."""
    if inputs <= 0:
        return {}
    return {name: (after[name] - before.get(name, 0.0)) * 1e6 / inputs for name in after}


def reap(proc: subprocess.Popen, block: bool = False) -> float | None:
    """Collect a child that has ended (wait for it with `block`): its CPU seconds from the kernel
    (user + system, every thread), and its exit status set on `proc` as `poll()` would. None if
    it is still running (or was collected already)."""
    if proc.returncode is not None:
        return None
    try:
        pid, status, usage = os.wait4(proc.pid, 0 if block else os.WNOHANG)
    except ChildProcessError:
        return None
    if pid == 0:
        return None
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


class CpuAccount:
    """CPU seconds by process name, counting what processes that ended had spent.

    `watch(name, pid)` follows a process under a name (a new pid under the same name: the old
    one's last seconds are kept and the new one's added, as for a restarted broker);
    `ended(name, seconds)` banks a process's final seconds (from `reap`); `seconds()` samples
    the live ones. A process gone without `ended` keeps the last value `seconds()` saw of it."""

    def __init__(self) -> None:
        self._pids: dict[str, int] = {}
        self._last: dict[str, float] = {}  # the watched pid's last sampled seconds
        self._banked: dict[str, float] = {}  # seconds of the name's processes that ended

    def watch(self, name: str, pid: int) -> None:
        if self._pids.get(name) == pid:
            return
        if name in self._pids:
            self._bank(name)
        self._pids[name] = pid
        seconds = cpu_seconds(pid)
        self._last[name] = seconds if seconds is not None else 0.0

    def ended(self, name: str, seconds: float | None) -> None:
        if name not in self._pids:
            return
        if seconds is not None:
            self._last[name] = max(self._last[name], seconds)
        self._bank(name)

    def _bank(self, name: str) -> None:
        self._banked[name] = self._banked.get(name, 0.0) + self._last.pop(name, 0.0)
        del self._pids[name]

    def seconds(self) -> dict[str, float]:
        for name, pid in self._pids.items():
            now = cpu_seconds(pid)
            if now is not None:
                self._last[name] = max(self._last[name], now)
        names = {*self._banked, *self._pids}
        return {n: self._banked.get(n, 0.0) + self._last.get(n, 0.0) for n in sorted(names)}
