"""`claimsim adjudicate RUN_DIR`: adjudicate a run directory's input into its ledger (resuming
where an earlier, possibly killed, run stopped), with a progress bar and a one-line summary."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from claimsim.events.errors import UserError
from claimsim.events.money import dollars
from claimsim.events.processes import usable_cpus
from claimsim.events.signing import Signer

from claimsim.adjudication.engine.context import Settings
from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator
from claimsim.adjudication.runtimes.family_storage import (
    ADJUDICATE_CACHE_FAMILIES, IN_MEMORY_INPUTS, LARGE,
)
from claimsim.adjudication.runtimes.manifest import sign_ledger_head
from claimsim.adjudication.runtimes.passes import PASS_INPUTS

RUNTIMES = ("embedded", "kafka")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("adjudicate", help="adjudicate a run's input log into its ledger")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory (reference.json, input/)")
    p.add_argument("--runtime", default="embedded",
                   help=f"where the core runs: {', '.join(RUNTIMES)} (default embedded)")
    p.add_argument("--until", metavar="YYYY-MM-DD",
                   help="stop before the first input dated on or after this day")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--sequestration", dest="sequestration", action="store_const", const=True,
                       help="override the payers' reference data: apply Medicare sequestration to"
                            " Medicare FFS payers (their sequestration_bp, or 2 %% where it is 0;"
                            " new ledgers only)")
    group.add_argument("--no-sequestration", dest="sequestration", action="store_const", const=False,
                       help="override the payers' reference data: no sequestration (new ledgers only);"
                            " by default each Medicare FFS payer's sequestration_bp decides")
    p.add_argument("--timely-filing-days", type=int, metavar="DAYS",
                   help="filing limit for every payer instead of each payer's own (new ledgers only)")
    p.add_argument("--signing-key", metavar="FILE", default=None,
                   help="an Ed25519 private key (claimsim audit keygen): sign the ledger's heads")
    p.add_argument("--batch", type=int, default=5000, help="entries per ledger commit (default 5000)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--cache-families", type=int, default=None, metavar="N",
                   help=f"embedded runtime: keep at most N family states decoded in memory, the"
                        f" rest in a scratch RocksDB store in RUN_DIR (memory flat in the"
                        f" population); 0: every family in memory, no disk store. Default: every"
                        f" family in memory for a run of up to {IN_MEMORY_INPUTS:,} inputs,"
                        f" else {ADJUDICATE_CACHE_FAMILIES:,} over the disk store")
    p.add_argument("--no-passes", action="store_true",
                   help="embedded runtime: a new ledger of more inputs than one pass holds in"
                        f" memory ({PASS_INPUTS:,}) goes in family passes by default (the input"
                        " split by family, each part adjudicated with all its families in memory,"
                        " --processes N parts at a time, the answers merged in input order: the"
                        " same bytes); this goes over the disk store (or the --processes workers)"
                        " instead")
    p.add_argument("--processes", type=int, default=1, metavar="N",
                   help="embedded runtime: adjudicate in N worker processes, families partitioned"
                        " over them (each keeps its families as one process would: all in memory,"
                        " or its share of the --cache-families bound over a scratch store of its"
                        " own), this process writing the ledger in input order (the same bytes for"
                        " any N; default 1: all in this process)")
    p.add_argument("--partitions", type=int, default=4,
                   help="kafka runtime: inbound topic partitions (default 4: each has its own"
                        " changelog partition, so state writes go out in parallel)")
    p.add_argument("--workers", type=int, default=1,
                   help="kafka runtime: workers to start (default 1; 0 attaches to `claimsim worker`s)")
    p.add_argument("--prefix", default=None,
                   help="kafka runtime: topic prefix (default: a new unique one per run)")
    p.add_argument("--bootstrap", default=None,
                   help="kafka runtime: bootstrap servers (default $KAFKA_BOOTSTRAP_SERVERS; one of the two is required)")
    p.set_defaults(func=cmd_adjudicate)


def warn_past_cpus(processes: int) -> None:
    """Say so on stderr when `--processes` asks for more workers than the CPUs this process may
    run on: they then take turns on those CPUs (the ledger is the same bytes, only no faster), and
    each still holds its share of the families, or in family passes a whole part's, in memory."""
    cpus = usable_cpus()
    if processes > cpus:
        print(f"claimsim adjudicate: --processes {processes} is more than the {cpus} CPU(s) this"
              " process may use: the workers take turns on them (the same ledger, no faster),"
              " and each holds its own families in memory", file=sys.stderr)


def _settings(args: argparse.Namespace) -> Settings | None:
    if args.sequestration is None and args.timely_filing_days is None:
        return None  # a new ledger gets the defaults, a resumed one keeps its manifest's
    if args.timely_filing_days is not None and args.timely_filing_days < 1:
        raise UserError("--timely-filing-days must be at least 1")
    return Settings(sequestration=args.sequestration, timely_filing_days=args.timely_filing_days)


def cmd_adjudicate(args: argparse.Namespace) -> int:
    if args.runtime not in RUNTIMES:
        raise UserError(f"--runtime {args.runtime!r}: choose one of {', '.join(RUNTIMES)}")
    until = None
    if args.until is not None:
        try:
            until = dt.date.fromisoformat(args.until)
        except ValueError:
            raise UserError(f"--until {args.until!r}: not a YYYY-MM-DD date") from None
    from claimsim.adjudication.runtimes.whole_run import require_whole_input

    require_whole_input(args.run_dir)
    signer = Signer.from_file(args.signing_key) if args.signing_key else None
    if args.runtime == "kafka":
        if args.processes != 1:
            raise UserError("--processes is the embedded runtime's; the kafka runtime has --workers")
        from claimsim.adjudication.runtimes.streaming.runner import cmd_adjudicate_kafka

        if signer is not None:  # the manifest and its signature, as the embedded runtime writes them
            EmbeddedAdjudicator(args.run_dir, settings=_settings(args), signer=signer,
                                cache_families=None).close()
        code = cmd_adjudicate_kafka(args, _settings(args), until)
        sign_ledger_head(Path(args.run_dir), signer)
        return code
    if args.processes < 1:
        raise UserError("--processes must be at least 1")
    warn_past_cpus(args.processes)
    if args.cache_families is not None and args.cache_families < 0:
        raise UserError("--cache-families must be 0 (all in memory) or more")
    cache = LARGE if args.cache_families is None else args.cache_families or None
    with EmbeddedAdjudicator(args.run_dir, settings=_settings(args), batch_size=args.batch,
                             signer=signer, cache_families=cache, processes=args.processes,
                             passes=args.cache_families is None and not args.no_passes) as rt:
        start = rt.next_input
        rt.run(until_at=until, progress=not args.no_progress and sys.stderr.isatty())
        rt.sign_head()
        s = rt.stats
        if not s.inputs:  # say why, not "seq 537..536"
            why = (f"the next, seq {start:,}, is dated on or after {until}" if rt.pending()
                   else f"the ledger answers every input (seq 0..{start - 1:,})")
            print(f"{args.run_dir}: adjudicated 0 inputs: {why}")
            return 0
        print(
            f"{args.run_dir}: adjudicated {s.inputs:,} inputs (seq {start}..{rt.next_input - 1}):"
            f" {s.claims_adjudicated:,} claims paid, {s.claims_reversed:,} voided,"
            f" {s.claims_rejected:,} rejected, {s.no_effect:,} no effect;"
            f" plan paid {dollars(s.plan_paid)}"
        )
    return 0
