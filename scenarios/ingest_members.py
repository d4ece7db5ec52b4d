"""The members half of `claimsim ingest`'s staging: enrollment spans (and voluntary
alignments) staged on disk, with the eligibility checks made across rows (a reader sees one row
at a time): a member's rows must agree on who the member is, and a member is covered by one plan
at a time. Kept per member, so memory grows with members and their spans, not with claim lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import orjson

from claimsim.events.interchange.alignment_file import read_alignment
from claimsim.events.interchange.ingest_model import Enrollment, Rejection, RowReason
from claimsim.events.interchange.ingest_reference import plan_id
from claimsim.scenarios.ingest_claims import IngestSummary, Rejections, Stage


def stage_enrollments(stage: Stage, paths: list[Path], read: Callable[[Path], Iterator],
                       rejections: Rejections, summary: IngestSummary) -> dict[str, str]:
    """Enrollment events staged by start date; returns member id -> subscriber id.

    The map is the one structure that grows with the data (with members, not claim lines)."""
    members: dict[str, str] = {}
    payer_types: dict[str, str | None] = {}
    spans = Spans()
    n = 0
    for path in paths:
        rows = 0
        batch = []
        for item in read(path):
            rows += 1
            if isinstance(item, Rejection):
                rejections.add(item)
                continue
            if item is None:  # a row repeating a span already read (assignment lists)
                continue
            e: Enrollment = item
            problem = spans.problem(e, rejections.column_of)
            if problem is not None:
                rejections.add(problem)
                continue
            members.setdefault(e.member_id, e.subscriber_id)
            payer_types.setdefault(e.payer, e.payer_type)
            data = {"member_id": e.member_id, "subscriber_id": members[e.member_id],
                    "payer_id": e.payer, "plan_id": plan_id(e.payer, e.plan), "start": e.start,
                    "end": e.end, "birth_date": e.birth_date, "sex": e.sex,
                    "relationship": e.relationship, "qmb": e.qmb, "hospice": False}
            batch.append((e.start, n, members[e.member_id], orjson.dumps(data)))
            n += 1
            if len(batch) >= 10_000:
                stage.db.executemany("INSERT INTO enrollments VALUES (?,?,?,?)", batch)
                batch = []
        stage.db.executemany("INSERT INTO enrollments VALUES (?,?,?,?)", batch)
        summary.files[path.name] = rows
    stage.db.commit()
    stage.payer_types = payer_types
    stage.enrolled_plans = set(stage.db.execute(
        "SELECT DISTINCT json_extract(body, '$.payer_id'), json_extract(body, '$.plan_id')"
        " FROM enrollments").fetchall())
    summary.members, summary.enrollments = len(members), n
    summary.members_with_payers = stage.db.execute(
        "SELECT COUNT(*) FROM (SELECT json_extract(body, '$.member_id') AS m FROM enrollments"
        " GROUP BY m HAVING COUNT(DISTINCT json_extract(body, '$.payer_id')) > 1)").fetchone()[0]
    return members


def stage_alignments(stage: Stage, path: Path, members: dict[str, str], rejections: Rejections,
                     summary: IngestSummary) -> None:
    """Voluntary alignment rows staged by declared date (a member with no eligibility row is
    rejected `unknown_member`)."""
    batch, rows = [], 0
    for item in read_alignment(path):
        rows += 1
        if isinstance(item, Rejection):
            rejections.add(item)
            continue
        subscriber = members.get(item.member_id)
        if subscriber is None:
            rejections.add(Rejection(item.file, item.row, "member_id", RowReason.UNKNOWN_MEMBER,
                                     f"member {item.member_id!r} has no eligibility row"))
            continue
        data = {"member_id": item.member_id, "subscriber_id": subscriber, "payer_id": item.payer,
                "practice_id": item.practice_id, "effective": item.effective}
        batch.append((item.declared, len(batch), subscriber, orjson.dumps(data)))
    stage.db.executemany("INSERT INTO alignments VALUES (?,?,?,?)", batch)
    stage.db.commit()
    summary.files[path.name] = rows
    summary.alignments = len(batch)



class Spans:
    """Each member's first row (its subscriber, sex and birth date) and accepted spans, so a row
    that disagrees with them is rejected rather than silently read as the first row says."""

    def __init__(self) -> None:
        self.first: dict[str, Enrollment] = {}
        self.spans: dict[str, list[Enrollment]] = {}

    def problem(self, e: Enrollment, column_of: dict[str, str]) -> Rejection | None:
        """`member_conflict`: a subscriber, sex or birth date unlike the member's first row's;
        `overlapping_span`: dates overlapping an accepted span with another payer or plan (the
        engine covers a member by one plan at a time). Accepted otherwise (and remembered)."""
        first = self.first.setdefault(e.member_id, e)
        for attr in ("subscriber_id", "sex", "birth_date"):
            if getattr(e, attr) != getattr(first, attr):
                column = column_of.get(attr, attr)
                return Rejection(e.file, e.row, column, RowReason.MEMBER_CONFLICT,
                                 f"member {e.member_id}: {column} {getattr(e, attr)!r} differs"
                                 f" from row {first.row}'s {getattr(first, attr)!r}")
        spans = self.spans.setdefault(e.member_id, [])
        for other in spans:
            if ((other.payer, other.plan) != (e.payer, e.plan)
                    and e.start <= (other.end or "9999-12-31")
                    and other.start <= (e.end or "9999-12-31")):
                return Rejection(e.file, e.row, column_of.get("start", "start"),
                                 RowReason.OVERLAPPING_SPAN,
                                 f"member {e.member_id}: {e.payer}/{e.plan} {_span(e)} overlaps"
                                 f" row {other.row}'s {other.payer}/{other.plan} {_span(other)}")
        spans.append(e)
        return None


def _span(e: Enrollment) -> str:
    return f"{e.start}..{e.end or '(open)'}"
