"""How a stop request reaches a command (`events.processes`): SIGTERM raises `Terminated` in the
command's process and ends a forked child as by default; a signal held while forking is
delivered right after, not lost; the CLI reports a `kill` with exit 143."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from claimsim.events.processes import (Terminated, python_sigint, release_stop_signals,
                                       run_async, sigterm_as_interrupt, stop_signals_held)

from ..fixtures.processes import drop_a_stop


def test_sigterm_raises_terminated_inside_and_the_old_handler_comes_back():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated):
        with sigterm_as_interrupt():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler runs at the next bytecode: never reached
    assert signal.getsignal(signal.SIGTERM) is before
    assert issubclass(Terminated, KeyboardInterrupt)  # every Ctrl-C cleanup runs for it


def test_a_forked_child_ends_on_sigterm_as_by_default():
    with sigterm_as_interrupt():
        pid = os.fork()
        if pid == 0:  # the child: the inherited handler must end it, not raise
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)
            finally:
                os._exit(3)  # reached only if the handler raised or returned
        _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM


def test_a_signal_held_while_forking_interrupts_right_after():
    """Noted inside, whichever thread it reaches (a progress bar's monitor thread is running),
    and acted on at the way out. (Python's own SIGINT handler is set first: a shell starts a
    background job with SIGINT ignored, and an ignored signal is not held.)"""
    stop = threading.Event()
    beside = threading.Thread(target=stop.wait, daemon=True)
    beside.start()
    reached = []
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            with stop_signals_held():
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(20):  # Python code runs here, as in the fork's own handlers
                    time.sleep(0.01)
                reached.append(True)
            time.sleep(5)
        assert reached and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        stop.set()
        signal.signal(signal.SIGINT, before)


def test_a_child_forked_with_the_signals_held_takes_its_handlers_back():
    """The child ends on SIGTERM as the command's forked children do, not noting it forever."""
    with sigterm_as_interrupt():
        with stop_signals_held():
            pid = os.fork()
            if pid == 0:
                try:
                    release_stop_signals()
                    os.kill(os.getpid(), signal.SIGTERM)
                    time.sleep(5)
                finally:
                    os._exit(3)  # reached only if the signal was noted, or raised
        _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM


def test_the_cli_reports_a_kill_with_exit_143(tmp_path):
    """A long command (a simulation of many members) sent SIGTERM says so and exits 143."""
    proc = subprocess.Popen([sys.executable, "-m", "claimsim", "simulate", "--members", "200000",
                             "--months", "12", "--out", str(tmp_path / "run"), "--no-progress"],
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not (tmp_path / "run").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGTERM)
    try:
        code = proc.wait(timeout=60)
    finally:
        proc.kill()
    err = proc.stderr.read().decode()
    assert code == 143, err[-2000:]
    assert "claimsim: terminated" in err


def _main_running(monkeypatch, command):
    """`claimsim.cli.main` with one command: `command(args)`."""
    import argparse

    import claimsim.cli as cli

    parser = argparse.ArgumentParser(prog="claimsim")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.set_defaults(func=command)
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    return cli.main([])


def test_a_kill_wrapped_in_a_librarys_error_is_still_reported_as_a_kill(monkeypatch, capsys):
    """A SIGTERM that lands while pydantic's serializer runs our Python comes out as its
    `PydanticSerializationError`, caused by `Terminated` (seen in CI: the kill above, arriving
    while `simulate` saved reference.json): exit 143 and one line, not a traceback."""
    from pydantic import BaseModel, field_serializer

    class Saved(BaseModel):
        value: int = 1

        @field_serializer("value")
        def _stopped_here(self, value: int) -> int:
            raise Terminated()

    def saves(args):
        Saved().model_dump(mode="json")

    assert _main_running(monkeypatch, saves) == 143
    assert capsys.readouterr().err == "claimsim: terminated\n"


def test_a_ctrl_c_behind_another_error_is_an_interrupt_and_other_errors_still_raise(
        monkeypatch, capsys):
    def interrupted_in_cleanup(args):
        try:
            raise KeyboardInterrupt
        finally:
            raise ValueError("a cleanup that failed while the interrupt went by")

    assert _main_running(monkeypatch, interrupted_in_cleanup) == 130
    assert capsys.readouterr().err == "claimsim: interrupted\n"

    def fails(args):
        raise ValueError("a bug, not a stop")

    with pytest.raises(ValueError, match="a bug, not a stop"):
        _main_running(monkeypatch, fails)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("sig, code, said", [(signal.SIGTERM, 143, "terminated"),
                                             (signal.SIGINT, 130, "interrupted")],
                         ids=["kill", "ctrl-c"])
def test_a_stop_python_dropped_in_a_finalizer_still_ends_the_command_as_a_stop(
        monkeypatch, capsys, sig, code, said):
    """Python prints and drops an exception raised in `__del__` or a weakref callback. Seen in
    CI: a `kill` that landed while a pool's shutdown ran its `Finalize` ("Exception ignored in:
    <Finalize object, dead> ... Terminated"), and `audit replay` went on to exit 0. The stop
    was noted when it arrived: the command still ends as that stop. (Python's own SIGINT
    handler is set first, as a terminal's shell leaves it; a background job's is ignored.)"""
    def command(args):
        drop_a_stop(sig)
        return 0

    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        assert _main_running(monkeypatch, command) == code
    finally:
        signal.signal(signal.SIGINT, before)
    assert capsys.readouterr().err.endswith(f"claimsim: {said}\n")


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_error_after_a_dropped_stop_is_reported_as_the_stop(monkeypatch, capsys):
    """A `kill` of the whole process group: the command's own `Terminated` dropped in a
    finalizer, then its child, ended by the same signal, reported as a failure ("pass 2 died
    (exit code -15)"). The stop is what happened: exit 143, not that error's traceback."""
    def command(args):
        drop_a_stop()
        raise RuntimeError("pass 2 died (exit code -15)")

    assert _main_running(monkeypatch, command) == 143
    assert capsys.readouterr().err.endswith("claimsim: terminated\n")

def test_asyncio_keeps_its_own_ctrl_c_inside_python_sigint():
    """`asyncio.run` installs its graceful Ctrl-C (the main task cancelled and cleaned up) only
    over Python's own handler: `python_sigint` gives it that back (`run_async`: every
    `asyncio.run` of the Kafka runtime), and the noting handler returns after."""
    import asyncio

    async def handler_inside():
        return signal.getsignal(signal.SIGINT)

    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with sigterm_as_interrupt():
            noting = signal.getsignal(signal.SIGINT)
            assert noting is not signal.default_int_handler
            assert asyncio.run(handler_inside()) is noting  # without: asyncio installs nothing
            with python_sigint():
                assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
                assert "Runner._on_sigint" in repr(asyncio.run(handler_inside()))
            assert signal.getsignal(signal.SIGINT) is noting
            assert "Runner._on_sigint" in repr(run_async(handler_inside()))  # the same, shorter
            assert signal.getsignal(signal.SIGINT) is noting
    finally:
        signal.signal(signal.SIGINT, before)
