"""CPU per process across a process's death: a worker killed mid-step keeps the CPU it spent up
to its death (read from the kernel when it is reaped), a replacement's CPU is added under its own
name, and a process whose pid changes under one name (a restarted broker) adds its new pid's
seconds to the old one's, so no figure ever goes negative."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from claimsim.benchmarks.loadtest.cpu import CpuAccount, cpu_seconds, per_input_us, reap

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

BURN = ("import time\nt = time.process_time()\nwhile time.process_time() - t < {s}: pass\n"
        "time.sleep(120)\n")


def burner(seconds: float) -> subprocess.Popen:
    """A child that spends `seconds` of CPU, then sleeps (so its CPU stays put until killed)."""
    proc = subprocess.Popen([sys.executable, "-c", BURN.format(s=seconds)])
    deadline = time.monotonic() + 60
    while (cpu_seconds(proc.pid) or 0.0) < seconds and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc


def test_a_killed_childs_cpu_up_to_its_death_is_kept_and_its_replacements_added():
    account = CpuAccount()
    first = burner(0.3)
    account.watch("worker-0", first.pid)
    before = account.seconds()
    first.send_signal(signal.SIGKILL)
    spent = reap(first, block=True)
    assert first.returncode == -signal.SIGKILL and spent >= 0.3
    account.ended("worker-0", spent)
    second = burner(0.2)
    try:
        account.watch("worker-1", second.pid)
        after = account.seconds()
    finally:
        second.kill()
        reap(second, block=True)
    assert after["worker-0"] == pytest.approx(spent)  # banked: no /proc entry any more
    assert after["worker-1"] >= 0.2
    # 100 inputs answered between the two samples: the killed worker's CPU since `before`, and
    # all of the replacement's (it was not there at the start).
    us = per_input_us(before, after, 100)
    assert us["worker-0"] == pytest.approx((spent - before["worker-0"]) * 1e4) and us["worker-0"] >= 0
    assert us["worker-1"] == pytest.approx(after["worker-1"] * 1e4)


def test_a_new_pid_under_the_same_name_adds_to_what_the_old_one_spent():
    account = CpuAccount()
    old = burner(0.2)
    account.watch("broker", old.pid)
    seen = account.seconds()["broker"]  # the last value seen before it stops
    old.kill()
    old.wait()  # not reaped through the account: the broker is not our child
    new = burner(0.1)
    try:
        account.watch("broker", new.pid)
        now = account.seconds()["broker"]
    finally:
        new.kill()
        new.wait()
    assert seen >= 0.2
    assert now >= seen + 0.1


def test_reap_leaves_a_running_child_alone():
    proc = burner(0.0)
    try:
        assert reap(proc) is None and proc.returncode is None
    finally:
        proc.kill()
        reap(proc, block=True)
    assert proc.returncode == -signal.SIGKILL
    assert reap(proc) is None  # collected once


def test_cpu_per_input_by_name_computed_by_hand():
    # 2 s and 0.5 s of CPU over 1,000 inputs: 2,000 and 500 us each; a name new at the end
    # (a worker added during the step) counts from zero.
    assert per_input_us({"a": 1.0, "b": 0.5}, {"a": 3.0, "b": 1.0, "c": 0.25}, 1000) == {
        "a": pytest.approx(2000.0), "b": pytest.approx(500.0), "c": pytest.approx(250.0)}
    assert per_input_us({"a": 1.0}, {"a": 2.0}, 0) == {}
