"""What the claim-file readers hand on: one `ClaimLine` or `Enrollment` per good row, one
`Rejection` per bad row (naming file, row, column and reason), plus the field parsers they share.

Readers (`tuva_ingest`, `cclf`) only translate rows; grouping lines into claims, ordering by
received date and writing the input log happen downstream (`claimsim.scenarios.ingest`).

Choices where DOMAIN.md is silent:
- Amounts are decimal dollars; more than two decimals round half away from zero to the cent
  through `money.div_round_half_up` (the project's one rounding rule); floats from Parquet are
  read by their shortest decimal text, never by binary arithmetic.
- Units must be a whole number >= 1 ("1.000" is 1; "1.5" is a rejection).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, NamedTuple

from claimsim.events.money import Cents, div_round_half_up
from claimsim.events.providers import ClinicianRole


class RowReason(StrEnum):
    """Why an ingest row was rejected (the `reason` column of rejections.csv)."""

    MISSING_VALUE = "missing_value"  # a required column is empty
    BAD_DATE = "bad_date"
    BAD_AMOUNT = "bad_amount"
    NEGATIVE_AMOUNT = "negative_amount"
    BAD_UNITS = "bad_units"
    BAD_CODE = "bad_code"  # a value outside the column's code set (sex, adjustment type, POS)
    DATES_REVERSED = "dates_reversed"  # an end before its start
    NOT_PROFESSIONAL = "not_professional"  # institutional/dental/vision lines: not a 837P line
    UNKNOWN_MEMBER = "unknown_member"  # a claim for a member with no eligibility row
    DUPLICATE_LINE = "duplicate_line"  # the same claim id and line number again
    CLAIM_CONFLICT = "claim_conflict"  # a claim-level value that differs from the claim's first line
    UNPRICED_CODE = "unpriced_code"  # re-pricing: the code is not on the fee schedule that year
    UNSUPPORTED_YEAR = "unsupported_year"  # re-pricing: no fee schedule or plan figures that year
    ORPHAN_ADJUSTMENT = "orphan_adjustment"  # a cancel/adjustment whose original is not in the file
    SHORT_RECORD = "short_record"  # a fixed-width record shorter than the layout
    INCONSISTENT_AMOUNTS = "inconsistent_amounts"  # price-from-file: amounts that do not add up
    BAD_ROW = "bad_row"  # a CSV row with the wrong number of fields
    MEMBER_CONFLICT = "member_conflict"  # subscriber, sex or birth date unlike the first row's
    OVERLAPPING_SPAN = "overlapping_span"  # an enrollment overlapping one with another plan


class Rejection(NamedTuple):
    file: str
    row: int  # 1-based data row (CSV: the header is row 0; fixed width: the record number)
    column: str
    reason: RowReason
    message: str


class ClaimLine(NamedTuple):
    """One professional claim line, as the file gave it (money in cents, dates ISO)."""

    file: str
    row: int
    claim_id: str
    line_no: int
    member_id: str
    payer: str
    plan: str
    billing_tin: str
    rendering_npi: str
    place_of_service: str
    service_date: str
    claim_end: str
    procedure: str
    modifiers: tuple[str, ...]
    units: int
    billed: Cents
    allowed: Cents | None
    paid: Cents | None
    deductible: Cents | None
    coinsurance: Cents | None
    copay: Cents | None
    diagnoses: tuple[str, ...]
    received: str | None  # the file's received date, when it has one
    paid_date: str | None
    role: ClinicianRole | None  # from a specialty/taxonomy column, when the file has one
    chain: str | None = None  # adjustment chain key (CCLF: the claim control number)
    adjustment: str = "0"  # 0 original, 1 cancel, 2 adjustment (CCLF's CLM_ADJSMT_TYPE_CD)


def file_amounts(line: ClaimLine) -> dict[str, Cents]:
    """A line's own pricing as adjudication takes it under price-from-file: allowed, plan paid
    and the cost-share split, in cents. A file that gives no split (CCLF, or a Tuva table with
    the three cost-share columns empty) puts the whole `allowed - paid` in coinsurance. Assumes
    `file_amount_problem(line)` found nothing."""
    allowed, paid = line.allowed or 0, line.paid or 0
    parts = (line.deductible, line.coinsurance, line.copay)
    if all(v is None for v in parts):
        parts = (0, allowed - paid, 0)
    ded, coins, copay = (v or 0 for v in parts)
    return {"allowed": allowed, "plan_paid": paid, "deductible": ded, "coinsurance": coins,
            "copay": copay}


def money(cents: Cents) -> str:
    """Cents as decimal dollars text (integer arithmetic: 12345 -> '123.45')."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def file_amount_problem(line: ClaimLine) -> tuple[str, RowReason, str] | None:
    """Why a line's own amounts cannot price it ((`ClaimLine` field, reason, message)), or None.
    Needed: allowed and paid; billed (the charge) not below allowed; and plan paid plus the
    cost-share parts the file gives adding up to allowed (no split given: paid <= allowed)."""
    if line.allowed is None:
        return "allowed", RowReason.MISSING_VALUE, "no allowed amount: pricing from the file needs it"
    if line.paid is None:
        return "paid", RowReason.MISSING_VALUE, "no paid amount: pricing from the file needs it"
    if line.billed < line.allowed:
        return ("billed", RowReason.INCONSISTENT_AMOUNTS,
                f"charge {money(line.billed)} is less than allowed {money(line.allowed)}")
    parts = (line.deductible, line.coinsurance, line.copay)
    if all(v is None for v in parts):
        if line.paid > line.allowed:
            return ("paid", RowReason.INCONSISTENT_AMOUNTS,
                    f"paid {money(line.paid)} is more than allowed {money(line.allowed)}")
        return None
    total = line.paid + sum(v or 0 for v in parts)
    if total != line.allowed:
        return ("paid", RowReason.INCONSISTENT_AMOUNTS,
                f"paid {money(line.paid)} + deductible {money(line.deductible or 0)} + coinsurance"
                f" {money(line.coinsurance or 0)} + copay {money(line.copay or 0)} = {money(total)},"
                f" not allowed {money(line.allowed)}")
    return None


