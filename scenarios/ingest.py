"""`claimsim ingest`: a run directory from real claims. The readers of `events.interchange` turn
rows into claim lines, enrollment spans and row rejections; here the lines are staged on disk
(SQLite, so memory stays flat in the file's size), grouped by claim id into claims as submitted,
linked along their adjustment chains (void and replacement), and written with the enrollments to
`input/` in received-date order, beside `reference.json`, `run.json` and `rejections.csv`.

Choices where DOMAIN.md is silent:
- A claim's received date is the latest of its lines' `received_date`, else of their
  `paid_date`, else its claim end date; the summary says which the files had.
- Claim-level values (member, payer, plan, billing TIN, adjustment type, chain) come from the
  claim's lowest line number; a later line that disagrees is rejected (`claim_conflict`), and so is
  a second line with the same number (`duplicate_line`). The claim's rendering NPI and place of
  service are its first line's; lines whose NPI or place of service differ keep their own in the
  line (`rendering_npi`, `place_of_service`), as professional claims do.
- Re-pricing (the default) needs the scenario's fee schedule for the service year: a line in a
  year it lacks is rejected `unsupported_year` naming the year, and a code not on it that year
  `unpriced_code`. With `price_from_file` every line keeps the file's allowed, plan paid and
  cost-share split in `file_amounts` (`ingest_model.file_amounts`), the reference data says
  `price_from_file` so adjudication takes them (`adjudication.engine.file_pricing`), and no year
  or fee-schedule check is made; a line whose amounts are missing or do not add up is rejected
  (`missing_value`, `inconsistent_amounts`) naming the amount's column.
- Enrollment events are dated their start; on one day enrollments come before claims, each in
  file order; claims on one day in the files' order (that of each claim's first line), which
  keeps a family's same-day claims in the order the payer received them.
- Voluntary alignment rows (`--alignment`) become `alignment.declared` events dated their
  declared date, after the day's enrollments and before its claims.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import orjson

from claimsim.events.errors import UserError
from claimsim.events.interchange import cclf, cclf_assignment, tuva_ingest
from claimsim.events.interchange.ingest_model import Rejection, role_of_specialty
from claimsim.events.interchange.ingest_reference import build_reference
from claimsim.events.interchange.tabular import readable
from claimsim.events.log import LogWriter
from claimsim.events.providers import ClinicianRole
from claimsim.events.reference import ReferenceData
from claimsim.simulator.run_dir import INPUT_DIR, RUN_FILE, BatchSink, check_empty_run_dir

from claimsim.adjudication.runtimes.whole_run import INGEST_MARK

from claimsim.scenarios.ingest_order import input_events
from claimsim.scenarios.ingest_claims import IngestSummary, Rejections, Stage, stage_lines
from claimsim.scenarios.ingest_members import stage_alignments, stage_enrollments

REJECTIONS_FILE = "rejections.csv"
FORMATS = ("tuva", "cclf")


@dataclass
class Sources:
    format: str
    claims: list[Path]
    enrollment: list[Path]  # Tuva eligibility; CCLF8 (coverage, or with `assignment` demographics)
    roster: Path | None = None
    alignment: Path | None = None  # members' voluntary alignment (alignment.csv)
    assignment: Path | None = None  # CCLF: coverage from a beneficiary assignment list


def read_roster(path: Path) -> dict[str, ClinicianRole]:
    """A roster CSV: `npi` and either `role` (primary_care, specialist, emergency, other) or a
    `specialty`/`taxonomy` code."""
    readable(path)
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        names = [n.strip().lower() for n in reader.fieldnames or []]
        if "npi" not in names or not {"role", "specialty", "taxonomy"} & set(names):
            raise UserError(f"{path}: not a roster (needs columns npi and role, specialty or taxonomy)")
        out = {}
        for i, raw in enumerate(reader, start=1):
            row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
            role = row.get("role", "").lower()
            try:
                value = ClinicianRole(role) if role else role_of_specialty(
                    row.get("specialty") or row.get("taxonomy") or "")
            except ValueError:
                raise UserError(f"{path}: row {i}: role {role!r} is not one of"
                                f" {', '.join(r.value for r in ClinicianRole)}") from None
            if row.get("npi") and value is not None:
                out[row["npi"]] = value
        return out


def _readers(fmt: str) -> tuple[Callable[[Path], Iterator], Callable[[Path], Iterator], dict]:
    if fmt == "tuva":
        return tuva_ingest.read_medical_claims, tuva_ingest.read_eligibility, tuva_ingest.COLUMN_OF
    if fmt == "cclf":
        return cclf.read_cclf5, cclf.read_cclf8, cclf.COLUMN_OF
    raise UserError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")


def _assignment(sources: Sources, rejections: Rejections, summary: IngestSummary
                ) -> tuple[Callable[[Path], Iterator], list[Path]]:
    """The reader of a CCLF assignment list (and its one file), with the demographics of any
    CCLF8 file given beside it read first (its rows counted and its bad records rejected)."""
    if sources.format != "cclf":
        raise UserError("--assignment is a CCLF enrollment source: use it with --format cclf")
    demographics: dict[str, cclf_assignment.Demographics] = {}
    for path in sources.enrollment:
        rows = 0
        for item in cclf.read_cclf8(path):
            rows += 1
            if isinstance(item, Rejection):
                rejections.add(item)
            else:
                demographics.setdefault(item.member_id, cclf_assignment.demographics_of(item))
        summary.files[path.name] = rows
    assigned: list[cclf_assignment.Assigned] = []

    def read(path: Path) -> Iterator:
        yield from cclf_assignment.read_assignment(path, demographics, assigned)
        summary.assignment = cclf_assignment.describe(assigned)

    return read, [sources.assignment]


def _add_months(day: dt.date, months: int) -> dt.date:
    y, mo = divmod(day.month - 1 + months, 12)
    return dt.date(day.year + y, mo + 1, 1)


def ingest(sources: Sources, template: ReferenceData, run_dir: Path | str, *, scenario: str,
           price_from_file: bool = False, progress: Callable[[int], None] | None = None,
           ) -> IngestSummary:
    """Read the files into a fresh run directory; returns what was read and written."""
    run_dir = Path(run_dir)
    check_empty_run_dir(run_dir, "ingest")
    read_claims, read_enrollment, column_of = _readers(sources.format)
    roster = read_roster(sources.roster) if sources.roster else None
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / INGEST_MARK).write_bytes(b"")  # until run.json is written (`whole_run`)
    summary = IngestSummary(format=sources.format)
    if price_from_file:
        summary.pricing = "taken from the file (allowed, plan paid, cost share)"
    tmp = Path(tempfile.mkdtemp(prefix=".ingest-", dir=run_dir))
    rejections = Rejections(run_dir / REJECTIONS_FILE, column_of)
    try:
        stage = Stage(tmp / "stage.sqlite")
        enrollment_files = sources.enrollment
        if sources.assignment is not None:
            read_enrollment, enrollment_files = _assignment(sources, rejections, summary)
        members = stage_enrollments(stage, enrollment_files, read_enrollment, rejections, summary)
        seen = stage_lines(stage, sources.claims, read_claims, members, template, rejections,
                            summary, price_from_file, progress)
        stage.group_claims(rejections, summary, members, price_from_file, seen)
        if sources.alignment is not None:
            stage_alignments(stage, sources.alignment, members, rejections, summary)
        reference, roles = build_reference(template, seen.payers, seen.plans, seen.practices, roster)
        if price_from_file:
            reference = reference.model_copy(update={"price_from_file": True})
        summary.roles = roles.describe() + ("" if roster or seen.has_specialty else
                                            " (no roster given and the file has no specialty column)")
        _fill_reference_counts(summary, reference)
        reference.save(run_dir)
        _write_input(stage, run_dir, summary, rejections)
        stage.close()
    finally:
        rejections.close()
        shutil.rmtree(tmp, ignore_errors=True)
    summary.rejections = dict(sorted(rejections.counts.items()))
    _write_manifest(run_dir, summary, reference, scenario)
    (run_dir / INGEST_MARK).unlink()
    return summary


def _fill_reference_counts(summary: IngestSummary, reference: ReferenceData) -> None:
    summary.payers, summary.plans = len(reference.payers), len(reference.plans)
    summary.practices = len(reference.practices)
    summary.clinicians = sum(len(p.clinicians) for p in reference.practices)


def _write_input(stage: Stage, run_dir: Path, summary: IngestSummary,
                 rejections: Rejections) -> None:
    first_service, last_service, last_at = None, None, None
    with LogWriter(run_dir / INPUT_DIR) as log:
        sink = BatchSink(log)
        for at, order, _, event in input_events(stage, rejections, summary):
            sink(event)
            if order == 1:
                last_at = at if last_at is None or at > last_at else last_at
                for line in event["data"]["claim"]["lines"]:
                    d = line["service_date"]
                    first_service = d if first_service is None or d < first_service else first_service
                    last_service = d if last_service is None or d > last_service else last_service
    if first_service is None:
        raise UserError("no claim line was accepted: nothing to adjudicate"
                        f" (see {run_dir / REJECTIONS_FILE})")
    start = dt.date.fromisoformat(first_service).replace(day=1)
    service_end = _add_months(dt.date.fromisoformat(last_service), 1)
    horizon = max(service_end, dt.date.fromisoformat(last_at) + dt.timedelta(days=1))
    summary.start, summary.service_end, summary.horizon = (
        start.isoformat(), service_end.isoformat(), horizon.isoformat())


def _months_between(a: dt.date, b: dt.date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def _write_manifest(run_dir: Path, summary: IngestSummary, reference: ReferenceData,
                    scenario: str) -> None:
    start, end = dt.date.fromisoformat(summary.start), dt.date.fromisoformat(summary.service_end)
    horizon = dt.date.fromisoformat(summary.horizon)
    manifest = {
        "scenario": scenario, "seed": 0, "ingested": True,
        "start": summary.start, "months": _months_between(start, end),
        "runout_months": _months_between(end, _add_months(horizon - dt.timedelta(days=1), 1)),
        "service_end": summary.service_end, "horizon": summary.horizon,
        "reference_digest": reference.digest(), "ingest": summary.to_dict(),
    }
    (run_dir / RUN_FILE).write_bytes(
        orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n")
