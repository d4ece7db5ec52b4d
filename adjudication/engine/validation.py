"""Step 1 of DOMAIN.md §3: check a claim as submitted (untrusted JSON) and turn it into the flat
tuples the rest of the pipeline reads, or into a typed rejection naming the field.

Field paths are dotted with 0-based list positions, as pydantic reports them: `lines.2.units` is
the third line's units. Checks that need the family's state (unknown member, unknown original)
are the core's; here only the claim itself and the reference data are consulted.

Limits (`LIMITS`, documented in docs/user-guide.md): no real claim form carries more, and past
them a claim is garbage that would bloat the ledger or overflow arithmetic, so it is rejected
(`over_limit`, `too_many_lines`, `field_too_long`) naming the field.

Choices where DOMAIN.md is silent: the limits follow the 837P where it has one (50 service
lines, 4 modifiers of 2 characters, 12 diagnoses); units at most 9,999 and billed at most
$10,000,000.00 per line are far beyond any professional service; identifiers at most 64
characters (an 837 claim id has 38).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final, NamedTuple

from claimsim.events.codes import DATED_CODES, PLACES_OF_SERVICE, RejectReason, valid_on

from claimsim.adjudication.engine.context import Context

FREQUENCIES: Final = frozenset({"1", "7", "8"})
# The code tables the fast path reads per claim and line, as `Final` names of this module (see
# `family`'s constants).
_PLACES: Final = PLACES_OF_SERVICE
_DATED: Final = DATED_CODES


class Limits(NamedTuple):
    lines: int = 50  # service lines per claim
    units: int = 9_999  # per line
    billed: int = 1_000_000_000  # cents per line ($10,000,000.00)
    id_chars: int = 64  # claim, member and subscriber ids
    modifiers: int = 4  # per line
    modifier_chars: int = 2
    diagnoses: int = 12  # per line
    diagnosis_chars: int = 8  # an ICD-10-CM code with its dot


LIMITS: Final = Limits()


class Line:
    """A validated service line. `Line` and `Claim` are plain classes, not named tuples:
    compiled, they are built and read natively (a named tuple built with `tuple.__new__` cost
    some 890 instructions, once per line and per claim); equal when their fields are."""

    __slots__ = ("line_no", "day", "day_iso", "procedure", "modifiers", "units", "billed",
                 "diagnoses")

    def __init__(self, line_no: int, day: dt.date, day_iso: str, procedure: str, modifiers: str,
                 units: int, billed: int, diagnoses: tuple[str, ...]):
        self.line_no, self.day, self.day_iso, self.procedure = line_no, day, day_iso, procedure
        self.modifiers = modifiers  # joined with "," (the duplicate key's form)
        self.units, self.billed = units, billed
        self.diagnoses = diagnoses  # as submitted; the ledger line carries them (projections' risk)

    def fields(self) -> tuple[Any, ...]:
        return (self.line_no, self.day, self.day_iso, self.procedure, self.modifiers, self.units,
                self.billed, self.diagnoses)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Line) and self.fields() == other.fields()

    def __repr__(self) -> str:
        return f"Line{self.fields()!r}"


def shared_diagnoses(dx: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """A line's diagnoses as one shared tuple per distinct list: claims repeat a few
    combinations, and every family's stored results hold their lines."""
    if not dx:
        return ()
    key = tuple(dx)
    found = _DIAGNOSES.get(key)
    if found is None:
        found = key
        if len(_DIAGNOSES) < 100_000:
            _DIAGNOSES[key] = key
    return found


_DIAGNOSES: Final[dict[tuple[str, ...], tuple[str, ...]]] = {}


