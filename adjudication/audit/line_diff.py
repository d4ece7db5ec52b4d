"""Two runs' final-action line results compared claim by claim and line by line (`claimsim audit
diff --lines`, and the Tuva round trip's check in `claimsim export --check-roundtrip`): where run
B re-adjudicated run A's claims (say, A exported to Tuva, ingested, and paid again under A's
scenario), every line A has in force must carry the same results in B.

Final action: a claim's `claim.adjudicated` entries whose claim id no later void or replacement
reversed (what the Tuva export holds). Compared on each line: status, allowed, plan paid, cost
share and its parts (deductible, coinsurance, copay, Medicaid's part), capitation offset,
sequestration, shadow allowed, program, attributed, capitated, the CARC/group adjustments and
remarks; on each claim: member, subscriber, payer, practice, rendering NPI, received and paid
dates, and its line numbers.

Choices where DOMAIN.md is silent (the rule the round trip states):
- Reversal history: a version later voided or replaced was in force in A from its adjudication
  until its reversal, so it took deductible and out-of-pocket room, counted for duplicates and
  for its member's attribution; B, fed the final action only, never saw it. So a claim of a
  family adjudicated in A after any since-reversed version of that family is "reversal history":
  compared and counted, but its differences are expected and do not fail the comparison.
- Payers match by id, or by A's payer name (the Tuva export writes names).
- Inputs A rejected (`claim.rejected`) have no line results and are only counted.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import orjson

from claimsim.events.files import whole_or_absent
from claimsim.events.log import read

LINE_FIELDS = ("status", "allowed", "plan_paid", "cost_share", "deductible", "coinsurance", "copay",
               "medicaid_cost_share", "cap_offset", "sequestration", "shadow_allowed", "program",
               "attributed", "capitated", "adjustments", "remarks", "billed", "units", "procedure",
               "service_date", "member_id")
CLAIM_FIELDS = ("member_id", "subscriber_id", "payer_id", "practice_id", "rendering_npi",
                "received", "paid")
DIFFERENCES_COLUMNS = ("claim_id", "line_no", "field", "run_a", "run_b", "expected")


@dataclass(slots=True)
class FinalAction:
    """A run's final-action claims, and which of them carry reversal history."""

    claims: dict[str, dict[str, Any]] = field(default_factory=dict)  # claim id -> ledger data
    reversal_history: set[str] = field(default_factory=set)  # claim ids
    reversed_versions: int = 0
    rejected_inputs: int = 0


def final_action(run_dir: Path) -> FinalAction:
    """One pass over the ledger. Memory: every claim entry's data (as `audit replay` holds it)."""
    out = FinalAction()
    adjudicated: dict[str, tuple[int, dict[str, Any]]] = {}  # claim id -> (seq, data)
    reversed_ids: set[str] = set()
    for env in read(run_dir / "ledger"):
        kind = env["type"]
        if kind == "claim.rejected":
            out.rejected_inputs += 1
        if kind not in ("claim.adjudicated", "claim.reversed"):
            continue
        data = env["data"]
        if data.get("reversed_claim_id"):
            reversed_ids.add(data["reversed_claim_id"])
        if kind == "claim.adjudicated":
            adjudicated[data["claim_id"]] = (env["seq"], data)
    first_reversed: dict[str, int] = {}  # subscriber -> seq of its first since-reversed version
    for claim_id in reversed_ids:
        if claim_id in adjudicated:
            seq, data = adjudicated[claim_id]
            family = data["subscriber_id"]
            first_reversed[family] = min(first_reversed.get(family, seq), seq)
    for claim_id, (seq, data) in adjudicated.items():
        if claim_id in reversed_ids:
            out.reversed_versions += 1
            continue
        out.claims[claim_id] = data
        if seq > first_reversed.get(data["subscriber_id"], seq):
            out.reversal_history.add(claim_id)
    return out


