"""The `claimsim` console script: one command tree, each package contributing its subcommands
from its own `cli.py` (DESIGN.md "CLI")."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from pydantic import ValidationError

from claimsim import __version__
from claimsim.events.errors import DISK_FULL, UserError
from claimsim.events.processes import Terminated, raise_dropped_stop, sigterm_as_interrupt
from claimsim.events.registry import EventError

# Order is the order of `claimsim --help`.
COMMAND_MODULES = (
    "claimsim.simulator.cli",
    "claimsim.adjudication.runtimes.cli",
    "claimsim.adjudication.audit.cli",
    "claimsim.adjudication.runtimes.streaming.cli",
    "claimsim.scenarios.cli",
    "claimsim.scenarios.demo",
    "claimsim.scenarios.ingest_cli",
    "claimsim.events.cli",
    "claimsim.benchmarks.cli",
    "claimsim.benchmarks.loadtest.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="claimsim",
        description="Event-sourced claims adjudication simulator for primary-care payment models.",
    )
    parser.add_argument("--version", action="version", version=f"claimsim {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if name.startswith(e.name or "\0"):  # that package has no commands yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:  # the commands' modules load here (most of a second): a Ctrl-C then is a stop too
        parser = build_parser()
    except KeyboardInterrupt as stop:
        return _stopped(stop)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        with sigterm_as_interrupt():  # a `kill` cleans up as Ctrl-C does (events.processes)
            try:
                code = int(args.func(args) or 0)
            except Exception:
                # A stop Python dropped, then an error it caused (a pass the same `kill` of the
                # process group ended: "died (exit code -15)"): the stop, said as one.
                raise_dropped_stop()
                raise
            raise_dropped_stop()  # a stop Python dropped in a finalizer: still a stop
            return code
    except (UserError, EventError, FileNotFoundError, NotADirectoryError) as e:
        print(f"claimsim: error: {e}", file=sys.stderr)
        return 2
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        print(f"claimsim: error: {e.title}: {where}: {first['msg']}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:  # Ctrl-C, or a `kill` (`Terminated`)
        return _stopped(stop)
    except BrokenPipeError:
        # The reader went away (`claimsim log stats DIR | head`): nothing left to say to it.
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell tool killed by the closed pipe returns
    except OSError as e:  # after BrokenPipeError, one of them
        if e.errno not in DISK_FULL:
            raise
        print(disk_full_message(e), file=sys.stderr)
        return 1
    except Exception as e:
        # A stop that arrived while a library ran our Python inside its own C code comes out
        # wrapped in that library's error (pydantic's serializer: `PydanticSerializationError`
        # caused by `Terminated`): the same stop, said the same way.
        stop = _stop_behind(e)
        if stop is None:
            raise
        return _stopped(stop)


def _stopped(stop: KeyboardInterrupt) -> int:
    """Say how the command was stopped; its exit status, as a shell reports the signal's."""
    if isinstance(stop, Terminated):
        print("claimsim: terminated", file=sys.stderr)
        return 143  # 128 + SIGTERM
    print("claimsim: interrupted", file=sys.stderr)
    return 130  # 128 + SIGINT


def _stop_behind(error: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C or `kill` an error was raised from (its cause or context, at any depth)."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


def disk_full_message(e: OSError) -> str:
    """What a full disk (or a spent quota) says instead of a traceback. Logs are append-only
    and their writer truncates a torn last line when it reopens one (`events.log`), so what was
    written before the failed write stays whole and a command that resumes goes on from it."""
    where = f" writing {e.filename}" if e.filename else ""  # a buffered write's names no file
    return (f"claimsim: error: {os.strerror(e.errno)}{where}. What was written before it is kept:"
            " free some space and run the command again (`claimsim run` with `--resume`;"
            " `claimsim adjudicate RUN_DIR` goes on from the ledger's last complete entry;"
            " `claimsim whatif ... --resume` goes on with a sweep; `export` takes the same --out"
            " again; `simulate`, `ingest` and `loadtest` need a new --out).")