class Claim:
    """A validated claim (a plain class for the reason `Line` is)."""

    __slots__ = ("claim_id", "frequency", "original_claim_id", "member_id", "subscriber_id",
                 "payer_id", "billing_tin", "rendering_npi", "place_of_service", "received",
                 "received_iso", "lines")

    def __init__(self, claim_id: str, frequency: str, original_claim_id: str | None,
                 member_id: str, subscriber_id: str, payer_id: str, billing_tin: str,
                 rendering_npi: str, place_of_service: str, received: dt.date, received_iso: str,
                 lines: tuple[Line, ...]):
        self.claim_id, self.frequency = claim_id, frequency
        self.original_claim_id, self.member_id = original_claim_id, member_id
        self.subscriber_id, self.payer_id = subscriber_id, payer_id
        self.billing_tin, self.rendering_npi = billing_tin, rendering_npi
        self.place_of_service, self.received = place_of_service, received
        self.received_iso, self.lines = received_iso, lines

    def fields(self) -> tuple[Any, ...]:
        return (self.claim_id, self.frequency, self.original_claim_id, self.member_id,
                self.subscriber_id, self.payer_id, self.billing_tin, self.rendering_npi,
                self.place_of_service, self.received, self.received_iso, self.lines)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Claim) and self.fields() == other.fields()

    def __repr__(self) -> str:
        return f"Claim{self.fields()!r}"


class Invalid(Exception):
    """A claim that fails validation: `reason`, the dotted `field`, and a one-line message."""

    def __init__(self, reason: RejectReason, field: str, message: str):
        super().__init__(message)
        self.reason, self.field, self.message = reason, field, message


def _text(claim: dict[str, Any], name: str) -> str:
    value = claim.get(name)
    if type(value) is not str or not value:
        raise Invalid(RejectReason.MISSING_FIELD, name, f"{name} is missing or not a string")
    if len(value) > LIMITS.id_chars:
        raise Invalid(RejectReason.FIELD_TOO_LONG, name,
                      f"{name} is {len(value):,} characters, more than {LIMITS.id_chars}")
    return value


def _day(value: Any, field: str) -> tuple[dt.date, str]:
    # Only the plain YYYY-MM-DD form: fromisoformat also takes week dates and compact forms,
    # and the ISO string is compared as text downstream.
    if type(value) is not str or len(value) != 10 or value[4] != "-" or value[7] != "-":
        if value is None:
            raise Invalid(RejectReason.MISSING_FIELD, field, f"{field} is missing")
        raise Invalid(RejectReason.BAD_DATE, field, f"{field} is not a YYYY-MM-DD date: {value!r}")
    try:
        return dt.date.fromisoformat(value), value
    except ValueError:
        raise Invalid(RejectReason.BAD_DATE, field, f"{field} is not a valid date: {value!r}") from None


def _int(value: Any, field: str, reason: RejectReason) -> int:
    if type(value) is not int:
        raise Invalid(reason, field, f"{field} is not an integer: {value!r}")
    return value


_DAYS: Final[dict[str, dt.date]] = {}  # valid YYYY-MM-DD strings seen, parsed once


def fast_day(value: Any) -> dt.date | None:
    """A YYYY-MM-DD string as its date (each parsed once, `_DAYS`); None for anything else."""
    if type(value) is not str:
        return None
    day = _DAYS.get(value)
    if day is None and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            day = _DAYS[value] = dt.date.fromisoformat(value)
        except ValueError:
            return None
    return day


ID_CHARS: Final[int] = LIMITS.id_chars
MAX_UNITS: Final[int] = LIMITS.units
MAX_BILLED: Final[int] = LIMITS.billed
MAX_DIAGNOSES: Final[int] = LIMITS.diagnoses
DIAGNOSIS_CHARS: Final[int] = LIMITS.diagnosis_chars


def _modifiers_ok(mods: list) -> bool:
    if len(mods) > LIMITS.modifiers:
        return False
    return all(type(m) is str and len(m) <= LIMITS.modifier_chars for m in mods)


def _diagnoses_ok(dx: Any) -> bool:
    if type(dx) is not list or len(dx) > LIMITS.diagnoses:
        return False
    return all(type(d) is str and len(d) <= LIMITS.diagnosis_chars for d in dx)


