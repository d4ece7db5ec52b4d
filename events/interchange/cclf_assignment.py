"""Medicare FFS enrollment from a beneficiary assignment (alignment) list, the alternative to CCLF8
coverage for `claimsim ingest --format cclf --assignment FILE`: one CSV row per beneficiary (or
per beneficiary and practice) with its coverage start and end, as CMS models send practices and
ACOs in their assignment/alignment reports. Each row becomes an `Enrollment` or a `Rejection`.

Columns (header names, any case; the first name is the CMS report's, the others accepted too):
- `BENE_MBI_ID` (or `MBI`): the beneficiary, as CCLF5's BENE_MBI_ID. Required.
- `ALGN_EFCTV_DT` (or `COVERAGE_START`, `START_DATE`): first day covered. Required.
- `ALGN_END_DT` (or `COVERAGE_END`, `END_DATE`): last day covered; blank or 9999-12-31 is open.
- `TIN` (or `ACO_PARTICIPANT_TIN`, `PRVDR_TIN`): the practice the beneficiary is assigned to,
  9 digits; `NPI` (or `PRVDR_NPI`, `RNDRG_PRVDR_NPI_NUM`): its clinician, 10 digits. Optional.
- `BENE_BRTH_DT` (or `BENE_DOB`, `BIRTH_DATE`), `BENE_SEX_CD` (or `SEX`; 1/2/0 or M/F/U),
  `BENE_DUAL_STUS_CD`, `BENE_DEATH_DT`: demographics, optional; when a CCLF8 file is given too,
  its birth date, sex and dual status fill what the row leaves blank (its coverage range is not
  used). A row with no birth date from either is rejected.
Dates are YYYY-MM-DD or YYYYMMDD.

Choices where DOMAIN.md is silent:
- The list gives coverage, not attribution: the TIN and NPI are checked and counted in the
  summary, and attribution is still computed from the claims (`claimsim attribute`), so the two
  can be compared; they are not turned into voluntary alignment (members' own choices come in
  with `claimsim ingest --alignment`).
- Rows repeating a beneficiary's span (one per assigned TIN, say) are one enrollment span.
- Coverage ends on the death date when it is earlier; dual status 01/02 (QMB) owes no cost share.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, NamedTuple

from claimsim.events.errors import UserError
from claimsim.events.interchange import ingest_model as m
from claimsim.events.interchange.cclf import (MEDICARE_PAYER, MEDICARE_PAYER_TYPE, MEDICARE_PLAN,
                                              QMB_DUAL_CODES, coverage_end)
from claimsim.events.interchange.ingest_model import BadValue, Enrollment, Rejection, RowReason
from claimsim.events.interchange.tabular import batches, columns_of

WHAT = "beneficiary assignment list"
# Canonical column -> the header names accepted for it (lower case), the CMS report's first.
ALIASES = {
    "bene_mbi_id": ("bene_mbi_id", "mbi"),
    "algn_efctv_dt": ("algn_efctv_dt", "coverage_start", "start_date"),
    "algn_end_dt": ("algn_end_dt", "coverage_end", "end_date"),
    "tin": ("tin", "aco_participant_tin", "prvdr_tin"),
    "npi": ("npi", "prvdr_npi", "rndrg_prvdr_npi_num"),
    "bene_brth_dt": ("bene_brth_dt", "bene_dob", "birth_date"),
    "bene_sex_cd": ("bene_sex_cd", "sex"),
    "bene_death_dt": ("bene_death_dt",),
    "bene_dual_stus_cd": ("bene_dual_stus_cd",),
}
REQUIRED = ("bene_mbi_id", "algn_efctv_dt")


class Demographics(NamedTuple):
    """What a CCLF8 record says of a beneficiary (to fill an assignment row's blanks)."""

    birth_date: str
    sex: str
    qmb: bool


class Assigned(NamedTuple):
    """The practice a row assigns its beneficiary to (for the summary)."""

    member_id: str
    tin: str | None
    npi: str | None


class _Bad(Exception):
    def __init__(self, column: str, reason: RowReason, message: str):
        super().__init__(message)
        self.column, self.reason, self.message = column, reason, message


def _header(path: Path) -> dict[str, str]:
    """Canonical column -> the file's own (lower-cased) header name, for the columns present."""
    names = columns_of(path, WHAT)
    found = {canon: next((a for a in aliases if a in names), None) for canon, aliases in ALIASES.items()}
    missing = [ALIASES[c][0].upper() for c in REQUIRED if found[c] is None]
    if missing:
        raise UserError(f"{path}: not a {WHAT} (missing columns: {', '.join(missing)};"
                        f" see `claimsim ingest --help`)")
    return {canon: name for canon, name in found.items() if name is not None}


def read_assignment(path: Path | str, demographics: dict[str, Demographics] | None = None,
                    assigned: list[Assigned] | None = None
                    ) -> Iterator[Enrollment | Rejection | None]:
    """Each row as a Medicare FFS enrollment span, a rejection naming row and column, or None
    for a row repeating a span already read; `assigned` collects each accepted row's TIN and
    NPI."""
    path = Path(path)
    header = _header(path)
    wanted = list(dict.fromkeys(header.values()))
    seen: set[tuple[str, str, str | None]] = set()
    for item in batches(path, WHAT, wanted):
        if isinstance(item, Rejection):
            yield item
            continue
        first, cols = item
        for i, values in enumerate(zip(*cols.values())):
            raw = dict(zip(cols, values))
            cells = {canon: raw.get(name) for canon, name in header.items()}
            try:
                span, tin, npi = _row(cells, demographics or {})
            except _Bad as bad:
                yield Rejection(path.name, first + i, bad.column, bad.reason, bad.message)
                continue
            if assigned is not None:
                assigned.append(Assigned(span.member_id, tin, npi))
            key = (span.member_id, span.start, span.end)
            if key in seen:
                yield None  # the same span again (another TIN): read, and one enrollment
                continue
            seen.add(key)
            yield span._replace(file=path.name, row=first + i)


def _value(cells: dict[str, Any], canon: str, parse=None, required: bool = False):
    raw = m.text(cells.get(canon))
    column = ALIASES[canon][0].upper()
    if not raw:
        if required:
            raise _Bad(column, RowReason.MISSING_VALUE, f"{column} is empty")
        return None
    if parse is None:
        return raw
    try:
        return parse(raw)
    except BadValue as e:
        raise _Bad(column, e.reason, f"{column}: {e.message}") from None


def _digits(n: int, what: str):
    def parse(raw: str) -> str:
        if len(raw) != n or not m.digits(raw):
            raise BadValue(RowReason.BAD_CODE, f"a {what} is {n} digits, got {raw!r}")
        return raw
    return parse


def _date(raw: str) -> str:
    return m.day(raw, compact=True)


def _row(cells: dict[str, Any], demographics: dict[str, Demographics]
         ) -> tuple[Enrollment, str | None, str | None]:
    member = _value(cells, "bene_mbi_id", required=True)
    start = _value(cells, "algn_efctv_dt", _date, required=True)
    end = _value(cells, "algn_end_dt", _date)
    tin = _value(cells, "tin", _digits(9, "TIN"))
    npi = _value(cells, "npi", _digits(10, "NPI"))
    known = demographics.get(member)
    birth = _value(cells, "bene_brth_dt", _date) or (known.birth_date if known else None)
    if birth is None:
        raise _Bad("BENE_BRTH_DT", RowReason.MISSING_VALUE,
                   f"BENE_BRTH_DT is empty and no CCLF8 record gives {member}'s birth date")
    sex_raw = m.text(cells.get("bene_sex_cd"))
    try:
        sex = m.sex_code(sex_raw) if sex_raw else (known.sex if known else "U")
    except BadValue as e:
        raise _Bad("BENE_SEX_CD", e.reason, f"BENE_SEX_CD: {e.message}") from None
    death = _value(cells, "bene_death_dt", _date)
    dual = m.text(cells.get("bene_dual_stus_cd"))
    qmb = dual.zfill(2) in QMB_DUAL_CODES if dual else bool(known and known.qmb)
    try:
        end = coverage_end(start, end, death)
    except BadValue as e:
        raise _Bad("ALGN_END_DT", e.reason, f"{e.message} (end or death date)") from None
    return (Enrollment("", 0, member, member, MEDICARE_PAYER, MEDICARE_PAYER_TYPE, MEDICARE_PLAN,
                       start, end, birth, sex, "self", qmb), tin, npi)


def demographics_of(enrollment: Enrollment) -> Demographics:
    """A CCLF8 record's demographics."""
    return Demographics(enrollment.birth_date, enrollment.sex, enrollment.qmb)


def describe(assigned: list[Assigned]) -> str:
    """The summary's line on the list: beneficiaries, the TINs and NPIs they are assigned to."""
    members = {a.member_id for a in assigned}
    tins = {a.tin for a in assigned if a.tin}
    npis = {a.npi for a in assigned if a.npi}
    return (f"{len(members):,} beneficiaries assigned to {len(tins):,} TINs / {len(npis):,} NPIs"
            " (coverage only: attribution is computed from the claims)")
