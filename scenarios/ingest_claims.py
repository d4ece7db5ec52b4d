"""The staging half of `claimsim ingest`: claim lines and enrollment spans from the readers are
staged on disk (SQLite, so memory stays flat in the files' size) and lines grouped by claim id
into claims as submitted; `ingest_order` then links the claims along their adjustment chains
(void and replacement) and hands them back in received-date order with the enrollments and
alignments, and `ingest` writes them out.

The members (enrollment spans, alignments) are staged by `ingest_members`. The choices where
DOMAIN.md is silent are listed in `claimsim.scenarios.ingest`.
"""

from __future__ import annotations

import csv
import operator
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import orjson

from claimsim.events.input import AlignmentDeclared, ClaimSubmitted, MemberEnrolled
from claimsim.events.interchange.ingest_model import (ClaimLine, Rejection, RowReason,
                                                      date_problem, file_amount_problem,
                                                      file_amounts)
from claimsim.events.interchange.ingest_reference import (extended_schedule, line_of_business,
                                                          priced_years)
from claimsim.events.plans import LineOfBusiness
from claimsim.events.providers import ClinicianRole
from claimsim.events.reference import ReferenceData

CLAIM_TYPE, ENROLLED_TYPE = ClaimSubmitted.TYPE, MemberEnrolled.TYPE
ALIGNED_TYPE = AlignmentDeclared.TYPE

