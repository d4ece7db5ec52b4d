"""Reading the Tuva Project's claims Input Layer: `medical_claim` (one row per claim line) and
`eligibility` (one row per enrollment span), CSV or Parquet, with the Tuva data dictionary's
column names. Each row becomes a `ClaimLine`/`Enrollment`, or a `Rejection` naming the row.

Columns read (Tuva names; the others are ignored): medical_claim -- claim_id, claim_line_number,
claim_type, person_id, member_id, payer, plan, claim_start_date, claim_end_date,
claim_line_start_date, place_of_service_code, hcpcs_code, hcpcs_modifier_1..5,
service_unit_quantity, rendering_npi, billing_npi, billing_tin, paid_date, charge_amount,
allowed_amount, paid_amount, deductible_amount, coinsurance_amount, copayment_amount,
diagnosis_code_1..25; plus two columns outside the dictionary when present: `received_date`
and `rendering_specialty` (a CMS specialty or NUCC taxonomy code). eligibility -- person_id,
member_id, subscriber_id, gender, birth_date, enrollment_start_date, enrollment_end_date, payer,
payer_type, plan, dual_status_code, subscriber_relation.

Choices where DOMAIN.md is silent:
- The member is `member_id` (the payer's id), else `person_id`; the subscriber (the family key)
  is the eligibility's `subscriber_id`, else the member.
- Only professional lines are claims here: a `claim_type` other than professional (or empty)
  is a rejection `not_professional`.
- An empty `service_unit_quantity` is 1 unit; billed is `charge_amount`, else `allowed_amount`.
- Places of service 02 (telehealth, other than home) and 19 (off-campus outpatient hospital)
  are read as 10 and 22, the engine's nearest; other codes the engine does not know are rejected.
- Diagnoses are kept in ICD-10-CM's dotted form (E119 -> E11.9), as the engine's code sets hold them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, NamedTuple

from claimsim.events.codes import PLACES_OF_SERVICE
from claimsim.events.errors import UserError
from claimsim.events.interchange import ingest_model as m
from claimsim.events.interchange.ingest_model import (BadValue, ClaimLine, Enrollment, Rejection,
                                                      RowReason)
from claimsim.events.interchange import tuva_batch
from claimsim.events.interchange.tabular import arrow_batches, batches, columns_of

CLAIM_TABLE = "Tuva medical_claim table"
ELIGIBILITY_TABLE = "Tuva eligibility table"
DIAGNOSIS_COLUMNS = tuple(f"diagnosis_code_{i}" for i in range(1, 26))
MODIFIER_COLUMNS = tuple(f"hcpcs_modifier_{i}" for i in range(1, 6))
CLAIM_COLUMNS = [
    "claim_id", "claim_line_number", "claim_type", "person_id", "member_id", "payer", "plan",
    "claim_start_date", "claim_end_date", "claim_line_start_date", "place_of_service_code",
    "hcpcs_code", *MODIFIER_COLUMNS, "service_unit_quantity", "rendering_npi", "billing_npi",
    "billing_tin", "paid_date", "received_date", "charge_amount", "allowed_amount", "paid_amount",
    "deductible_amount", "coinsurance_amount", "copayment_amount", *DIAGNOSIS_COLUMNS,
    "rendering_specialty",
]
CLAIM_REQUIRED = ("claim_id", "claim_line_number", "payer", "plan", "claim_end_date",
                  "hcpcs_code", "billing_tin", "place_of_service_code")
ELIGIBILITY_COLUMNS = [
    "person_id", "member_id", "subscriber_id", "gender", "birth_date", "enrollment_start_date",
    "enrollment_end_date", "payer", "payer_type", "plan", "dual_status_code", "subscriber_relation",
]
ELIGIBILITY_REQUIRED = ("gender", "birth_date", "enrollment_start_date", "enrollment_end_date",
                        "payer", "plan")
POS_ALIASES = m.POS_ALIASES
# `ClaimLine` field -> the column it came from (rejections made after reading name the column).
COLUMN_OF = {"claim_id": "claim_id", "line_no": "claim_line_number", "member_id": "member_id",
             "payer": "payer", "plan": "plan", "billing_tin": "billing_tin",
             "service_date": "claim_line_start_date", "procedure": "hcpcs_code",
             "adjustment": "claim_id", "chain": "claim_id", "billed": "charge_amount",
             "allowed": "allowed_amount", "paid": "paid_amount", "claim_end": "claim_end_date",
             "received": "received_date", "paid_date": "paid_date",
             # `Enrollment` fields (their rejections are made after reading too)
             "subscriber_id": "subscriber_id", "sex": "gender", "birth_date": "birth_date",
             "start": "enrollment_start_date"}
# Medicare-Medicaid dual status codes for Qualified Medicare Beneficiaries (QMB only, QMB plus).
QMB_DUAL_CODES = frozenset({"01", "02"})
RELATIONSHIPS = {"self": "self", "subscriber": "self", "spouse": "spouse", "child": "child",
                 "dependent": "child"}


def _check_columns(path: Path, what: str, required: tuple[str, ...],
                   any_of: list[tuple[str, ...]]) -> set[str]:
    names = set(columns_of(path, what))
    missing = [c for c in required if c not in names]
    missing += ["|".join(group) for group in any_of if not names.intersection(group)]
    if missing:
        raise UserError(f"{path}: not a {what} (missing columns: {', '.join(missing)})")
    return names


def icd10(code: str) -> str:
    code = code.strip().upper()
    return code if "." in code or len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def _rows(path: Path, what: str, wanted: list[str]
          ) -> Iterator[tuple[int, dict[str, Any]] | Rejection]:
    """(row number, {column: cell}) per row, or the `Rejection` of a row that is not one."""
    for item in batches(path, what, wanted):
        if isinstance(item, Rejection):
            yield item
            continue
        first, cols = item
        names = list(cols)
        for i, values in enumerate(zip(*cols.values())):
            yield first + i, dict(zip(names, values))


def read_medical_claims(path: Path | str) -> Iterator[ClaimLine | Rejection]:
    path = Path(path)
    names = _check_columns(path, CLAIM_TABLE, CLAIM_REQUIRED,
                           [("member_id", "person_id"), ("claim_line_start_date", "claim_start_date"),
                            ("rendering_npi", "billing_npi")])
    name = path.name
    present = _Present(tuple(c for c in DIAGNOSIS_COLUMNS if c in names),
                       tuple(c for c in MODIFIER_COLUMNS if c in names), "claim_type" in names)

    def by_row(row: int, cells: dict[str, Any]) -> ClaimLine | Rejection:
        try:
            return _claim_line(name, row, cells, present)
        except _Bad as bad:
            return Rejection(name, row, bad.column, bad.reason, bad.message)

    for item in arrow_batches(path, CLAIM_TABLE, CLAIM_COLUMNS):
        if isinstance(item, Rejection):
            yield item
        else:
            yield from tuva_batch.claim_lines(name, *item, present, by_row, icd10)


class _Present(NamedTuple):
    """Which of the optional repeated columns a medical_claim table has."""

    diagnoses: tuple[str, ...]
    modifiers: tuple[str, ...]
    claim_type: bool


class _Bad(Exception):
    def __init__(self, column: str, reason: RowReason, message: str):
        super().__init__(message)
        self.column, self.reason, self.message = column, reason, message


def _get(cells: dict[str, str | None], *names: str, required: bool = True) -> str:
    for n in names:
        value = cells.get(n)
        if value:
            return value
    if required:
        raise _Bad(names[0], RowReason.MISSING_VALUE, f"{' or '.join(names)} is empty")
    return ""


_DAYS: dict[str, str] = {}  # date text seen -> its ISO form (a file has few distinct dates)


def _day(cells: dict[str, str | None], *names: str, required: bool = True) -> str | None:
    """The ISO date of the first non-empty column among `names`, naming it on failure."""
    for n in names:
        raw = cells.get(n)
        if raw:
            iso = _DAYS.get(raw)
            if iso is None:
                try:
                    iso = m.day(raw)
                except BadValue as e:
                    raise _Bad(n, e.reason, f"{n}: {e.message}") from None
                if len(_DAYS) < 100_000:
                    _DAYS[raw] = iso
            return iso
    if required:
        raise _Bad(names[0], RowReason.MISSING_VALUE, f"{' or '.join(names)} is empty")
    return None


def _parse(cells: dict[str, str | None], column: str, parse, required: bool = False):
    value = cells.get(column)
    if not value:
        if required:
            raise _Bad(column, RowReason.MISSING_VALUE, f"{column} is empty")
        return None
    try:
        return parse(value)
    except BadValue as e:
        raise _Bad(column, e.reason, f"{column}: {e.message}") from None


def _claim_line(name: str, row: int, c: dict[str, str | None], present: _Present) -> ClaimLine:
    """One medical_claim row as a claim line; the checks run in column order, so the
    rejection names the first bad column. Rows pass here only when `tuva_batch`'s column-wise
    checks refuse them (it reads good rows a batch at a time, to the same lines)."""
    if present.claim_type:
        claim_type = (c.get("claim_type") or "").lower()
        if claim_type != "professional":
            raise _Bad("claim_type", RowReason.NOT_PROFESSIONAL,
                       f"claim_type {claim_type or '(empty)'!r}: only professional claims are adjudicated")
    claim_id = _get(c, "claim_id")
    line_no = _parse(c, "claim_line_number", m.line_number, required=True)
    member_id = _get(c, "member_id", "person_id")
    payer, plan = _get(c, "payer"), _get(c, "plan")
    service = _day(c, "claim_line_start_date", "claim_start_date")
    claim_end = _day(c, "claim_end_date")
    if claim_end < service:
        raise _Bad("claim_end_date", RowReason.DATES_REVERSED,
                   f"claim_end_date {claim_end} is before the line's service date {service}")
    pos = _get(c, "place_of_service_code").zfill(2)
    pos = POS_ALIASES.get(pos, pos)
    if pos not in PLACES_OF_SERVICE:
        raise _Bad("place_of_service_code", RowReason.BAD_CODE,
                   f"place of service {pos!r} is not one the engine prices"
                   f" ({', '.join(sorted(PLACES_OF_SERVICE))})")
    code = _get(c, "hcpcs_code").upper()
    if len(code) != 5 or not code.isalnum():
        raise _Bad("hcpcs_code", RowReason.BAD_CODE, f"hcpcs_code {code!r} is not a 5-character HCPCS/CPT code")
    mods = tuple(v.upper() for col in present.modifiers if (v := c.get(col)))
    units = _parse(c, "service_unit_quantity", m.units) or 1
    npi = _get(c, "rendering_npi", "billing_npi")
    tin = _get(c, "billing_tin")
    received = _day(c, "received_date", required=False)
    paid_date = _day(c, "paid_date", required=False)
    allowed = _parse(c, "allowed_amount", m.cents)
    billed = _parse(c, "charge_amount", m.cents)
    if billed is None:
        billed = allowed if allowed is not None else 0
    amounts = [_parse(c, col, m.cents) for col in
               ("paid_amount", "deductible_amount", "coinsurance_amount", "copayment_amount")]
    dx = tuple(icd10(v) for col in present.diagnoses if (v := c.get(col)))
    return ClaimLine(name, row, claim_id, line_no, member_id, payer, plan, tin, npi, pos, service,
                     claim_end, code, mods, units, billed, allowed, *amounts, dx, received,
                     paid_date, m.role_of_specialty(c.get("rendering_specialty") or ""))


def read_eligibility(path: Path | str) -> Iterator[Enrollment | Rejection]:
    path = Path(path)
    _check_columns(path, ELIGIBILITY_TABLE, ELIGIBILITY_REQUIRED, [("member_id", "person_id")])
    name = path.name
    for item in _rows(path, ELIGIBILITY_TABLE, ELIGIBILITY_COLUMNS):
        if isinstance(item, Rejection):
            yield item
            continue
        row, cells = item
        try:
            yield _enrollment(name, row, cells)
        except _Bad as bad:
            yield Rejection(name, row, bad.column, bad.reason, bad.message)


def _enrollment(name: str, row: int, c: dict[str, Any]) -> Enrollment:
    member_id = _get(c, "member_id", "person_id")
    subscriber = m.text(c.get("subscriber_id")) or member_id
    try:
        sex = m.sex_code(c.get("gender"))
    except BadValue as e:
        raise _Bad("gender", e.reason, f"gender: {e.message}") from None
    birth = _day(c, "birth_date")
    start = _day(c, "enrollment_start_date")
    end = _day(c, "enrollment_end_date", required=False)
    if end is not None and end < start:
        raise _Bad("enrollment_end_date", RowReason.DATES_REVERSED,
                   f"enrollment_end_date {end} is before enrollment_start_date {start}")
    payer, plan = _get(c, "payer"), _get(c, "plan")
    payer_type = m.text(c.get("payer_type")).lower() or None
    relation = RELATIONSHIPS.get(m.text(c.get("subscriber_relation")).lower(),
                                 "self" if subscriber == member_id else "child")
    qmb = m.text(c.get("dual_status_code")).zfill(2) in QMB_DUAL_CODES
    return Enrollment(name, row, member_id, subscriber, payer, payer_type, plan, start, end, birth,
                      sex, relation, qmb)
