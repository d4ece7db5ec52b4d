"""Counts of what the fuzz campaign generated, per boundary, printed at the end of the session
(the figures a campaign's report quotes: inputs tried, crashes, inputs without one answer)."""

from __future__ import annotations

from collections import Counter

COUNTS: Counter[str] = Counter()


def pytest_terminal_summary(terminalreporter):
    if COUNTS:
        terminalreporter.write_line("fuzz campaign: " + ", ".join(
            f"{k} {v:,}" for k, v in sorted(COUNTS.items())))
