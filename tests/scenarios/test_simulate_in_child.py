"""`claimsim run` simulates in a child process (so the simulator's memory is gone before the payer
side starts): the child writes the same bytes as an in-process simulation, and its errors reach
the caller as the same typed errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from claimsim.events.errors import UserError
from claimsim.scenarios.region import simulate_scenario
from claimsim.scenarios.run import simulate_in_child

from .test_builtin_scenarios import small


def _digest(run_dir: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file() and p.name != "LOCK"):
        h.update(str(path.relative_to(run_dir)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def test_a_simulation_in_a_child_writes_the_same_bytes_as_one_in_process(tmp_path):
    scenario = small("pcf", members=300, months=6)
    simulate_scenario(scenario, tmp_path / "here")
    simulate_in_child(scenario, tmp_path / "child")
    assert (tmp_path / "child" / "input").is_dir()
    assert _digest(tmp_path / "child") == _digest(tmp_path / "here")


def test_the_childs_error_is_raised_in_the_caller_with_its_message(tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "something.txt").write_text("not a run")
    with pytest.raises(UserError, match="taken"):
        simulate_in_child(small("pcf", members=100, months=6), out)
