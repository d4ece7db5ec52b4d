"""`claimsim bench [SUITE ...]`: run the pytest-benchmark suites shipped in this package, each
beside its raw baseline in the same run, ending in the ratio table. Everything the suites write
goes under one scratch folder, removed when they end (pass or fail)."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from claimsim.events.errors import UserError

HERE = Path(__file__).parent


def suites() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="run the benchmark suites (ours beside a raw baseline)")
    p.add_argument("suite", nargs="*", help=f"which suites (default all): {', '.join(suites())}")
    p.add_argument("--json", metavar="FILE", help="also save pytest-benchmark's JSON to FILE")
    p.add_argument("--paired", metavar="N", type=int,
                   help="instead, N rounds of ours and its baseline alternated, each pair's ratio"
                        " and their median (suites: adjudication, projections, simulator)")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    try:  # the suites run under pytest-benchmark, which the test extras install
        import pytest
        import pytest_benchmark  # noqa: F401
    except ImportError as e:
        raise UserError(f"claimsim bench needs {e.name!r}, installed with the test extras:"
                        " pip install -c constraints.txt -e \".[test]\"") from None

    known = suites()
    if args.paired is not None:
        return _paired(args)
    unknown = [s for s in args.suite if s not in known]
    if unknown:
        raise UserError(f"unknown benchmark suite {unknown[0]!r}; known: {', '.join(known)}")
    files = [str(HERE / f"bench_{s}.py") for s in (args.suite or known)]
    scratch = Path(tempfile.mkdtemp(prefix="claimsim-bench-"))
    argv = [*files, "--benchmark-enable", "-p", "no:cacheprovider", "-q",
            "--import-mode=importlib", "--rootdir", str(HERE), "--basetemp", str(scratch / "pytest")]
    if args.json:  # written in the scratch folder, and moved to FILE only if every suite ran
        argv.append(f"--benchmark-json={scratch / 'benchmarks.json'}")
    # The suites' own tempfile folders (mkdtemp) land in the scratch folder too.
    saved, tempfile.tempdir = tempfile.tempdir, str(scratch)
    try:
        code = pytest.main(argv)
        if code == pytest.ExitCode.INTERRUPTED:  # pytest caught the Ctrl-C (or kill) itself
            raise KeyboardInterrupt
        if args.json and code == pytest.ExitCode.OK:
            shutil.move(scratch / "benchmarks.json", args.json)
        elif args.json:
            print(f"claimsim bench: {args.json} not written (a suite failed)", file=sys.stderr)
        return int(code)
    finally:
        tempfile.tempdir = saved
        shutil.rmtree(scratch, ignore_errors=True)


def _paired(args: argparse.Namespace) -> int:
    """`--paired N`: the rounds alternated in this process (`benchmarks.paired`), not pytest."""
    from claimsim.benchmarks.paired import SUITES, main

    if args.json:
        raise UserError("--json is pytest-benchmark's output; --paired prints its own table")
    chosen = args.suite or list(SUITES)
    other = [s for s in chosen if s not in SUITES]
    if other:
        raise UserError(f"--paired runs {', '.join(SUITES)}; not {other[0]!r}")
    if args.paired < 1:
        raise UserError("--paired needs at least 1 round")
    return main([*chosen, "--rounds", str(args.paired)])
