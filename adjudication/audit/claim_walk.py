"""The ledger walked for `audit explain claim` (`claim_story`): a family's claim answers in ledger
order, keeping what a later line's story needs — the accumulators before it (the deductible and
cost share of every earlier line of the same family, payer and service year, reversals included)
and the lines in force, for the original behind a duplicate (OA-18)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass
class Accumulators:
    """Running deductible and out-of-pocket totals per (payer, year, member) and per family."""

    member: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    family: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    def add(self, payer: str, line: dict[str, Any]) -> None:
        year = str(line["service_date"])[:4]
        for acc in (self.member.setdefault((payer, year, line["member_id"]), [0, 0]),
                    self.family.setdefault((payer, year), [0, 0])):
            acc[0] += line.get("deductible", 0)
            acc[1] += line["cost_share"]

    def of(self, payer: str, line: dict[str, Any]) -> tuple[int, int, int, int]:
        year = str(line["service_date"])[:4]
        m = self.member.get((payer, year, line["member_id"]), [0, 0])
        f = self.family.get((payer, year), [0, 0])
        return m[0], m[1], f[0], f[1]


def duplicate_key(line: dict[str, Any], npi: str) -> tuple:
    return (line["member_id"], npi, str(line["service_date"]), line["procedure"], line["units"])


def hashable(value: Any) -> Any:
    """A key or id as a set member: itself if it can be one, else its JSON (a hostile input's
    key may be a list or an object; its answers carry the same key)."""
    return value if value is None or isinstance(value, (str, int, float)) else orjson.dumps(value)


@dataclass
class Walk:
    """The family's ledger walked in order: accumulators, the lines in force (for OA-18), and
    each claim version's rendering NPI (a void's entry does not repeat it)."""

    acc: Accumulators = field(default_factory=Accumulators)
    in_force: dict[tuple, str] = field(default_factory=dict)
    npi_of: dict[str, str] = field(default_factory=dict)

    def reversed(self, d: dict[str, Any], line: dict[str, Any]) -> None:
        npi = self.npi_of.get(d.get("reversed_claim_id") or "", d.get("rendering_npi", ""))
        self.acc.add(d["payer_id"], line)
        self.in_force.pop(duplicate_key(line, npi), None)

    def added(self, env: dict[str, Any], line: dict[str, Any]) -> None:
        d = env["data"]
        self.npi_of[d["claim_id"]] = d.get("rendering_npi", "")
        self.acc.add(d["payer_id"], line)
        if line.get("status") in ("paid", "shadow"):
            self.in_force.setdefault(duplicate_key(line, d.get("rendering_npi", "")),
                                     f"claim {d['claim_id']} line {line['line_no']}"
                                     f" (ledger seq {env['seq']})")

    def advance(self, env: dict[str, Any]) -> None:
        for line in env["data"].get("reversed_lines", ()):
            self.reversed(env["data"], line)
        for line in env["data"].get("lines", ()):
            self.added(env, line)
