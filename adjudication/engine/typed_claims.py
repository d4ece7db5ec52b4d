"""A claim decoded typed (`events.typed_input.ClaimIn`) checked and turned into the `Claim` the
pipeline reads, or None: the dict reading (`validation.validate_claim`, the reference) then
decides and words the rejection.

It accepts only what `validate_claim`'s fast path accepts and builds the same `Claim`: msgspec
has checked every field's JSON type, so what is left are the values (limits, codes, dates, the
reference data), the same checks in the same terms. Every integer it takes is bounded well
inside 64 bits: past them orjson reads a number as a float, which the dict reading refuses, where
msgspec gives an int (so line numbers are taken only as 1, 2, 3 ... in order, which also makes
them unique without a set). tests/engine/test_typed_claims.py holds the two readings together.
"""

from __future__ import annotations

from typing import Final, cast

from claimsim.events.typed_input import ClaimFields, ClaimIn, LineFields
from claimsim.events import typed_input
from claimsim.events import codes

from claimsim.adjudication.engine.context import Context
from claimsim.adjudication.engine.validation import (
    DIAGNOSIS_CHARS, ID_CHARS, LIMITS, MAX_BILLED, MAX_DIAGNOSES, MAX_UNITS, Claim,
    Line, _DAYS, _modifiers_ok, fast_day, shared_diagnoses,
)

_PLACES: Final = codes.PLACES_OF_SERVICE
_DATED: Final = codes.DATED_CODES
# Functions of modules that are not compiled, held `Final`: the compiled module then keeps them in
# a C static, where a plain import is looked up in the module's dict at every call.
astuple: Final = typed_input.astuple
valid_on: Final = codes.valid_on
MAX_LINES: Final[int] = LIMITS.lines


def validate_typed(raw: ClaimIn, key: str, ctx: Context) -> Claim | None:
    """The claim `validate_claim` makes of the same claim read as a dict, when its fast path
    would take it; None otherwise. One function, as `validate_claim` is, for the same reason
    (every claim and line passes here)."""
    # Long: every claim and line passes here; split, each part would add a call per claim or
    # line and hand the line's values across it.
    # The fields at once, as a tuple mypyc unpacks natively (an attribute read of a Struct is a
    # generic `getattr`, some 160 instructions each).
    (tin, claim_id, frequency, raw_lines, member_id, original, payer_id, pos, received_iso, npi,
     subscriber_id) = cast(ClaimFields, astuple(raw))
    received = fast_day(received_iso)
    if not (
        claim_id and len(claim_id) <= ID_CHARS
        and member_id and len(member_id) <= ID_CHARS
        # `frequency in FREQUENCIES` as comparisons: a set lookup would hash the fresh string
        # (some 300 instructions), which nothing later needs.
        and (original is None if frequency == "1"
             else (frequency == "7" or frequency == "8")
             and original is not None and original and len(original) <= ID_CHARS)
        and subscriber_id == key and key and len(key) <= ID_CHARS
        and payer_id in ctx.payers and tin in ctx.practice_kind and npi in ctx.clinician_role
        and pos in _PLACES
        and received is not None
        and (raw_lines or frequency == "8") and len(raw_lines) <= MAX_LINES
    ):
        return None
    lines = []
    line_no_next = 1  # lines numbered 1, 2, 3 ... in order are unique (other orders: the dict reading)
    known = ctx.known_codes
    days = _DAYS
    # A claim's lines mostly repeat its first line's diagnoses: a line whose decoded tuple equals
    # the last line's takes the last shared one (comparing costs a fraction of the lookup, which
    # hashes the fresh strings).
    last_dx: tuple[str, ...] | None = None
    last_shared: tuple[str, ...] = ()
    # And its service date: a line on the last line's date takes its checked day (no lookup).
    # It starts as the received date, checked above: an empty string would pass a first line
    # dated "" as received (a test holds it).
    last_iso = received_iso
    last_day = received
    for rl in raw_lines:
        billed, dx, line_no, mods, code, day_iso, units = cast(LineFields, astuple(rl))
        if day_iso == last_iso:
            day = last_day
        else:
            found = days.get(day_iso)
            if found is None:
                found = fast_day(day_iso)
            if found is None or found > received:
                return None
            day = last_day = found
            last_iso = day_iso
        if not (
            line_no == line_no_next
            and code in known
            and (code not in _DATED or valid_on(code, day_iso))
            and 1 <= units <= MAX_UNITS
            and 0 <= billed <= MAX_BILLED
            and (not mods or _modifiers_ok(mods))
        ):
            return None
        if dx is not None:
            if len(dx) > MAX_DIAGNOSES:
                return None
            for d in dx:
                if len(d) > DIAGNOSIS_CHARS:
                    return None
        line_no_next += 1
        if dx is None or dx != last_dx:
            last_dx, last_shared = dx, shared_diagnoses(dx)
        lines.append(Line(line_no, day, day_iso, code, ",".join(mods) if mods else "", units,
                          billed, last_shared))
    return Claim(claim_id, frequency, original, member_id, key, payer_id, tin, npi, pos, received,
                 received_iso, tuple(lines))