@dataclass
class IngestSummary:
    """What an ingest read and wrote (printed, and stored in run.json under `ingest`)."""

    format: str
    files: dict[str, int] = field(default_factory=dict)  # file -> rows read
    rejections: dict[str, int] = field(default_factory=dict)  # reason -> rows
    members: int = 0
    enrollments: int = 0
    # Members enrolled with more than one payer (at once or in turn): attribution keeps one
    # timeline per member across payers (docs/user-guide.md, "Ingesting real claims").
    members_with_payers: int = 0
    alignments: int = 0  # voluntary alignment events (from --alignment)
    claims: int = 0
    claim_lines: int = 0
    claims_by_frequency: dict[str, int] = field(default_factory=dict)
    payers: int = 0
    plans: int = 0
    practices: int = 0
    clinicians: int = 0
    roles: str = ""
    received_from: dict[str, int] = field(default_factory=dict)  # source column -> claims
    pricing: str = "re-priced with the scenario's fee schedule and plans"
    start: str = ""
    service_end: str = ""
    horizon: str = ""
    assignment: str | None = None  # CCLF coverage from an assignment list: what it held

    def to_dict(self) -> dict[str, Any]:
        """The fields, leaving out `assignment` when no list was read and `members_with_payers`
        when no member has two payers (so run.json is what it was for every other ingest)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__
                if (k != "assignment" or self.assignment is not None)
                and (k != "members_with_payers" or self.members_with_payers)}


class Rejections:
    """rejections.csv, written as rows are rejected, with counts per reason."""

    def __init__(self, path: Path, column_of: dict[str, str]):
        self.column_of = column_of  # ClaimLine field -> the file's column name
        self._file = open(path, "w", newline="", encoding="utf-8")
        self._csv = csv.writer(self._file, lineterminator="\n")  # LF, as every report (streamed)
        self._csv.writerow(["file", "row", "column", "reason", "message"])
        self.counts: Counter[str] = Counter()

    def add(self, r: Rejection) -> None:
        self._csv.writerow([r.file, r.row, r.column, r.reason.value, r.message])
        self.counts[r.reason.value] += 1

    def reject(self, line: ClaimLine, field: str, reason: RowReason, message: str) -> None:
        self.add(Rejection(line.file, line.row, self.column_of.get(field, field), reason, message))

    def close(self) -> None:
        self._file.close()


class Stage:
    """The on-disk staging tables: enrollments, claim lines, then grouped claims."""

    def __init__(self, path: Path):
        self.payer_types: dict[str, str | None] = {}  # from the eligibility file
        self.enrolled_plans: set[tuple[str, str]] = set()  # (payer, plan id) enrolled in
        self.db = sqlite3.connect(path)
        self.db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA temp_store=FILE;"
            "CREATE TABLE enrollments (at TEXT, n INTEGER, key TEXT, body BLOB);"
            "CREATE TABLE alignments (at TEXT, n INTEGER, key TEXT, body BLOB);"
            "CREATE TABLE lines (claim_id TEXT, n INTEGER, body BLOB);"
            "CREATE TABLE claims (claim_id TEXT, chain TEXT, adjustment TEXT, at TEXT, key TEXT,"
            " file TEXT, row INTEGER, body BLOB);")

    def close(self) -> None:
        self.db.close()

    def group_claims(self, rejections: Rejections, summary: IngestSummary,
                     members: dict[str, str], from_file: bool, seen: Seen) -> None:
        """Lines -> claims (one row per claim id), checking claim-level agreement. A claim's
        lines are its runs' lines in file order, sorted by line number (a stable sort: lines
        with the same number stay in file order)."""
        rows = self.db.execute("SELECT claim_id, body FROM lines ORDER BY claim_id, n")
        batch: list[tuple] = []
        current: list[ClaimLine] = []
        current_id = None
        new = tuple.__new__  # ClaimLine(...) without the namedtuple's Python-level __new__ frame
        for claim_id, body in rows:
            if claim_id != current_id and current:
                if len(current) > 1:
                    current.sort(key=_LINE_NO)
                batch.append(_claim_row(current, rejections, summary, members, from_file, seen))
                current = []
                if len(batch) >= 10_000:
                    self.db.executemany("INSERT INTO claims VALUES (?,?,?,?,?,?,?,?)", batch)
                    batch = []
            current_id = claim_id
            current.extend(new(ClaimLine, x) for x in orjson.loads(body))
        if current:
            if len(current) > 1:
                current.sort(key=_LINE_NO)
            batch.append(_claim_row(current, rejections, summary, members, from_file, seen))
        self.db.executemany("INSERT INTO claims VALUES (?,?,?,?,?,?,?,?)", batch)
        self.db.commit()


CLAIM_LEVEL = ("member_id", "payer", "plan", "billing_tin", "adjustment", "chain")
_LINE_NO = operator.itemgetter(ClaimLine._fields.index("line_no"))


class _Runs:
    """The `lines` table as it is written: one row per run of consecutive lines of one claim id
    (files list a claim's lines together, so a row is usually a whole claim), numbered in file
    order; half the rows a line per row would insert and sort."""

    def __init__(self, db: sqlite3.Connection):
        self.db, self.batch, self.run, self.claim_id, self.n = db, [], [], None, 0

    def add(self, line: ClaimLine) -> None:
        if line.claim_id != self.claim_id:
            self._close()
            self.claim_id = line.claim_id
        self.run.append(tuple(line))

    def _close(self) -> None:
        if self.run:
            self.batch.append((self.claim_id, self.n, orjson.dumps(self.run)))
            self.n, self.run = self.n + 1, []
            if len(self.batch) >= 5_000:
                self.db.executemany("INSERT INTO lines VALUES (?,?,?)", self.batch)
                self.batch = []

    def flush(self) -> None:
        self._close()
        self.db.executemany("INSERT INTO lines VALUES (?,?,?)", self.batch)
        self.batch = []


_CLAIM_LEVEL_OF = operator.itemgetter(*(ClaimLine._fields.index(f) for f in CLAIM_LEVEL))


def _claim_row(lines: list[ClaimLine], rejections: Rejections, summary: IngestSummary,
               members: dict[str, str], from_file: bool, seen: Seen) -> tuple:
    first = lines[0]
    kept = lines
    if len(lines) > 1:  # `_agreeing_lines` only when a quick test finds a line it would reject
        level = _CLAIM_LEVEL_OF(first)
        if len({x.line_no for x in lines}) != len(lines) or any(
                _CLAIM_LEVEL_OF(x) != level for x in lines):
            kept = _agreeing_lines(lines, rejections)
    seen.payers.setdefault(first.payer, None)
    seen.plans.add((first.payer, first.plan))
    npis = seen.practices.setdefault(first.billing_tin, {})
    for x in kept:
        role = ClinicianRole(x.role) if x.role else None
        if npis.get(x.rendering_npi) is None:
            npis[x.rendering_npi] = role
        seen.has_specialty = seen.has_specialty or role is not None
    received, source = _received(kept)
    summary.received_from[source] = summary.received_from.get(source, 0) + 1
    claim = {
        "claim_id": first.claim_id, "frequency": "1", "original_claim_id": None,
        "member_id": first.member_id, "subscriber_id": members[first.member_id], "payer_id": first.payer,
        "billing_tin": first.billing_tin, "rendering_npi": first.rendering_npi,
        "place_of_service": first.place_of_service, "received": received,
        "lines": [_line(x, first, from_file) for x in kept],
    }
    summary.claim_lines += len(kept)
    return (first.claim_id, first.chain or first.claim_id, first.adjustment, received,
            members[first.member_id],
            first.file, first.row, orjson.dumps(claim))


def _agreeing_lines(lines: list[ClaimLine], rejections: Rejections) -> list[ClaimLine]:
    """The claim's lines less those rejected: a line number seen before (`duplicate_line`), or a
    claim-level value that differs from the first line's (`claim_conflict`)."""
    first, kept, numbers = lines[0], [lines[0]], {lines[0].line_no}
    for line in lines[1:]:
        if line.line_no in numbers:
            rejections.reject(line, "line_no", RowReason.DUPLICATE_LINE,
                              f"claim {line.claim_id} line {line.line_no} appears again"
                              f" (first at row {next(x.row for x in kept if x.line_no == line.line_no)})")
            continue
        conflict = next((attr for attr in CLAIM_LEVEL
                         if getattr(line, attr) != getattr(first, attr)), None)
        if conflict is not None:
            column = rejections.column_of.get(conflict, conflict)
            rejections.reject(line, conflict, RowReason.CLAIM_CONFLICT,
                              f"claim {line.claim_id}: {column} {getattr(line, conflict)!r} differs"
                              f" from line {first.line_no}'s {getattr(first, conflict)!r}")
            continue
        numbers.add(line.line_no)
        kept.append(line)
    return kept


def _received(lines: list[ClaimLine]) -> tuple[str, str]:
    """The latest received date of the lines, else the latest paid date, else claim end."""
    received = paid = end = ""
    for x in lines:
        if x.received and x.received > received:
            received = x.received
        if x.paid_date and x.paid_date > paid:
            paid = x.paid_date
        if x.claim_end > end:
            end = x.claim_end
    if received:
        return received, "received_date"
    return (paid, "paid_date") if paid else (end, "claim_end_date")


def _line(x: ClaimLine, first: ClaimLine, from_file: bool) -> dict[str, Any]:
    line: dict[str, Any] = {"line_no": x.line_no, "service_date": x.service_date,
                            "procedure": x.procedure, "modifiers": list(x.modifiers),
                            "units": x.units, "billed": x.billed, "diagnoses": list(x.diagnoses)}
    if x.rendering_npi != first.rendering_npi:
        line["rendering_npi"] = x.rendering_npi
    if x.place_of_service != first.place_of_service:
        line["place_of_service"] = x.place_of_service
    if from_file:
        line["file_amounts"] = file_amounts(x)
    return line


@dataclass
class Seen:
    """What the claim lines name: the reference data is built from it."""

    payers: dict[str, str | None] = field(default_factory=dict)  # payer -> payer_type
    plans: set[tuple[str, str]] = field(default_factory=set)
    practices: dict[str, dict[str, ClinicianRole | None]] = field(default_factory=dict)
    has_specialty: bool = False
    lob: dict[str, LineOfBusiness] = field(default_factory=dict)  # payer -> line of business


def stage_lines(stage: Stage, paths: list[Path], read: Callable[[Path], Iterator],
                 members: dict[str, str], template: ReferenceData, rejections: Rejections,
                 summary: IngestSummary, from_file: bool,
                 progress: Callable[[int], None] | None) -> Seen:
    seen = Seen(payers=dict(stage.payer_types))
    years = priced_years(template)
    schedules = {lob: extended_schedule(template.fee_schedule_of_payer[p.payer_id])
                 for p in reversed(template.payers) for lob in (p.lob,)}
    runs = _Runs(stage.db)
    priceable: dict[tuple[str, str, str], tuple | None] = {}  # (payer, year, code) -> problem
    for path in paths:
        rows = 0
        for item in read(path):
            rows += 1
            if progress is not None and rows % 10_000 == 0:
                progress(10_000)
            if isinstance(item, Rejection):
                rejections.add(item)
                continue
            line: ClaimLine = item
            if line.member_id not in members:
                rejections.reject(line, "member_id", RowReason.UNKNOWN_MEMBER,
                                  f"member {line.member_id!r} has no eligibility row")
                continue
            problem = date_problem(line)
            if problem is not None:
                rejections.reject(line, *problem)
                continue
            if from_file:
                problem = file_amount_problem(line) if line.adjustment != "1" else None
                if problem is not None:
                    rejections.reject(line, *problem)
                    continue
            else:
                key = (line.payer, line.service_date[:4], line.procedure)
                problem = priceable.get(key, False)
                if problem is False:
                    problem = priceable[key] = _price_problem(line, seen, years, schedules)
                if problem is not None:
                    rejections.reject(line, *problem)
                    continue
            runs.add(line)
        summary.files[path.name] = rows
        if progress is not None:
            progress(rows % 10_000)
    runs.flush()
    stage.db.commit()
    for payer_id, plan in stage.enrolled_plans:
        seen.plans.add((payer_id, plan.removeprefix(payer_id + ":")))
    return seen


def _price_problem(line: ClaimLine, seen: Seen, years: dict, schedules: dict
                   ) -> tuple[str, RowReason, str] | None:
    """Why the line cannot be re-priced ((field, reason, message)), or None. It depends only on
    the payer, the service year and the code, so the caller keeps the answers."""
    lob = seen.lob.get(line.payer)
    if lob is None:
        lob = seen.lob[line.payer] = line_of_business(line.payer, seen.payers.get(line.payer))
    year = int(line.service_date[:4])
    if year not in years.get(lob, ()):
        return ("service_date", RowReason.UNSUPPORTED_YEAR,
                f"service year {year}: the scenario's fee schedule and plans have no"
                f" {year} figures (have {', '.join(map(str, sorted(years.get(lob, ()))))});"
                " re-price another year or use --price-from-file")
    if schedules[lob].amounts.get(year, {}).get(line.procedure) is None:
        return ("procedure", RowReason.UNPRICED_CODE,
                f"code {line.procedure} is not on the fee schedule for {year}")
    return None