def validate_claim(raw: Any, key: Any, ctx: Context) -> Claim:
    """The parsed claim, or `Invalid` naming the first problem found.

    The hot path checks everything a well-formed claim needs in one pass, and hands anything
    that fails any check to `_validate_slowly`, which walks the fields in order to name the
    first problem. The fast path only ever accepts what the slow one accepts (a Hypothesis
    property in tests/engine checks both give the same verdict).
    """
    # Long: every claim passes here, and splitting the fast path adds calls per claim and line.
    if type(raw) is not dict:
        return _validate_slowly(raw, key, ctx)
    # Required fields by subscript (cheaper than .get calls); a missing one is the slow path's.
    try:
        claim_id, member_id, subscriber_id = raw["claim_id"], raw["member_id"], raw["subscriber_id"]
        payer_id, tin, npi = raw["payer_id"], raw["billing_tin"], raw["rendering_npi"]
        pos, received_iso, raw_lines = raw["place_of_service"], raw["received"], raw["lines"]
    except KeyError:
        return _validate_slowly(raw, key, ctx)
    frequency, original = raw.get("frequency", "1"), raw.get("original_claim_id")
    received = fast_day(received_iso)
    if not (
        type(claim_id) is str and claim_id and len(claim_id) <= ID_CHARS
        and type(member_id) is str and member_id and len(member_id) <= ID_CHARS
        and type(frequency) is str and frequency in FREQUENCIES
        and (original is None if frequency == "1"
             else type(original) is str and original and len(original) <= ID_CHARS)
        and subscriber_id == key and type(key) is str and key and len(key) <= ID_CHARS
        and type(payer_id) is str and payer_id in ctx.payers
        and type(tin) is str and tin in ctx.practice_kind
        and type(npi) is str and npi in ctx.clinician_role
        and type(pos) is str and pos in _PLACES
        and received is not None
        and type(raw_lines) is list and (raw_lines or frequency == "8")
        and len(raw_lines) <= LIMITS.lines
    ):
        return _validate_slowly(raw, key, ctx)
    lines = []
    seen = set()
    known = ctx.known_codes
    days = _DAYS
    for rl in raw_lines:
        if type(rl) is not dict:
            return _validate_slowly(raw, key, ctx)
        try:
            line_no, day_iso, code = rl["line_no"], rl["service_date"], rl["procedure"]
            units, billed = rl["units"], rl["billed"]
        except KeyError:
            return _validate_slowly(raw, key, ctx)
        mods = rl.get("modifiers", ())
        # The parsed-day cache inline (a str is hashable; anything else takes `fast_day`).
        day = days.get(day_iso) if type(day_iso) is str else None
        if day is None:
            day = fast_day(day_iso)
        if not (
            type(line_no) is int and line_no >= 1 and line_no not in seen
            and day is not None and day <= received
            and type(code) is str and code in known
            and (code not in _DATED or valid_on(code, day_iso))
            and type(units) is int and 1 <= units <= MAX_UNITS
            and type(billed) is int and 0 <= billed <= MAX_BILLED
            and (mods == () or (type(mods) is list and (not mods or _modifiers_ok(mods))))
        ):
            return _validate_slowly(raw, key, ctx)
        dx = rl.get("diagnoses")
        if dx is not None:  # `_diagnoses_ok` inline (every line carries some)
            if type(dx) is not list or len(dx) > MAX_DIAGNOSES:
                return _validate_slowly(raw, key, ctx)
            for d in dx:
                if type(d) is not str or len(d) > DIAGNOSIS_CHARS:
                    return _validate_slowly(raw, key, ctx)
        seen.add(line_no)
        lines.append(Line(line_no, day, day_iso, code, ",".join(mods) if mods else "", units,
                          billed, shared_diagnoses(dx)))
    return Claim(claim_id, frequency, original, member_id, key, payer_id, tin, npi, pos, received,
                 received_iso, tuple(lines))