# The service dates a claim line may carry. A run's calendar runs from the first service month to
# a month past the last one and on to the last received date (`scenarios.ingest`): a year 9999
# cell would take it past the last date there is, a year 1000 one make it a thousand years long.
FIRST_SERVICE_DATE, LAST_SERVICE_DATE = "1900-01-01", "2199-12-31"
# How long after its service date a line may say it was received or paid: past any plan's filing
# limit (DOMAIN.md: 365 days by default; the engine denies later ones CO-29), so no real file is
# refused, and near enough that one bad cell cannot stretch the run's calendar by centuries.
MAX_RECEIVED_LAG_DAYS = 3_650


def date_problem(line: ClaimLine) -> tuple[str, RowReason, str] | None:
    """Why a line's dates cannot place it in a run's calendar ((`ClaimLine` field, reason,
    message)), or None. Dates are ISO text, so they compare as text."""
    service = line.service_date
    if not FIRST_SERVICE_DATE <= service <= LAST_SERVICE_DATE:
        return ("service_date", RowReason.BAD_DATE, f"service date {service} is outside"
                f" {FIRST_SERVICE_DATE}..{LAST_SERVICE_DATE}")
    if line.claim_end > LAST_SERVICE_DATE:
        return ("claim_end", RowReason.BAD_DATE,
                f"claim end {line.claim_end} is after {LAST_SERVICE_DATE}")
    for field, day in (("received", line.received), ("paid_date", line.paid_date)):
        # Only a date ten years on by its year can be: the exact test runs for those alone.
        if day is not None and int(day[:4]) - int(service[:4]) >= MAX_RECEIVED_LAG_DAYS // 366:
            lag = (dt.date.fromisoformat(day) - dt.date.fromisoformat(service)).days
            if lag > MAX_RECEIVED_LAG_DAYS:
                return (field, RowReason.BAD_DATE, f"{field.replace('_', ' ')} {day} is {lag:,}"
                        f" days after the service date {service} (at most"
                        f" {MAX_RECEIVED_LAG_DAYS:,})")
    return None


