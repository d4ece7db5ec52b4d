"""`scenarios.child.in_child`: a call in a fresh interpreter gives back its result or raises its
error here, and never runs the caller's script again (a script without a `__main__` guard)."""

from __future__ import annotations

import operator
import subprocess
import sys

import pytest

from claimsim.events.processes import Terminated, sigterm_as_interrupt
from claimsim.scenarios.child import in_child, start_child

from ..fixtures.processes import drop_a_stop


def test_a_call_in_a_fresh_interpreter_returns_its_result():
    assert in_child(operator.add, 40, 2) == 42
    assert in_child(sorted, {"b": 1, "a": 2}) == ["a", "b"]


def test_the_childs_exception_is_raised_in_the_caller():
    with pytest.raises(ZeroDivisionError):
        in_child(operator.truediv, 1, 0)


def test_a_forked_call_returns_its_result_too():
    assert in_child(operator.mul, 6, 7, fresh=False) == 42


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("fresh", [True, False], ids=["fresh", "forked"])
def test_a_kill_python_dropped_while_the_child_works_is_raised_when_it_returns(fresh):
    """A SIGTERM whose `Terminated` Python dropped (it landed in a finalizer as the child
    ended) is not lost: `claimsim run` stops after the simulation, not after the payment too."""
    with sigterm_as_interrupt():
        drop_a_stop()
        with pytest.raises(Terminated):
            in_child(operator.add, 40, 2, fresh=fresh)


def test_an_unguarded_script_that_calls_a_child_runs_once(tmp_path):
    marks = tmp_path / "marks"
    script = tmp_path / "user_script.py"
    script.write_text(
        "import operator\n"
        "from claimsim.scenarios.child import in_child\n"
        f"open({str(marks)!r}, 'a').write('ran\\n')\n"
        "print(in_child(operator.add, 1, 2))\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "3"
    assert marks.read_text() == "ran\n"


def test_a_call_leaves_no_scratch_and_sweeps_one_a_killed_caller_left(tmp_path, monkeypatch):
    """The pickles' folder goes with the call; one whose process was ended before its cleanup
    (a what-if worker its pool stopped with SIGTERM) is removed by the next call; a running
    process's is kept."""
    import os
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.Popen(["true"])
    gone.wait()
    stale = tmp_path / f"claimsim-child-{gone.pid}-abc"
    running = tmp_path / f"claimsim-child-{os.getppid()}-def"
    for folder in (stale, running):
        folder.mkdir()
        (folder / "call.pickle").write_bytes(b"x" * 1000)
    assert in_child(operator.add, 1, 2) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [running.name]


def test_a_started_child_runs_beside_the_caller_and_gives_back_its_result_or_error():
    with start_child(operator.add, 40, 2) as child:
        assert child.process.poll() is None or child.process.returncode == 0  # started, not waited
        assert child.result() == 42
    with start_child(operator.truediv, 1, 0) as child, pytest.raises(ZeroDivisionError):
        child.result()


def test_leaving_a_started_child_without_its_result_kills_it_and_removes_its_scratch(tmp_path,
                                                                                     monkeypatch):
    """The caller's own error (or Ctrl-C) while the child works: the child is killed at once,
    not waited for, and its pickles' folder goes."""
    import signal
    import tempfile
    import time

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(RuntimeError, match="the other reports failed"):
        with start_child(time.sleep, 60) as child:
            raise RuntimeError("the other reports failed")
    assert child.process.returncode == -signal.SIGKILL
    assert list(tmp_path.iterdir()) == []
