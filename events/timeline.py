"""Effective-dated facts, the one rule the adjudication engine's Context and the payer-side
projections share: a timeline of facts that take effect from a date on, and dated spans
(contracts) looked up by day.

A timeline is a plain list of entries `[effective ISO day, value, ...]` ascending by day (lists
or tuples), so a projection can keep it in JSON state and checkpoint it as it is. A span list is
`(start, end or None, value)` ascending by start, end inclusive; `start`/`end`/`day` are ISO
strings or `datetime.date`s (both order the same way), as long as one list uses one kind.

Choices where DOMAIN.md is silent: a fact applies from its own date on and replaces everything
known from that date on, including facts dated later, because facts arrive in the order the run
clock learned them and the latest knowledge wins for the period it covers. Spans that overlap
answer with the one that starts first.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from operator import itemgetter
from typing import Any, TypeVar

T = TypeVar("T")

# Position of the effective day in a timeline entry; the entry's value follows it.
EFFECTIVE, VALUE = 0, 1
effective_of = itemgetter(EFFECTIVE)  # the bisect key (hot paths that inline `value_at` use it)


def set_from(timeline: list, entry: Sequence) -> None:
    """Record `entry` (its [0] the effective day): it replaces every entry dated on or after it."""
    del timeline[bisect.bisect_left(timeline, entry[EFFECTIVE], key=effective_of):]
    timeline.append(entry)


def entry_at(timeline: Sequence[T], day: Any) -> T | None:
    """The latest entry effective on or before `day` (None before the first)."""
    i = bisect.bisect_right(timeline, day, key=effective_of)
    return timeline[i - 1] if i else None


def value_at(timeline: Sequence[Sequence], day: Any, default: Any = None) -> Any:
    """The value (entry[1]) of the latest entry effective on or before `day`, else `default`."""
    i = bisect.bisect_right(timeline, day, key=effective_of)
    return timeline[i - 1][VALUE] if i else default


def span_on(spans: Sequence[tuple[Any, Any, T]], day: Any) -> T | None:
    """The value of the first span (start, end inclusive or None, value) covering `day`.

    The one contract-on-day rule: `ReferenceData.contract_on`, the engine Context's programs and
    the projections' capitated groups all answer through it."""
    for start, end, value in spans:
        if start <= day and (end is None or day <= end):
            return value
    return None


def contract_spans(contracts, value_of, *, iso: bool = False) -> dict[tuple[str, str], list[tuple]]:
    """Span lists for `span_on`, by (payer id, practice id): each contract's (start, end, value_of
    (contract)), ascending by start (dates, or ISO strings with `iso`)."""
    out: dict[tuple[str, str], list[tuple]] = {}
    for c in sorted(contracts, key=lambda c: c.start):
        start, end = (c.start.isoformat(), c.end and c.end.isoformat()) if iso else (c.start, c.end)
        out.setdefault((c.payer_id, c.practice_id), []).append((start, end, value_of(c)))
    return out
