"""Money and rates: integer cents, integer basis points, and the one rounding function.

Every amount in claimsim is an `int` of cents and every rate an `int` of basis points
(40 % = 4000). Rounding happens in exactly one place, `div_round_half_up`, which every
rate application and proration goes through (DESIGN.md "Conventions").
"""

from __future__ import annotations

from typing import TypeAlias

Cents: TypeAlias = int
BasisPoints: TypeAlias = int

BP_ONE: BasisPoints = 10_000  # 100 %


def div_round_half_up(numerator: int, denominator: int) -> int:
    """`numerator / denominator` rounded to the nearest integer, halves away from zero.

    This is the project's only rounding rule. Halves go away from zero ("half-up" in the
    accounting sense, decimal.ROUND_HALF_UP), never Python's half-even `round`, never a float,
    so that a reversal (every amount negated) rounds to exactly the negation of the original.
    """
    if denominator <= 0:
        raise ValueError(f"denominator must be positive, got {denominator}")
    sign = -1 if numerator < 0 else 1
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return sign * quotient


def apply_rate(amount: Cents, rate: BasisPoints) -> Cents:
    """`amount × rate / 10 000`, rounded once, half away from zero, to the cent.

    >>> apply_rate(1001, 5000)    # 500.5 -> 501
    501
    >>> apply_rate(-1001, 5000)   # -500.5 -> -501
    -501
    """
    return div_round_half_up(amount * rate, BP_ONE)


def apply_rates(amount: Cents, *rates: BasisPoints) -> Cents:
    """`amount × r1 × r2 × ... / 10 000^n`, with a single rounding at the end.

    For chained rates (CPCP = expected FFS × hybrid % × (1 + enhancement)): rounding each
    step would round more than once.
    """
    numerator, denominator = amount, 1
    for rate in rates:
        numerator *= rate
        denominator *= BP_ONE
    return div_round_half_up(numerator, denominator)


def prorate(amount: Cents, part: int, whole: int) -> Cents:
    """`amount × part / whole`, rounded once (member months, partial periods)."""
    return div_round_half_up(amount * part, whole)


def dollars(cents: Cents) -> str:
    """Human display only ($1,234.56); never parsed back."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}${whole:,}.{frac:02d}"


def nearest_cent(value: float) -> Cents:
    """A statistic in cents (a mean, an interval bound) rounded half away from zero to a whole
    cent, as `div_round_half_up` rounds: via its shortest decimal form, so 0.5 rounds up."""
    from decimal import ROUND_HALF_UP, Decimal

    return int(Decimal(repr(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
