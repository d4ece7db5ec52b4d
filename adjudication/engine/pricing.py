"""Step 5 of DOMAIN.md §3: price a line against the payer's fee schedule for the plan year.

`allowed = min(billed, fee × units)`; the excess is CO-45. A code the schedule does not carry, and
a routine physical under a Medicare Part B style plan, is not covered: CO-96 with a remark.
"""

from __future__ import annotations

from typing import Final

from claimsim.events.codes import REMARK_ROUTINE_PHYSICAL

# CO-96 must carry a remark (X12). N130 ("consult plan benefit documents for restrictions") is
# used for both non-covered cases: a code off the payer's schedule and a Part B routine physical.
REMARK_NOT_ON_SCHEDULE: Final = "N130"
REMARK_NOT_COVERED: Final = REMARK_ROUTINE_PHYSICAL

PREVENTIVE: Final = "preventive"


def allowed_amount(fee: int, units: int, billed: int) -> int:
    """`min(billed, fee × units)`: never more than was charged."""
    scheduled = fee * units
    return billed if billed < scheduled else scheduled


def not_covered_remark(group: str | None, fee: int | None, part_b: bool) -> str | None:
    """The CO-96 remark if the line is not covered (None: it is priced)."""
    if part_b and group == PREVENTIVE:
        return REMARK_NOT_COVERED  # Part B does not cover routine physicals 99381-99397
    if fee is None:
        return REMARK_NOT_ON_SCHEDULE
    return None