class Enrollment(NamedTuple):
    """One eligibility span of one member with one payer and plan."""

    file: str
    row: int
    member_id: str
    subscriber_id: str
    payer: str
    payer_type: str | None
    plan: str
    start: str
    end: str | None  # inclusive; None = open
    birth_date: str
    sex: str  # F, M or U
    relationship: str  # self | spouse | child
    qmb: bool


class BadValue(Exception):
    """A field that does not parse: the reason and a one-line message (the reader adds where)."""

    def __init__(self, reason: RowReason, message: str):
        super().__init__(message)
        self.reason, self.message = reason, message


def text(value: Any) -> str:
    """A cell as stripped text ('' for null)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if value != value else repr(value)  # NaN is a null cell
    return str(value).strip()


def day(value: Any, *, compact: bool = False) -> str:
    """An ISO date from a date cell, YYYY-MM-DD text, or (compact) YYYYMMDD text."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    raw = text(value)
    if compact and len(raw) == 8 and digits(raw):
        raw = f"{raw[:4]}-{raw[4:6]}-{raw[6:]}"
    if len(raw) > 10 and raw[10:11] in (" ", "T"):
        try:  # a timestamp's date part, when the rest is a time ("2024-03-05 junk" is not)
            dt.datetime.fromisoformat(raw)
        except ValueError:
            raise BadValue(RowReason.BAD_DATE, f"not a YYYY-MM-DD date or timestamp: {raw!r}"
                           ) from None
        raw = raw[:10]
    if len(raw) != 10 or raw[4] != "-" or raw[7] != "-":
        raise BadValue(RowReason.BAD_DATE, f"not a YYYY-MM-DD date: {raw!r}")
    try:
        return dt.date.fromisoformat(raw).isoformat()
    except ValueError:
        raise BadValue(RowReason.BAD_DATE, f"not a valid date: {raw!r}") from None


# The largest whole numbers a file may carry: beyond them a value cannot be a claim line's (and
# would not fit the staging table's 64-bit integers); within them, the engine's own limits
# (units, billed) still reject what is implausible, with its reason codes.
MAX_FILE_CENTS = 10**13  # $100,000,000,000.00
MAX_FILE_COUNT = 10**9  # line numbers and units


def digits(raw: str) -> bool:
    """ASCII digits only: `str.isdigit` also passes '²' and other digits `int` refuses."""
    return raw.isascii() and raw.isdigit()


def cents(value: Any, *, allow_negative: bool = False) -> Cents:
    """Decimal dollars (text, int, float or Decimal) as integer cents."""
    if type(value) is str:  # the common "123.45" first
        whole, dot, frac = value.partition(".")
        if digits(whole) and len(frac) == 2 and digits(frac) and len(whole) < 12:
            return int(whole) * 100 + int(frac)
    raw = text(value).replace(",", "").replace("$", "")
    sign = 1
    if raw[:1] in "+-" and raw:
        sign, raw = (-1 if raw[0] == "-" else 1), raw[1:]
    whole, _, frac = raw.partition(".")
    if not raw or not (whole or frac) or not digits(whole + frac):
        raise BadValue(RowReason.BAD_AMOUNT, f"not an amount: {text(value)!r}")
    scaled = int(whole or "0") * 10 ** len(frac) + int(frac or "0")
    amount = sign * (scaled * 100 if not frac else div_round_half_up(scaled * 100, 10 ** len(frac)))
    if amount < 0 and not allow_negative:
        raise BadValue(RowReason.NEGATIVE_AMOUNT, f"negative amount: {text(value)!r}")
    if abs(amount) > MAX_FILE_CENTS:
        raise BadValue(RowReason.BAD_AMOUNT, f"amount out of range: {text(value)!r}")
    return amount


