"""`claimsim ingest --format tuva|cclf CLAIMS ENROLLMENT --out RUN_DIR`: real claims into a run
directory every other command accepts. Argument parsing and printing; the work is in `ingest`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from claimsim.events.errors import UserError
from claimsim.events.interchange.tabular import readable


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ingest", help="read real claims (Tuva Input Layer or CMS CCLF) into a run directory",
        description="Read a claims file and its enrollment file into a run directory"
                    " (reference.json, run.json, input/, rejections.csv) that adjudicate, attribute,"
                    " audit and the run clock accept. Tuva: MEDICAL_CLAIM and ELIGIBILITY tables"
                    " (CSV or Parquet). CCLF: a CCLF5 (Part B physician) and a CCLF8 (beneficiary"
                    " demographics) file, fixed width.")
    p.add_argument("claims", metavar="CLAIMS", help="Tuva medical_claim table, or a CCLF5 file")
    p.add_argument("enrollment", metavar="ENROLLMENT", nargs="?", default=None,
                   help="Tuva eligibility table, or a CCLF8 file (CCLF: optional with --assignment,"
                        " which then takes only its birth date, sex and dual status)")
    p.add_argument("--assignment", default=None, metavar="FILE",
                   help="CCLF only: coverage from a beneficiary assignment list CSV instead of"
                        " CCLF8: BENE_MBI_ID, ALGN_EFCTV_DT (coverage start), optional ALGN_END_DT,"
                        " TIN, NPI, BENE_BRTH_DT, BENE_SEX_CD, BENE_DUAL_STUS_CD, BENE_DEATH_DT"
                        " (MBI, COVERAGE_START, COVERAGE_END, START_DATE, END_DATE accepted too)")
    p.add_argument("--format", required=True, choices=("tuva", "cclf"), dest="fmt",
                   help="the files' format")
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="a new or empty directory")
    p.add_argument("--roster", default=None, metavar="FILE",
                   help="CSV of clinicians: npi and role (primary_care, specialist, emergency,"
                        " other) or specialty/taxonomy; otherwise the file's specialty column,"
                        " else every clinician is primary care")
    p.add_argument("--alignment", default=None, metavar="FILE",
                   help="CSV of members' voluntary alignment (member_id, payer, practice_tin,"
                        " effective_date, declared_date), as `export --format tuva` writes it")
    p.add_argument("--scenario", default=None, metavar="SCENARIO",
                   help="where plan and fee schedule figures come from (built-in name or TOML;"
                        " default: the built-in default region)")
    p.add_argument("--price-from-file", action="store_true",
                   help="take allowed, plan paid and the cost-share split (deductible,"
                        " coinsurance, copay) from the file instead of re-pricing: no fee schedule"
                        " or plan figures are needed for the file's years; the scenario's payment"
                        " model still applies on top")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)


def _template(name: str | None):
    from claimsim.scenarios.region import scenario_region
    from claimsim.scenarios.spec import load, validate

    if name is None:
        scenario = validate({}, "default region")
    else:
        _, data, origin = load(name)
        scenario = validate(data, origin)
    return scenario.scenario, scenario_region(scenario).reference


def cmd_ingest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from claimsim.scenarios.ingest import Sources, ingest

    if args.enrollment is None and not (args.fmt == "cclf" and args.assignment):
        raise UserError("ENROLLMENT is missing: give the "
                        + ("eligibility table" if args.fmt == "tuva" else "CCLF8 file, or --assignment FILE"))
    if args.assignment and args.fmt != "cclf":
        raise UserError("--assignment is a CCLF enrollment source: use it with --format cclf")
    scenario, template = _template(args.scenario)
    sources = Sources(args.fmt, [Path(args.claims)],
                      [Path(args.enrollment)] if args.enrollment else [],
                      Path(args.roster) if args.roster else None,
                      Path(args.alignment) if args.alignment else None,
                      Path(args.assignment) if args.assignment else None)
    for path in (*sources.claims, *sources.enrollment,
                 *filter(None, [sources.alignment, sources.assignment, sources.roster])):
        readable(path)  # a missing, unreadable or directory input: one line naming it
    began = time.perf_counter()
    show = not args.no_progress and sys.stderr.isatty()
    with tqdm(total=None, unit=" lines", disable=not show, desc="ingest") as bar:
        summary = ingest(sources, template, Path(args.out), scenario=scenario,
                         price_from_file=args.price_from_file, progress=bar.update)
    elapsed = time.perf_counter() - began
    print(summary_text(summary, Path(args.out)))
    rows = sum(summary.files.values())
    print(f"\n{rows:,} rows in {elapsed:.1f} s ({rows / max(elapsed, 1e-9):,.0f} rows/s)")
    return 0


def summary_text(s, out: Path) -> str:
    received = ", ".join(f"{k} ({v:,} claims)" for k, v in s.received_from.items()) or "none"
    rejected = sum(s.rejections.values())
    rows = [
        ("format", s.format),
        *((f"read {name}", f"{n:,} rows") for name, n in s.files.items()),
        ("members / enrollment spans", f"{s.members:,} / {s.enrollments:,}"),
        *((("members with two payers or more", f"{s.members_with_payers:,}: each member has one"
            " attribution across its payers (docs/user-guide.md, \"Ingesting real claims\")"),)
          if s.members_with_payers else ()),
        *((("voluntary alignments", f"{s.alignments:,}"),) if s.alignments else ()),
        ("claims / lines", f"{s.claims:,} / {s.claim_lines:,}"),
        ("claims by frequency", ", ".join(f"{k}: {v:,}" for k, v in s.claims_by_frequency.items())),
        ("payers / plans", f"{s.payers} / {s.plans}"),
        ("practices (billing TINs) / clinicians", f"{s.practices:,} / {s.clinicians:,}"),
        ("roles", s.roles.removeprefix("clinician roles: ")),
        ("received date from", received),
        *((("assignment list", s.assignment),) if s.assignment else ()),
        ("pricing", s.pricing),
        ("service window", f"{s.start} to {s.service_end} (horizon {s.horizon})"),
        ("rows rejected", f"{rejected:,}" + (" (" + ", ".join(
            f"{k}: {v:,}" for k, v in s.rejections.items()) + ")" if rejected else "")),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"{k:<{width}}  {v}" for k, v in rows]
    lines.append(f"{'wrote':<{width}}  {out}/ (reference.json, run.json, input/, rejections.csv)")
    return "\n".join(lines)
