"""Injected faults: duplicates, replacements, voids, malformed and late claims, each told to truth.

Shaped as the adjudicator will meet them (DOMAIN.md §3): a duplicate is a new claim id repeating
an earlier claim's lines (OA-18 is found by content); a replacement (7) and a void (8) carry a new
claim id and name the original, and arrive after it; a malformed claim is valid JSON with bad
business content; a late claim arrives past the payer's timely filing limit.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from claimsim.events.codes import E_AND_M_ESTABLISHED, E_AND_M_NEW, ED_CODES, SPECIALIST_EM_CODES
from claimsim.events.envelope import new_event
from claimsim.events.truth import InjectedFault
from claimsim.simulator.claims import ClaimBuilder
from claimsim.simulator.config import FaultConfig
from claimsim.simulator.submission import PRIORITY_CLAIM, SubmissionQueue

FAULT_TYPE = InjectedFault.TYPE
FAULT_V = InjectedFault.V


class FaultKind(StrEnum):
    DUPLICATE = "duplicate"
    REPLACEMENT = "replacement"
    VOID = "void"
    MALFORMED = "malformed"
    LATE = "late"


class Malformation(StrEnum):
    UNKNOWN_CODE = "unknown_code"
    NEGATIVE_BILLED = "negative_billed"
    ZERO_UNITS = "zero_units"
    DATE_AFTER_RECEIVED = "date_after_received"
    MISSING_MEMBER = "missing_member"
    UNKNOWN_ORIGINAL = "unknown_original"


MALFORMATIONS = tuple(Malformation)
UNKNOWN_PROCEDURE = "99999"  # on no code list or fee schedule
# Code ladders a replacement moves along (a corrected E&M level is the usual replacement).
_LADDERS = (E_AND_M_NEW, E_AND_M_ESTABLISHED, SPECIALIST_EM_CODES, ED_CODES)
_NEXT_CODE = {
    code: ladder[i + 1] if i + 1 < len(ladder) else ladder[i - 1]
    for ladder in _LADDERS for i, code in enumerate(ladder)
}


def _copy_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Lines to edit: the values are immutable (str, int, tuples), so a copy per line is enough."""
    return [dict(line) for line in lines]


class FaultInjector:
    def __init__(self, config: FaultConfig, builder: ClaimBuilder, queue: SubmissionQueue,
                 timely_filing_days: int):
        self.builder = builder
        self.queue = queue
        self.timely_filing_days = timely_filing_days
        self.resubmit = config.resubmit_days
        kinds = (
            (FaultKind.DUPLICATE, config.duplicate_bp),
            (FaultKind.REPLACEMENT, config.replacement_bp),
            (FaultKind.VOID, config.void_bp),
            (FaultKind.MALFORMED, config.malformed_bp),
            (FaultKind.LATE, config.late_bp),
        )
        self._thresholds: list[tuple[float, FaultKind]] = []
        total = 0
        for kind, bp in kinds:
            total += bp
            self._thresholds.append((total / 10_000, kind))
        self.any_below = total / 10_000

    def kind(self, u: float) -> FaultKind | None:
        """Which fault (if any) an original claim gets, from one uniform draw."""
        if u >= self.any_below:
            return None
        for threshold, kind in self._thresholds:
            if u < threshold:
                return kind
        return None

    def late_received(self, service_day: int, u: float) -> int:
        return service_day + self.timely_filing_days + 1 + int(u * 60)

    def _truth(self, kind: str, claim_id: str, detail: str, received: int, key: str) -> dict:
        return new_event({"kind": str(kind), "claim_id": claim_id, "detail": detail},
                         at=self.builder.iso_of(received), key=key, type=FAULT_TYPE, v=FAULT_V)

    def late_truth(self, claim: dict[str, Any], received: int, key: str) -> dict:
        return self._truth(FaultKind.LATE, claim["claim_id"], "received past timely filing",
                           received, key)

    def follow_up(self, kind: FaultKind, claim: dict[str, Any], received: int, key: str,
                  u_detail: float, u_delta: float) -> None:
        """Queue the faulty submission that follows (or accompanies) an original claim."""
        lo, hi = self.resubmit
        later = received + lo + int(u_delta * (hi - lo + 1))
        cid = claim["claim_id"]
        b = self.builder
        if kind is FaultKind.DUPLICATE:
            dup = {**claim, "claim_id": cid + "-D", "received": b.iso_of(later)}
            self._push(dup, later, key, kind, f"repeats {cid}")
        elif kind is FaultKind.VOID:
            void = {**claim, "claim_id": cid + "-V", "frequency": "8", "original_claim_id": cid,
                    "received": b.iso_of(later)}
            self._push(void, later, key, kind, f"voids {cid}")
        elif kind is FaultKind.REPLACEMENT:
            lines = _copy_lines(claim["lines"])
            first = lines[0]
            code = first["procedure"]
            per_unit = first["billed"] // first["units"]
            if code in _NEXT_CODE:
                new_code = _NEXT_CODE[code]
                first["procedure"] = new_code
                first["billed"] = b.billed[b.practice_id.index(claim["billing_tin"])][
                    int(first["service_date"][:4])][new_code]
                detail = f"replaces {cid}: {code} -> {new_code}"
            else:
                first["units"] += 1
                first["billed"] = per_unit * first["units"]
                detail = f"replaces {cid}: {code} units -> {first['units']}"
            repl = {**claim, "claim_id": cid + "-R", "frequency": "7", "original_claim_id": cid,
                    "received": b.iso_of(later), "lines": lines}
            self._push(repl, later, key, kind, detail)
        elif kind is FaultKind.MALFORMED:
            self._malformed(claim, received, key, u_detail, u_delta)

    def _malformed(self, claim: dict[str, Any], received: int, key: str, u_detail: float,
                   u_delta: float) -> None:
        how = MALFORMATIONS[min(len(MALFORMATIONS) - 1, int(u_detail * len(MALFORMATIONS)))]
        cid = claim["claim_id"]
        bad = {**claim, "claim_id": cid + "-X", "lines": _copy_lines(claim["lines"])}
        first = bad["lines"][0]
        if how is Malformation.UNKNOWN_CODE:
            first["procedure"] = UNKNOWN_PROCEDURE
        elif how is Malformation.NEGATIVE_BILLED:
            first["billed"] = -first["billed"]
        elif how is Malformation.ZERO_UNITS:
            first["units"] = 0
        elif how is Malformation.DATE_AFTER_RECEIVED:
            first["service_date"] = self.builder.iso_of(received + 1 + int(u_delta * 30))
        elif how is Malformation.MISSING_MEMBER:
            del bad["member_id"]
            bad["subscriber_id"] = ""
            key = ""
        elif how is Malformation.UNKNOWN_ORIGINAL:
            bad["frequency"] = "8" if u_delta < 0.5 else "7"
            bad["original_claim_id"] = cid + "-U"  # never submitted
        self._push(bad, received, key, FaultKind.MALFORMED, how.value)

    def _push(self, claim: dict[str, Any], received: int, key: str, kind: FaultKind,
              detail: str) -> None:
        self.queue.push(received, PRIORITY_CLAIM, self.builder.event(claim, received, key),
                        self._truth(kind, claim["claim_id"], detail, received, key))