def line_number(value: Any) -> int:
    raw = text(value)
    if not digits(raw) or not 1 <= int(raw) <= MAX_FILE_COUNT:
        raise BadValue(RowReason.BAD_CODE, f"not a line number from 1 to {MAX_FILE_COUNT:,}: {raw!r}")
    return int(raw)


def units(value: Any) -> int:
    raw = text(value)
    whole, _, frac = raw.partition(".")
    if not digits(whole) or (frac and not digits(frac)) or (frac and int(frac)):
        raise BadValue(RowReason.BAD_UNITS, f"units must be a whole number from 1 to {MAX_FILE_COUNT:,}, got {raw!r}")
    n = int(whole)
    if not 1 <= n <= MAX_FILE_COUNT:
        raise BadValue(RowReason.BAD_UNITS, f"units must be a whole number from 1 to {MAX_FILE_COUNT:,}, got {raw!r}")
    return n


# Places of service read as the engine's nearest: 02 (telehealth, other than home) as 10 and
# 19 (off-campus outpatient hospital) as 22.
POS_ALIASES = {"02": "10", "19": "22"}

# CMS provider specialty codes (CCLF's CLM_PRVDR_SPCLTY_CD, Medicare's "specialty code") that are
# primary care for attribution: general practice, family practice, internal medicine, pediatric
# medicine, geriatric medicine, preventive medicine, nurse practitioner, physician assistant,
# clinical nurse specialist (as CMS's primary-care specialty lists for CPC+/PCF/MSSP use them).
PRIMARY_CARE_SPECIALTIES = frozenset({"01", "08", "11", "37", "38", "84", "50", "97", "89"})
EMERGENCY_SPECIALTIES = frozenset({"93"})
# NUCC taxonomy prefixes: family medicine 207Q, internal medicine 207R (its subspecialties are
# specialists: only the general 207R00000X counts), pediatrics 208000000X, geriatrics via 207QG,
# general practice 208D, NP 363L, PA 363A; emergency medicine 207P.
_PC_TAXONOMY_EXACT = frozenset({"207R00000X", "208000000X", "208D00000X", "207RG0300X"})
_PC_TAXONOMY_PREFIX = ("207Q", "363L", "363A")


def role_of_specialty(code: str) -> ClinicianRole | None:
    """A clinician role from a CMS specialty code or an NUCC taxonomy code (None when empty)."""
    code = code.strip().upper()
    if not code:
        return None
    if len(code) == 10:  # an NUCC taxonomy code
        if code in _PC_TAXONOMY_EXACT or code.startswith(_PC_TAXONOMY_PREFIX):
            return ClinicianRole.PRIMARY_CARE
        return ClinicianRole.EMERGENCY if code.startswith("207P") else ClinicianRole.SPECIALIST
    code = code.zfill(2)
    if code in PRIMARY_CARE_SPECIALTIES:
        return ClinicianRole.PRIMARY_CARE
    if code in EMERGENCY_SPECIALTIES:
        return ClinicianRole.EMERGENCY
    return ClinicianRole.SPECIALIST


def sex_code(value: Any) -> str:
    """F, M or U from Tuva's gender ('female', 'male', 'unknown') or CMS's 1/2/0."""
    raw = text(value).lower()
    mapped = {"female": "F", "f": "F", "2": "F", "male": "M", "m": "M", "1": "M",
              "unknown": "U", "u": "U", "0": "U", "": "U"}.get(raw)
    if mapped is None:
        raise BadValue(RowReason.BAD_CODE, f"not a sex/gender code: {text(value)!r}")
    return mapped
