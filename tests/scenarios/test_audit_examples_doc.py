"""docs/audit-examples.md is what `claimsim audit explain` prints on its fixed run: regenerated
here and compared, so the worked examples in the user guide always match the ledger figures."""

from __future__ import annotations

from pathlib import Path

from claimsim.scenarios.audit_examples import build

DOC = Path(__file__).resolve().parents[2] / "docs" / "audit-examples.md"


def test_committed_examples_are_what_the_commands_print_today():
    fresh = build()
    for heading in ("A capitated visit", "A duplicate line (OA-18)", "A replacement",
                    "A practice's month", "Why a member is attributed"):
        assert f"## {heading}" in fresh, heading
    assert DOC.read_text() == fresh, (
        "docs/audit-examples.md is stale: python -m claimsim.scenarios.audit_examples > docs/audit-examples.md")