@dataclass(slots=True)
class LineDiff:
    claims_a: int = 0
    claims_b: int = 0
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    claims_compared: int = 0
    lines_compared: int = 0
    lines_differing: int = 0  # unexpected
    history_claims: int = 0  # compared with reversal history
    history_lines_differing: int = 0  # expected
    reversed_versions_a: int = 0
    rejected_inputs_a: int = 0
    by_field: Counter = field(default_factory=Counter)  # unexpected differences per field
    differences: list[tuple] = field(default_factory=list)  # DIFFERENCES_COLUMNS rows

    @property
    def same(self) -> bool:
        return not (self.only_a or self.only_b or self.lines_differing)

    def rows(self) -> list[tuple[str, Any]]:
        return [
            ("final-action claims in A / B", f"{self.claims_a:,} / {self.claims_b:,}"),
            ("claims only in A / only in B", f"{len(self.only_a):,} / {len(self.only_b):,}"),
            ("claims / lines compared", f"{self.claims_compared:,} / {self.lines_compared:,}"),
            ("lines that differ", f"{self.lines_differing:,}" + (
                " (" + ", ".join(f"{k}: {v:,}" for k, v in sorted(self.by_field.items())) + ")"
                if self.by_field else "")),
            ("expected: claims with reversal history", f"{self.history_claims:,}"
             f" (their lines that differ: {self.history_lines_differing:,})"),
            ("not compared: reversed versions in A", f"{self.reversed_versions_a:,}"),
            ("not compared: inputs A rejected", f"{self.rejected_inputs_a:,}"),
        ]


def names_of_payers(run_dir: Path) -> dict[str, str]:
    """Payer id -> name from a run's reference.json ({} without one: payers match by id)."""
    path = run_dir / "reference.json"
    if not path.is_file():
        return {}
    return {p["payer_id"]: p.get("name", "") for p in orjson.loads(path.read_bytes())["payers"]}


def _claim_fields(a: dict, b: dict, names: dict[str, str]) -> Iterator[tuple[str, Any, Any]]:
    for name in CLAIM_FIELDS:
        va, vb = a.get(name), b.get(name)
        if name == "payer_id" and va != vb and names.get(va) == vb:
            continue
        if va != vb:
            yield name, va, vb
    if [ln["line_no"] for ln in a["lines"]] != [ln["line_no"] for ln in b["lines"]]:
        yield "line_numbers", [ln["line_no"] for ln in a["lines"]], [ln["line_no"] for ln in b["lines"]]


def compare_lines(run_a: Path | str, run_b: Path | str, *,
                  payer_names: dict[str, str] | None = None, perturb=None) -> LineDiff:
    """A's final-action line results against B's. `payer_names`: A's payer id -> name (default:
    from A's reference.json). `perturb(final_action_of_b)`: a hook tests use to change one
    amount and see the comparison fail."""
    run_a, run_b = Path(run_a), Path(run_b)
    fa, fb = final_action(run_a), final_action(run_b)
    if perturb is not None:
        perturb(fb)
    names = names_of_payers(run_a) if payer_names is None else payer_names
    out = LineDiff(claims_a=len(fa.claims), claims_b=len(fb.claims),
                   reversed_versions_a=fa.reversed_versions, rejected_inputs_a=fa.rejected_inputs)
    out.only_a = sorted(set(fa.claims) - set(fb.claims))
    out.only_b = sorted(set(fb.claims) - set(fa.claims))
    for claim_id in sorted(set(fa.claims) & set(fb.claims)):
        a, b = fa.claims[claim_id], fb.claims[claim_id]
        expected = claim_id in fa.reversal_history
        out.claims_compared += 1
        out.history_claims += expected
        claim_level = [(claim_id, "", name, va, vb) for name, va, vb in _claim_fields(a, b, names)]
        found = list(claim_level)
        lines_b = {ln["line_no"]: ln for ln in b["lines"]}
        for la in a["lines"]:
            lb = lines_b.get(la["line_no"])
            if lb is None:
                continue
            out.lines_compared += 1
            fields = [(claim_id, la["line_no"], k, la.get(k), lb.get(k))
                      for k in LINE_FIELDS if la.get(k) != lb.get(k)]
            if fields or claim_level:  # a claim-level difference is every line's
                if expected:
                    out.history_lines_differing += 1
                else:
                    out.lines_differing += 1
                    out.by_field.update(f[2] for f in fields or claim_level)
            found += fields
        out.differences += [(*f, "reversal history" if expected else "") for f in found]
    return out


def write_differences(path: Path, diff: LineDiff) -> Path:
    with whole_or_absent(path) as part, open(part, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(DIFFERENCES_COLUMNS)
        for claim_id in diff.only_a:
            writer.writerow((claim_id, "", "claim", "present", "absent", ""))
        for claim_id in diff.only_b:
            writer.writerow((claim_id, "", "claim", "absent", "present", ""))
        writer.writerows(diff.differences)
    return path
