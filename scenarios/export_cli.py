"""`claimsim export RUN_DIR --format 835|eob|tuva --out DIR`: a run's results in the forms payers
reconcile (X12 835 remittance advice, FHIR ExplanationOfBenefit NDJSON, the Tuva Input Layer).

Argument parsing, progress bars and the summary table only; the translations are in
`claimsim.events.interchange`. Each export streams the ledger (flat memory) and ends by checking
its totals against the ledger's own: a failed check prints the table and exits 1.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from claimsim.events.errors import UserError
from claimsim.events.files import remove_entry
from claimsim.events.interchange import RunReader
from claimsim.events.interchange.fhir_eob import write_eob
from claimsim.events.interchange.remit_files import write_835
from claimsim.events.interchange.tuva_export import reversed_claim_ids, write_tuva
from claimsim.events.log import read
from claimsim.events.money import dollars

FORMATS = ("835", "eob", "tuva")
SUMMARY_FILE = "export_summary.csv"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export", help="write a run's results as X12 835, FHIR ExplanationOfBenefit or Tuva tables",
        description="Write a run directory's adjudicated claims and prospective payments in the"
                    " forms payers reconcile: 835 (X12 005010X221A1 remittance advice, one file per"
                    " payer and paid month), eob (FHIR R4 ExplanationOfBenefit, CARIN Blue Button"
                    " professional, NDJSON), tuva (the Tuva Input Layer's medical_claim and"
                    " eligibility as CSV). Ends with a table whose totals must match the ledger.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory (ledger/, input/)")
    p.add_argument("--format", required=True, choices=FORMATS, dest="fmt")
    p.add_argument("--out", required=True, metavar="DIR", help="a new or empty directory")
    p.add_argument("--check-roundtrip", action="store_true",
                   help="tuva only: ingest the tables again, pay them under the run's scenario"
                        " (run --history) and compare every final-action line result with the"
                        " run's (DIR/roundtrip/: the runs and differences.csv); exit 1 on a difference")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_export)


def _out_dir(path: str) -> Path:
    out = Path(path)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out}: not a new or empty directory")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _emptied(out: Path) -> None:
    """What an export that did not finish wrote in `out` (new or empty when it started) removed:
    no 835 file without its trailer, no table cut short, and the same `--out` takes the next
    try. The run is untouched; an export is always made again from it."""
    for path in out.iterdir():
        remove_entry(path, ignore_errors=True)


def cmd_export(args: argparse.Namespace) -> int:
    if args.check_roundtrip and args.fmt != "tuva":
        raise UserError("--check-roundtrip: only --format tuva can be ingested again")
    reader = RunReader(args.run_dir)
    if args.check_roundtrip:  # its precondition first: no export reported, then taken back
        from claimsim.scenarios.roundtrip import run_scenario_of

        run_scenario_of(Path(args.run_dir))
    out = _out_dir(args.out)
    started = time.perf_counter()
    bar = tqdm(total=reader.ledger_size(), unit="entry", desc=f"export {args.fmt}",
               disable=args.no_progress, leave=False)
    try:
        rows, ok, claims = _export(args.fmt, reader, out, bar, args.no_progress)
        _write_summary(out / SUMMARY_FILE, rows)
    except BaseException:  # an error, Ctrl-C or kill: whole or absent
        _emptied(out)
        raise
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    print(_table(rows))
    rate = claims / seconds if seconds > 0 else 0.0
    print(f"  {claims:,} claim entries in {seconds:.1f} s ({rate:,.0f} claims/s) -> {out}")
    print("  balances: " + ("all hold" if ok else "FAILED (see the table)"))
    if args.check_roundtrip and ok:
        try:
            return _check_roundtrip(Path(args.run_dir), out, not args.no_progress)
        except BaseException:  # the round trip's ingest and run too: whole or absent
            _emptied(out)
            raise
    return 0 if ok else 1


def _check_roundtrip(run_dir: Path, out: Path, progress: bool) -> int:
    from claimsim.scenarios.roundtrip import round_trip

    started = time.perf_counter()
    print("round trip: ingest the tables, pay them under the run's scenario, compare line results")
    trip = round_trip(run_dir, out, progress=progress)
    width = max(len(k) for k, _ in trip.diff.rows())
    print("\n".join(f"{k:<{width}}  {v}" for k, v in trip.diff.rows()))
    print(f"  {time.perf_counter() - started:.1f} s; every differing field: {trip.differences}")
    print("  round trip: " + ("same line results" if trip.diff.same else
                              "DIFFERENT line results (see differences.csv)"))
    return 0 if trip.diff.same else 1


def _export(fmt: str, reader: RunReader, out: Path, bar: tqdm,
            quiet: bool) -> tuple[list[tuple[str, Any]], bool, int]:
    entries = reader.entries(progress=bar.update)
    if fmt == "835":
        s = write_835(entries, reader.reference(), out, days_progress=lambda days: tqdm(
            days, unit="day", desc="835 files", disable=quiet, leave=False))
        rows = [("files (*.835)", s.files), ("transactions (ST/SE)", s.transactions),
                ("claims (CLP)", s.claims), ("reversals (CLP02 = 22)", s.reversals),
                ("service lines (SVC)", s.lines), ("billed", dollars(s.billed)),
                ("claim paid (sum CLP04)", dollars(s.claim_paid)),
                ("ledger plan paid", dollars(s.ledger_paid)),
                ("provider adjustments (sum PLB)", dollars(s.plb)),
                ("ledger prospective payments", dollars(s.ledger_prospective)),
                ("forwarding balances still owed", dollars(s.forwarded_open)),
                ("payments (sum BPR02)", dollars(s.payment)),
                ("lines with CAS from amount fields", s.derived_lines)]
        return rows, s.balances(), s.claims - s.reversals
    if fmt == "eob":
        s = write_eob(entries, out)
        rows = [("files (*.ndjson)", s.files), ("ExplanationOfBenefit resources", s.resources),
                ("of which cancelled (reversals)", s.cancelled), ("items", s.items),
                ("total benefit", dollars(s.benefit)), ("ledger plan paid", dollars(s.ledger_paid))]
        return rows, s.balances(), s.resources - s.cancelled
    manifest = reader.manifest()
    s = write_tuva(entries, reversed_claim_ids(read(reader.ledger_dir)), reader.enrollments(),
                   reader.reference(), out, last_day=reader.coverage_end(),
                   data_source="claimsim:" + str(manifest.get("scenario", "run")),
                   alignments=reader.alignments())
    rows = [("files (*.csv)", s.files), ("medical_claim rows", s.claim_rows),
            ("claims in force", s.claims), ("eligibility rows", s.eligibility_rows),
            ("alignment rows (not a Tuva table)", s.alignment_rows),
            ("paid_amount", dollars(s.paid)), ("allowed_amount", dollars(s.allowed)),
            ("ledger plan paid net of reversals", dollars(s.ledger_in_force_paid))]
    return rows, s.balances(), s.claims


def _table(rows: list[tuple[str, Any]]) -> str:
    cells = [(k, f"{v:,}" if isinstance(v, int) else str(v)) for k, v in rows]
    width = max(len(k) for k, _ in cells)
    value_width = max(len(v) for _, v in cells)
    return "\n".join(f"{k.ljust(width)}  {v.rjust(value_width)}" for k, v in cells)


def _write_summary(path: Path, rows: list[tuple[str, Any]]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["item", "value"])
        writer.writerows(rows)