def _validate_slowly(raw: Any, key: Any, ctx: Context) -> Claim:
    if not isinstance(raw, dict):
        raise Invalid(RejectReason.MALFORMED, "claim", "claim is not a JSON object")
    claim_id = _text(raw, "claim_id")
    frequency = raw.get("frequency", "1")
    if type(frequency) is int:
        frequency = str(frequency)
    if type(frequency) is not str or frequency not in FREQUENCIES:  # a list is unhashable
        raise Invalid(RejectReason.BAD_FREQUENCY, "frequency",
                      f"frequency must be 1, 7 or 8, got {frequency!r}")
    original = raw.get("original_claim_id")
    if frequency != "1":
        original = _text(raw, "original_claim_id")
    elif original is not None and type(original) is not str:
        raise Invalid(RejectReason.MALFORMED, "original_claim_id", "original_claim_id is not a string")
    member_id = _text(raw, "member_id")
    subscriber_id = _text(raw, "subscriber_id")
    if subscriber_id != key:
        raise Invalid(RejectReason.SUBSCRIBER_MISMATCH, "subscriber_id",
                      f"subscriber_id {subscriber_id!r} is not the subscriber {key!r} the claim was sent under")
    payer_id = _text(raw, "payer_id")
    if payer_id not in ctx.payers:
        raise Invalid(RejectReason.UNKNOWN_MEMBER, "payer_id", f"unknown payer {payer_id!r}")
    billing_tin = _text(raw, "billing_tin")
    if billing_tin not in ctx.practice_kind:
        raise Invalid(RejectReason.UNKNOWN_PROVIDER, "billing_tin", f"unknown billing TIN {billing_tin!r}")
    npi = _text(raw, "rendering_npi")
    if npi not in ctx.clinician_role:
        raise Invalid(RejectReason.UNKNOWN_PROVIDER, "rendering_npi", f"unknown rendering NPI {npi!r}")
    pos = _text(raw, "place_of_service")
    if pos not in PLACES_OF_SERVICE:
        raise Invalid(RejectReason.UNKNOWN_CODE, "place_of_service", f"unknown place of service {pos!r}")
    received, received_iso = _day(raw.get("received"), "received")
    raw_lines = raw.get("lines")
    if raw_lines is None and frequency == "8":
        raw_lines = []  # a void needs no lines: it reverses the version in force
    if type(raw_lines) is not list or (not raw_lines and frequency != "8"):
        raise Invalid(RejectReason.MISSING_FIELD, "lines", "lines is missing or empty")
    if len(raw_lines) > LIMITS.lines:
        raise Invalid(RejectReason.TOO_MANY_LINES, "lines",
                      f"{len(raw_lines):,} lines, more than a claim may carry ({LIMITS.lines})")
    seen: set[int] = set()
    lines = [_line_slowly(rl, f"lines.{i}", received_iso, received, seen, ctx.known_codes)
             for i, rl in enumerate(raw_lines)]
    return Claim(claim_id, frequency, original, member_id, subscriber_id, payer_id, billing_tin,
                 npi, pos, received, received_iso, tuple(lines))


