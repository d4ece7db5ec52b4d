"""`apply_rate` and friends: integer cents, one rounding rule, half away from zero."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claimsim.events.money import apply_rate, apply_rates, div_round_half_up, dollars, prorate


@pytest.mark.parametrize(
    "amount, rate, expected",
    [
        (1001, 5000, 501),  # 500.5 -> 501: a half rounds up
        (-1001, 5000, -501),  # -500.5 -> -501: and symmetrically down, so reversals negate exactly
        (1003, 5000, 502),  # 501.5 -> 502 (half-even would give 502 too; see next)
        (1005, 5000, 503),  # 502.5 -> 503 where Python's round() gives 502
        (-1005, 5000, -503),
        (9070, 4000, 3628),  # 40 % of $90.70 is exact
        (9071, 4000, 3628),  # 3628.4 -> 3628
        (9074, 2000, 1815),  # 1814.8 -> 1815
        (1, 5000, 1),  # 0.5 cent -> 1 cent
        (-1, 5000, -1),
        (0, 6500, 0),
        (12345, 10_000, 12345),
    ],
)
def test_apply_rate_rounds_half_away_from_zero(amount, rate, expected):
    assert apply_rate(amount, rate) == expected


def test_python_round_would_differ_on_an_even_half():
    # 1005 x 50 % = 502.5: banker's rounding gives 502, ours 503.
    assert round(1005 * 5000 / 10_000) == 502
    assert apply_rate(1005, 5000) == 503


def test_chained_rates_round_once():
    """CPCP = $50.05 x 40 % x 110 %: 5005 x 0.4 x 1.1 = 2202.2 -> 2202 rounded once; rounding
    each step would give round(2002) x 1.1 = 2202.2 as well, so use an amount where it differs:
    $0.35 x 50 % = 17.5 -> 18, x 150 % = 27; once: 35 x 0.75 = 26.25 -> 26."""
    assert apply_rates(5005, 4000, 11_000) == 2202
    assert apply_rates(35, 5000, 15_000) == 26
    assert apply_rate(apply_rate(35, 5000), 15_000) == 27


def test_prorate_and_division():
    assert prorate(10_000, 1, 3) == 3333
    assert prorate(10_000, 2, 3) == 6667
    assert div_round_half_up(-5, 2) == -3
    with pytest.raises(ValueError):
        div_round_half_up(1, 0)


def test_dollars_display():
    assert dollars(123456) == "$1,234.56"
    assert dollars(-5) == "-$0.05"


@given(st.integers(-10**9, 10**9), st.integers(0, 10_000))
def test_negation_commutes_with_rounding(amount, rate):
    assert apply_rate(-amount, rate) == -apply_rate(amount, rate)


@given(st.integers(0, 10**9), st.integers(0, 10_000))
def test_rate_result_within_half_cent_of_exact(amount, rate):
    from fractions import Fraction

    exact = Fraction(amount * rate, 10_000)
    assert abs(apply_rate(amount, rate) - exact) <= Fraction(1, 2)
