"""`claimsim worker RUN_DIR --prefix P`: run one streaming adjudicator (a faust worker) for a run
whose topics `claimsim adjudicate RUN_DIR --runtime kafka --workers 0 --prefix P` created."""

from __future__ import annotations

import argparse
import math

from claimsim.adjudication.runtimes.streaming.topics import BOOTSTRAP_ENV, bootstrap_from_env


LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
# Set on a worker a run starts (`runner.spawn_worker`): the worker is killed when its parent
# ends (even by SIGKILL, which runs no cleanup there), instead of rebalancing for a run nobody
# collects.
PARENT_ENV = "CLAIMSIM_WORKER_PARENT"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("worker", help="run a streaming adjudicator (faust worker) on Kafka")
    p.add_argument("run_dir", metavar="RUN_DIR", help="the run directory (reference.json, ledger manifest)")
    p.add_argument("--prefix", required=True, help="the run's topic prefix (names its topics and consumer group)")
    p.add_argument("--bootstrap", default=None,
                   help=f"Kafka bootstrap servers (default ${BOOTSTRAP_ENV}; one of the two is required)")
    p.add_argument("--partitions", type=int, default=None,
                   help="inbound partitions (default: read from the inbound topic)")
    p.add_argument("--commit-interval", type=float, default=1.0,
                   help="seconds between offset commits (default 1)")
    p.add_argument("--store", choices=("memory", "rocksdb"), default="memory",
                   help="where the family-state table lives: memory (default), or RocksDB files in"
                        " a data directory of the worker's own (memory bounded by --cache-families"
                        " instead of the population, at more CPU per claim)")
    p.add_argument("--cache-families", type=int, default=None, metavar="N",
                   help="decoded family states kept in memory (0: every family; default 0 with"
                        " --store memory, 16384 with --store rocksdb)")
    p.add_argument("--loglevel", default="warning", type=str.lower, choices=LOG_LEVELS,
                   help="faust log level (default warning)")
    p.add_argument("--log-file", default=None,
                   help="where every log record goes, plain text (default: the temp directory);"
                        " stderr gets one line per Kafka outage")
    p.set_defaults(func=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    import os
    import sys

    from claimsim.events.processes import die_with_parent

    parent = os.environ.get(PARENT_ENV)  # started by a run
    if parent:
        die_with_parent()
        if str(os.getppid()) != parent:  # it ended before this line: no run to work for
            return 1

    # faust is slow to import: here, not at the top
    from claimsim.adjudication.runtimes.streaming.app import run_worker
    from claimsim.adjudication.runtimes.streaming.faust_settings import ROCKSDB_CACHE_FAMILIES
    from claimsim.events.errors import UserError

    cache = args.cache_families
    if cache is None:
        cache = ROCKSDB_CACHE_FAMILIES if args.store == "rocksdb" else 0
    if cache < 0:
        raise UserError("--cache-families must be 0 (every family) or more")
    if args.partitions is not None and args.partitions < 1:
        raise UserError(f"--partitions must be at least 1, got {args.partitions}")
    if not 0 < args.commit_interval < math.inf:
        raise UserError(f"--commit-interval must be a positive number of seconds, got"
                        f" {args.commit_interval}")
    if args.log_file is not None:
        from pathlib import Path
        folder = Path(args.log_file).parent
        if not folder.is_dir():
            raise UserError(f"--log-file {args.log_file}: no folder {folder}")
    bootstrap = bootstrap_from_env(args.bootstrap)
    print(f"claimsim worker: Kafka broker {bootstrap}", file=sys.stderr)
    run_worker(args.run_dir, bootstrap, args.prefix,
               partitions=args.partitions, loglevel=args.loglevel,
               commit_interval=args.commit_interval, log_file=args.log_file,
               store=args.store, cache_families=cache)
    return 0