def _line_slowly(rl: Any, where: str, received_iso: str, received: dt.date, seen: set[int],
                 known: frozenset[str]) -> Line:
    """One line of `_validate_slowly`, its fields in order; `seen` collects the line numbers."""
    if not isinstance(rl, dict):
        raise Invalid(RejectReason.MALFORMED, where, f"{where} is not a JSON object")
    line_no = _int(rl.get("line_no"), f"{where}.line_no", RejectReason.MALFORMED)
    if line_no < 1 or line_no in seen:
        raise Invalid(RejectReason.MALFORMED, f"{where}.line_no",
                      f"{where}.line_no must be unique and >= 1, got {line_no}")
    seen.add(line_no)
    day, day_iso = _day(rl.get("service_date"), f"{where}.service_date")
    if day > received:
        raise Invalid(RejectReason.DATE_AFTER_RECEIVED, f"{where}.service_date",
                      f"{where}.service_date {day_iso} is after the received date {received_iso}")
    code = rl.get("procedure")
    if code is None:
        raise Invalid(RejectReason.MISSING_FIELD, f"{where}.procedure",
                      f"{where}.procedure is missing")
    if type(code) is not str or code not in known:
        raise Invalid(RejectReason.UNKNOWN_CODE, f"{where}.procedure", f"unknown procedure code {code!r}")
    if not valid_on(code, day_iso):
        raise Invalid(RejectReason.UNKNOWN_CODE, f"{where}.procedure",
                      f"procedure code {code!r} was not valid on {day_iso}")
    mods = rl.get("modifiers", ())
    if type(mods) is not list and mods != ():
        raise Invalid(RejectReason.MALFORMED, f"{where}.modifiers", f"{where}.modifiers is not a list")
    _check_modifiers(mods, where)
    units = rl.get("units")
    if type(units) is not int or units < 1:
        raise Invalid(RejectReason.BAD_UNITS, f"{where}.units", f"units must be an integer >= 1, got {units!r}")
    if units > LIMITS.units:
        raise Invalid(RejectReason.OVER_LIMIT, f"{where}.units", f"{units:,} units, more than {LIMITS.units:,}")
    billed = _int(rl.get("billed"), f"{where}.billed", RejectReason.MALFORMED)
    if billed < 0:
        raise Invalid(RejectReason.NEGATIVE_AMOUNT, f"{where}.billed", f"billed amount {billed} is negative")
    if billed > LIMITS.billed:
        raise Invalid(RejectReason.OVER_LIMIT, f"{where}.billed",
                      f"billed {billed:,} cents, more than {LIMITS.billed:,}")
    dx = rl.get("diagnoses")
    _check_diagnoses(dx, where)
    return Line(line_no, day, day_iso, code, ",".join(mods), units, billed, shared_diagnoses(dx))


def _check_modifiers(mods: Any, where: str) -> None:
    if len(mods) > LIMITS.modifiers:
        raise Invalid(RejectReason.OVER_LIMIT, f"{where}.modifiers",
                      f"{len(mods):,} modifiers, more than {LIMITS.modifiers}")
    for i, m in enumerate(mods):
        if type(m) is not str:
            raise Invalid(RejectReason.MALFORMED, f"{where}.modifiers", f"modifier {m!r} is not a string")
        if len(m) > LIMITS.modifier_chars:
            raise Invalid(RejectReason.FIELD_TOO_LONG, f"{where}.modifiers.{i}",
                          f"modifier of {len(m):,} characters, more than {LIMITS.modifier_chars}")


def _check_diagnoses(dx: Any, where: str) -> None:
    """Diagnoses are the projections' (observed risk), not pricing's, but a claim carrying
    garbage there is rejected like any other field."""
    if dx is None:
        return
    if type(dx) is not list:
        raise Invalid(RejectReason.MALFORMED, f"{where}.diagnoses", f"{where}.diagnoses is not a list")
    if len(dx) > LIMITS.diagnoses:
        raise Invalid(RejectReason.OVER_LIMIT, f"{where}.diagnoses",
                      f"{len(dx):,} diagnoses, more than {LIMITS.diagnoses}")
    for i, d in enumerate(dx):
        if type(d) is not str:
            raise Invalid(RejectReason.MALFORMED, f"{where}.diagnoses.{i}", f"diagnosis {d!r} is not a string")
        if len(d) > LIMITS.diagnosis_chars:
            raise Invalid(RejectReason.FIELD_TOO_LONG, f"{where}.diagnoses.{i}",
                          f"diagnosis code of {len(d):,} characters, more than {LIMITS.diagnosis_chars}")
