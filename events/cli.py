"""`claimsim log {verify,tail,stats} DIR`: look inside any log directory (input, ledger, truth)."""

from __future__ import annotations

import argparse
import sys

import orjson

from claimsim.events import vocabulary  # noqa: F401  (registers every event type)
from claimsim.events.input_reader import readable_envelope
from claimsim.events.log import raw_lines, require_dir, segments
from claimsim.events.registry import EventError
from claimsim.events.log_verify import verify
from claimsim.events.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("log", help="verify, tail or summarise an event log directory")
    log_sub = p.add_subparsers(dest="log_command", required=True, metavar="{verify,tail,stats}")

    v = log_sub.add_parser("verify", help="walk the hash chain; report the first bad seq and why")
    v.add_argument("dir")
    v.set_defaults(func=cmd_verify)

    t = log_sub.add_parser("tail", help="print the last N events (one JSON line each)")
    t.add_argument("dir")
    t.add_argument("-n", type=int, default=10, help="how many events (default 10)")
    t.set_defaults(func=cmd_tail)

    s = log_sub.add_parser("stats", help="counts by type, first and last date")
    s.add_argument("dir")
    s.set_defaults(func=cmd_stats)


def _check_log_dir(path: str) -> None:
    if not segments(require_dir(path)):
        raise UserError(f"{path}: no log segments here (expected *.jsonl files)")


def cmd_verify(args: argparse.Namespace) -> int:
    _check_log_dir(args.dir)
    result = verify(args.dir)
    if result.ok:
        print(f"{args.dir}: OK, {result.count} events, chain intact"
              + (f" ({result.first_at} .. {result.last_at})" if result.count else " (empty)"))
        return 0
    print(f"{args.dir}: BROKEN at seq {result.seq}: {result.problem.value}: {result.message}"
          f" ({result.location}); {result.count} events before it are intact", file=sys.stderr)
    return 1


def cmd_tail(args: argparse.Namespace) -> int:
    _check_log_dir(args.dir)
    if args.n < 1:
        raise UserError("-n must be at least 1")
    from collections import deque

    last = deque(raw_lines(args.dir), maxlen=args.n)
    out = sys.stdout.buffer
    for line in last:
        out.write(_shown(line))
    out.flush()
    return 0


def _shown(line: bytes) -> bytes:
    """A log line as `read` gives its event (upcast to the current version, keys sorted); a line
    it cannot read (not JSON, not an envelope, a type, `at` or version it cannot name or read) as
    it is stored: `tail` shows what is there, `verify` says what is wrong with it."""
    try:
        env = readable_envelope(line)
    except EventError:  # a version newer than this code
        return line
    return line if env is None else orjson.dumps(env, option=orjson.OPT_SORT_KEYS) + b"\n"


def cmd_stats(args: argparse.Namespace) -> int:
    _check_log_dir(args.dir)
    result = verify(args.dir, check_types=False)
    rows = sorted(result.by_type.items(), key=lambda kv: (-kv[1], kv[0]))
    width = max([len("type")] + [len(t) for t, _ in rows])
    print(f"{'type':<{width}}  {'count':>10}")
    for name, count in rows:
        print(f"{name:<{width}}  {count:>10,}")
    print(f"{'total':<{width}}  {result.count:>10,}")
    dates = (f"first date {result.first_at}, last date {result.last_at}" if result.count
             else "no events")
    print(f"{dates}, {len(segments(args.dir))} segment(s)")
    if not result.ok:
        print(f"warning: chain broken at seq {result.seq} ({result.problem.value}: {result.message});"
              " counts stop there", file=sys.stderr)
        return 1
    return 0
