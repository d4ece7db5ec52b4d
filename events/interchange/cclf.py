"""Reading CMS Claim and Claim Line Feed files: CCLF5 (Part B physician claim lines) and CCLF8
(beneficiary demographics), fixed width, in the layout of the CCLF Information Packet. Each
record becomes a `ClaimLine`/`Enrollment`, or a `Rejection` naming the record and field.

The adjustment chain is kept: every version of a claim carries its carrier claim control number
(CLM_CNTL_NUM, the chain key) and CLM_ADJSMT_TYPE_CD (0 original, 1 cancellation,
2 adjustment); the writer turns a cancellation into a void (frequency 8) and an adjustment into a
replacement (frequency 7) of the chain's previous version (`ClaimLine.chain`, `.adjustment`).

Choices where DOMAIN.md is silent:
- CCLF carries no received date: a claim is received on its CLM_EFCTV_DT (the date Medicare
  processed it, given as `paid_date`), else on CLM_THRU_DT.
- CCLF carries no charge: billed = allowed (CLM_LINE_ALOWD_CHRG_AMT). Nor does CCLF5 split the
  cost share: priced from the file, a line's `allowed - paid` is coinsurance (PR-2).
- Only CLM_TYPE_CD 71 (local carrier, non-DMEPOS) lines are physician claims here; 72 (DMEPOS)
  is a rejection `not_professional`.
- The billing practice is the line's CLM_RNDRG_PRVDR_TAX_NUM (CCLF5 has no billing TIN), and the
  clinician role comes from CLM_PRVDR_SPCLTY_CD (CMS specialty codes).
- Enrollment: one Medicare FFS span per CCLF8 record, from the later of BENE_RNG_BGN_DT and the
  Part B start to the earlier of BENE_RNG_END_DT and the death date (9999-12-31: open); dual
  status 01/02 (QMB) owes no cost share.
- Records may have lost their trailing blanks; a record too short to hold the fields read is a
  rejection `short_record`. A file whose first record does not look like the layout at all is
  "not a CCLF5/CCLF8 file", in one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, NamedTuple

from claimsim.events.codes import PLACES_OF_SERVICE
from claimsim.events.errors import UserError
from claimsim.events.interchange import ingest_model as m
from claimsim.events.interchange.ingest_model import (BadValue, ClaimLine, Enrollment, Rejection,
                                                      RowReason)
from claimsim.events.interchange.tabular import readable

MEDICARE_PAYER = "medicare"
MEDICARE_PLAN = "part-b"
MEDICARE_PAYER_TYPE = "medicare"
OPEN_END = "9999-12-31"


class Field(NamedTuple):
    name: str
    start: int  # 1-based, as the Information Packet numbers positions
    length: int

    def of(self, record: str) -> str:
        return record[self.start - 1:self.start - 1 + self.length].strip()


def _fields(*spec: tuple[str, int, int]) -> dict[str, Field]:
    return {name: Field(name, start, length) for name, start, length in spec}


# CCLF5, Part B physician (record length 363); only the fields read here.
CCLF5 = _fields(
    ("CUR_CLM_UNIQ_ID", 1, 13), ("CLM_LINE_NUM", 14, 10), ("BENE_MBI_ID", 24, 11),
    ("CLM_TYPE_CD", 46, 2), ("CLM_FROM_DT", 48, 10), ("CLM_THRU_DT", 58, 10),
    ("CLM_PRVDR_SPCLTY_CD", 73, 2), ("CLM_POS_CD", 76, 2), ("CLM_LINE_FROM_DT", 78, 10),
    ("CLM_LINE_HCPCS_CD", 98, 5), ("CLM_LINE_CVRD_PD_AMT", 103, 15), ("CLM_LINE_DGNS_CD", 119, 7),
    ("CLM_RNDRG_PRVDR_TAX_NUM", 126, 10), ("RNDRG_PRVDR_NPI_NUM", 136, 10),
    ("CLM_ADJSMT_TYPE_CD", 150, 2), ("CLM_EFCTV_DT", 152, 10), ("CLM_CNTL_NUM", 172, 40),
    ("CLM_LINE_ALOWD_CHRG_AMT", 223, 17), ("CLM_LINE_SRVC_UNIT_QTY", 240, 24),
    *((f"HCPCS_{i}_MDFR_CD", 264 + 2 * (i - 1), 2) for i in range(1, 6)),
    *((f"CLM_DGNS_{i}_CD", 276 + 7 * (i - 1), 7) for i in range(1, 9)),
    *((f"CLM_DGNS_{i}_CD", 333 + 7 * (i - 9), 7) for i in range(9, 13)),
)
CCLF5_LENGTH = 363
CCLF5_MIN_LENGTH = 263  # through CLM_LINE_SRVC_UNIT_QTY; later fields may be trimmed blanks

# CCLF8, beneficiary demographics (record length 549); only the fields read here.
CCLF8 = _fields(
    ("BENE_MBI_ID", 1, 11), ("BENE_DOB", 33, 10), ("BENE_SEX_CD", 43, 1),
    ("BENE_DUAL_STUS_CD", 50, 2), ("BENE_DEATH_DT", 52, 10), ("BENE_RNG_BGN_DT", 62, 10),
    ("BENE_RNG_END_DT", 72, 10), ("BENE_PART_B_ENRLMT_BGN_DT", 179, 10),
)
CCLF8_LENGTH = 549
CCLF8_MIN_LENGTH = 81  # through BENE_RNG_END_DT

QMB_DUAL_CODES = frozenset({"01", "02"})
# `ClaimLine` field -> the CCLF5 field it came from (rejections made after reading name it).
COLUMN_OF = {"claim_id": "CUR_CLM_UNIQ_ID", "line_no": "CLM_LINE_NUM", "member_id": "BENE_MBI_ID",
             "payer": "BENE_MBI_ID", "plan": "BENE_MBI_ID", "billing_tin": "CLM_RNDRG_PRVDR_TAX_NUM",
             "service_date": "CLM_LINE_FROM_DT", "procedure": "CLM_LINE_HCPCS_CD",
             "adjustment": "CLM_ADJSMT_TYPE_CD", "chain": "CLM_CNTL_NUM",
             "billed": "CLM_LINE_ALOWD_CHRG_AMT", "allowed": "CLM_LINE_ALOWD_CHRG_AMT",
             "paid": "CLM_LINE_CVRD_PD_AMT", "claim_end": "CLM_THRU_DT",
             "paid_date": "CLM_EFCTV_DT",
             # CCLF8's, for `Enrollment` fields
             "subscriber_id": "BENE_MBI_ID", "sex": "BENE_SEX_CD", "birth_date": "BENE_DOB",
             "start": "BENE_RNG_BGN_DT"}
POS_ALIASES = {"02": "10", "19": "22"}
ADJUSTMENT_TYPES = frozenset({"0", "1", "2"})


class _Bad(Exception):
    def __init__(self, column: str, reason: RowReason, message: str):
        super().__init__(message)
        self.column, self.reason, self.message = column, reason, message


def _records(path: Path) -> Iterator[tuple[int, str]]:
    with open(path, "rb") as f:
        for row, raw in enumerate(f, start=1):
            record = raw.rstrip(b"\r\n").decode("latin-1")
            if record.strip():
                yield row, record


def _value(record: str, field: Field, parse=None, required: bool = True):
    raw = field.of(record)
    if not raw:
        if required:
            raise _Bad(field.name, RowReason.MISSING_VALUE, f"{field.name} is blank")
        return None
    if parse is None:
        return raw
    try:
        return parse(raw)
    except BadValue as e:
        raise _Bad(field.name, e.reason, f"{field.name}: {e.message}") from None


def _looks_like(path: Path, record: str, layout: dict[str, Field], id_field: str, date_field: str,
                what: str) -> None:
    """One line saying the file is not the format, when its first record is plainly not."""
    date = layout[date_field].of(record)
    if len(record) < 60 or not layout[id_field].of(record) or len(date) != 10 or date[4] != "-":
        raise UserError(f"{path}: not a {what} file (its first record does not have the"
                        f" fixed-width layout: {id_field} at {layout[id_field].start},"
                        f" {date_field} at {layout[date_field].start})")


def _read_fixed(path: Path | str, layout, what: str, marks: tuple[str, str],
                short: tuple[int, int, str], parse) -> Iterator:
    """Each record of a fixed-width CCLF file parsed by `parse(name, row, record)`, or a
    Rejection naming its row and column. `marks`: the id and date fields that show the first
    record has the layout; `short`: (minimum length, full length, the column a short record
    lacks)."""
    path = Path(path)
    readable(path)
    minimum, length, column = short
    name, first = path.name, True
    for row, record in _records(path):
        if first:
            _looks_like(path, record, layout, marks[0], marks[1], what)
            first = False
        try:
            if len(record) < minimum:
                raise _Bad(column, RowReason.SHORT_RECORD,
                           f"record is {len(record)} characters; the layout needs {minimum}")
            yield parse(name, row, record.ljust(length))
        except _Bad as bad:
            yield Rejection(name, row, bad.column, bad.reason, bad.message)


def read_cclf5(path: Path | str) -> Iterator[ClaimLine | Rejection]:
    return _read_fixed(path, CCLF5, "CCLF5", ("CUR_CLM_UNIQ_ID", "CLM_FROM_DT"),
                       (CCLF5_MIN_LENGTH, CCLF5_LENGTH, "CLM_LINE_SRVC_UNIT_QTY"), _claim_line)


def _claim_line(name: str, row: int, r: str) -> ClaimLine:
    f = CCLF5
    claim_id = _value(r, f["CUR_CLM_UNIQ_ID"])
    line_no = _value(r, f["CLM_LINE_NUM"], m.line_number)
    member = _value(r, f["BENE_MBI_ID"])
    claim_type = _value(r, f["CLM_TYPE_CD"])
    if claim_type != "71":
        raise _Bad("CLM_TYPE_CD", RowReason.NOT_PROFESSIONAL,
                   f"CLM_TYPE_CD {claim_type!r}: only 71 (physician, non-DMEPOS) lines are adjudicated")
    adjustment = _value(r, f["CLM_ADJSMT_TYPE_CD"]).lstrip("0") or "0"
    if adjustment not in ADJUSTMENT_TYPES:
        raise _Bad("CLM_ADJSMT_TYPE_CD", RowReason.BAD_CODE,
                   f"CLM_ADJSMT_TYPE_CD {adjustment!r} is not 0, 1 or 2")
    cancel = adjustment == "1"
    service = _value(r, f["CLM_LINE_FROM_DT"], m.day)
    claim_end = _value(r, f["CLM_THRU_DT"], m.day)
    if claim_end < service:
        raise _Bad("CLM_THRU_DT", RowReason.DATES_REVERSED,
                   f"CLM_THRU_DT {claim_end} is before CLM_LINE_FROM_DT {service}")
    pos = _value(r, f["CLM_POS_CD"]).zfill(2)
    pos = POS_ALIASES.get(pos, pos)
    if pos not in PLACES_OF_SERVICE:
        raise _Bad("CLM_POS_CD", RowReason.BAD_CODE,
                   f"place of service {pos!r} is not one the engine prices"
                   f" ({', '.join(sorted(PLACES_OF_SERVICE))})")
    code = _value(r, f["CLM_LINE_HCPCS_CD"]).upper()
    if len(code) != 5 or not code.isalnum():
        raise _Bad("CLM_LINE_HCPCS_CD", RowReason.BAD_CODE, f"{code!r} is not a 5-character HCPCS/CPT code")
    paid = _value(r, f["CLM_LINE_CVRD_PD_AMT"], lambda v: m.cents(v, allow_negative=cancel))
    tin = _value(r, f["CLM_RNDRG_PRVDR_TAX_NUM"])
    npi = _value(r, f["RNDRG_PRVDR_NPI_NUM"])
    effective = _value(r, f["CLM_EFCTV_DT"], m.day, required=False)
    chain = _value(r, f["CLM_CNTL_NUM"], required=False) or claim_id
    allowed = _value(r, f["CLM_LINE_ALOWD_CHRG_AMT"], lambda v: m.cents(v, allow_negative=cancel))
    units = _value(r, f["CLM_LINE_SRVC_UNIT_QTY"], m.units, required=False) or 1
    mods = tuple(v.upper() for i in range(1, 6) if (v := f[f"HCPCS_{i}_MDFR_CD"].of(r)))
    dx = [f["CLM_LINE_DGNS_CD"].of(r)] + [f[f"CLM_DGNS_{i}_CD"].of(r) for i in range(1, 13)]
    diagnoses = tuple(dict.fromkeys(_icd10(d) for d in dx if d and d != "~"))
    role = m.role_of_specialty(f["CLM_PRVDR_SPCLTY_CD"].of(r))
    return ClaimLine(name, row, claim_id, line_no, member, MEDICARE_PAYER, MEDICARE_PLAN, tin, npi,
                     pos, service, claim_end, code, mods, units, allowed, allowed, paid, None,
                     None, None, diagnoses, None, effective, role, chain, adjustment)


def _icd10(code: str) -> str:
    code = code.strip().upper()
    return code if "." in code or len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def coverage_end(start: str, end: str | None, death: str | None) -> str | None:
    """A Medicare coverage span's last day (ISO dates): CCLF's open end (9999-12-31) is None, a
    death date before the end ends it there, and an end before the start is `dates_reversed`."""
    if end == OPEN_END:
        end = None
    if death is not None and (end is None or death < end):
        end = death
    if end is not None and end < start:
        raise BadValue(RowReason.DATES_REVERSED, f"coverage ends {end}, before it starts {start}")
    return end


def read_cclf8(path: Path | str) -> Iterator[Enrollment | Rejection]:
    return _read_fixed(path, CCLF8, "CCLF8", ("BENE_MBI_ID", "BENE_DOB"),
                       (CCLF8_MIN_LENGTH, CCLF8_LENGTH, "BENE_RNG_END_DT"), _enrollment)


def _enrollment(name: str, row: int, r: str) -> Enrollment:
    f = CCLF8
    member = _value(r, f["BENE_MBI_ID"])
    birth = _value(r, f["BENE_DOB"], m.day)
    try:
        sex = m.sex_code(f["BENE_SEX_CD"].of(r))
    except BadValue as e:
        raise _Bad("BENE_SEX_CD", e.reason, f"BENE_SEX_CD: {e.message}") from None
    start = _value(r, f["BENE_RNG_BGN_DT"], m.day)
    part_b = _value(r, f["BENE_PART_B_ENRLMT_BGN_DT"], m.day, required=False)
    if part_b is not None and part_b > start:
        start = part_b
    end = _value(r, f["BENE_RNG_END_DT"], m.day, required=False)
    death = _value(r, f["BENE_DEATH_DT"], m.day, required=False)
    try:
        end = coverage_end(start, end, death)
    except BadValue as e:
        raise _Bad("BENE_RNG_END_DT", e.reason, f"{e.message} (range, Part B start or death date)") from None
    qmb = f["BENE_DUAL_STUS_CD"].of(r).zfill(2) in QMB_DUAL_CODES
    return Enrollment(name, row, member, member, MEDICARE_PAYER, MEDICARE_PAYER_TYPE, MEDICARE_PLAN,
                      start, end, birth, sex, "self", qmb)
