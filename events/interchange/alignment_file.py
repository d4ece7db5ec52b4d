"""Members' voluntary alignment (their stated choice of primary-care practice) as a CSV beside the
claim files: `claimsim export --format tuva` writes `alignment.csv`, `claimsim ingest --alignment`
reads it back into `alignment.declared` input events. The Tuva Input Layer has no table for it,
and attribution (so every capitation offset) depends on it: without it a round trip cannot pay
the same.

Columns: member_id, payer, practice_tin (the practice's billing TIN), effective_date and
declared_date (the day the payer learnt of it: the input event's date). Each row becomes an
`Alignment` or a `Rejection` naming the row and column.

Choices where DOMAIN.md is silent: an empty declared_date is the effective date; the payer is
written as the Tuva tables write it (its name), so the three files join on it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from claimsim.events.errors import UserError
from claimsim.events.interchange import ingest_model as m
from claimsim.events.interchange.ingest_model import BadValue, Rejection, RowReason
from claimsim.events.interchange.tabular import readable

ALIGNMENT_COLUMNS = ("member_id", "payer", "practice_tin", "effective_date", "declared_date")
REQUIRED = ("member_id", "payer", "practice_tin", "effective_date")


class Alignment(NamedTuple):
    file: str
    row: int
    member_id: str
    payer: str
    practice_id: str
    effective: str
    declared: str


def alignment_rows(events: Iterable[dict[str, Any]], payer_name: dict[str, str]
                   ) -> Iterator[dict[str, str]]:
    """`alignment.declared` input envelopes as alignment.csv rows (input order)."""
    for env in events:
        d = env["data"]
        yield {"member_id": d["member_id"], "payer": payer_name.get(d["payer_id"], d["payer_id"]),
               "practice_tin": d["practice_id"], "effective_date": d["effective"],
               "declared_date": env["at"]}


def write_alignment(path: Path, rows: Iterable[dict[str, str]]) -> int:
    n = 0
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(ALIGNMENT_COLUMNS), lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow(r)
            n += 1
    return n


def read_alignment(path: Path | str) -> Iterator[Alignment | Rejection]:
    path = Path(path)
    readable(path)
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        names = [n.strip().lower() for n in reader.fieldnames or []]
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            raise UserError(f"{path}: not an alignment file (missing columns: {', '.join(missing)})")
        for row, raw in enumerate(reader, start=1):
            cells = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
            try:
                yield _alignment(path.name, row, cells)
            except _Bad as bad:
                yield Rejection(path.name, row, bad.column, bad.reason, bad.message)


class _Bad(Exception):
    def __init__(self, column: str, reason: RowReason, message: str):
        super().__init__(message)
        self.column, self.reason, self.message = column, reason, message


def _alignment(name: str, row: int, c: dict[str, str]) -> Alignment:
    for column in REQUIRED:
        if not c.get(column):
            raise _Bad(column, RowReason.MISSING_VALUE, f"{column} is empty")
    days = {}
    for column in ("effective_date", "declared_date"):
        if c.get(column):
            try:
                days[column] = m.day(c[column])
            except BadValue as e:
                raise _Bad(column, e.reason, f"{column}: {e.message}") from None
    effective = days["effective_date"]
    return Alignment(name, row, c["member_id"], c["payer"], c["practice_tin"], effective,
                     days.get("declared_date", effective))
