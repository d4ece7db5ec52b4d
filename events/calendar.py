"""Calendar arithmetic on ISO date strings (YYYY-MM-DD) and months (YYYY-MM), which the
projections compare as strings: parsing a date for every claim line would cost more than the fold.
"""

from __future__ import annotations

import calendar


def add_months(day: str, months: int) -> str:
    """The same day of the month `months` later, or that month's last day if it is shorter."""
    y, m, d = int(day[:4]), int(day[5:7]), int(day[8:10])
    total = y * 12 + (m - 1) + months
    year, month = total // 12, total % 12 + 1
    return f"{year:04d}-{month:02d}-{min(d, calendar.monthrange(year, month)[1]):02d}"


def month_of(day: str) -> str:
    return day[:7]


def next_month(month: str) -> str:
    return add_months(month + "-01", 1)[:7]


def months_from(first: str, last: str) -> list[str]:
    """Months `first`..`last` inclusive (YYYY-MM)."""
    out, m = [], first
    while m <= last:
        out.append(m)
        m = next_month(m)
    return out


def age_on(birth: str, day: str) -> int:
    years = int(day[:4]) - int(birth[:4])
    return years - 1 if day[5:10] < birth[5:10] else years
