"""The facts aligned-payer reports are made of (DOMAIN.md §9), folded in one pass over a run's input
log and ledger (`fold.aligned.AlignedFold`, compiled with the payer-state fold): every paid claim line's dollars by payer x year, split by whether the line is
primary care on each of OHCA's three criteria, by LAN category, and per member; every prospective
payment by kind; members' demographics and diagnoses. Pure data: the measures in
`primary_care_spend`, `apm` and `claims_quality` are functions of these facts and reference data.

Choices where DOMAIN.md is silent:
- A claim line's year is its service date's; a prospective payment's year is the month it is for
  (`adjusts_month` when it corrects an earlier month).
- Spend on the `allowed` basis is plan paid + member cost share (+ the QMB share Medicaid owes):
  the capitation offset withheld on a line is not spent as FFS, it is paid prospectively, and
  counting it twice would inflate both the numerator and the denominator.
- A reversal line (negative amounts) counts against the year of the line it reverses.
"""

from __future__ import annotations

import datetime as dt
from array import array
from dataclasses import dataclass, field
from typing import Any, Final

from claimsim.events.codes import AWV_CODES, HBA1C_CODES, PROCEDURE_GROUPS
from claimsim.events.providers import ClinicianRole
from claimsim.events.reference import ReferenceData

# Positions in a spend row (one per key): sums in cents. `Final` literals: the compiled fold
# (`fold.aligned`) inlines them.
S_PAID: Final = 0
S_ALLOWED: Final = 1
S_PC_PAID: Final = 2
S_PC_ALLOWED: Final = 3
SPEND_WIDTH: Final = 4

DEMOGRAPHICS = ("race", "ethnicity", "language")


@dataclass(slots=True)
class LineCriteria:
    """OHCA's three tests of a claims-based primary-care line (all must hold)."""

    service: bool
    place: bool
    provider: bool

    @property
    def primary_care(self) -> bool:
        return self.service and self.place and self.provider


# A member total's last position (= SPEND_WIDTH): what the member owed, in cents.
M_COST_SHARE: Final = 4
QUALITY_CODES = frozenset(AWV_CODES) | HBA1C_CODES


@dataclass(slots=True)
class MemberFacts:
    """A member's payer (the latest enrollment's), enrollment spans ([start, end or None], ISO
    dates) and demographics (None: not reported)."""

    payer: str
    spans: list[list[str | None]] = field(default_factory=list)
    race: str | None = None
    ethnicity: str | None = None
    language: str | None = None

    def demographic(self, name: str) -> str:
        value = getattr(self, name)
        return "not_reported" if value is None else value


@dataclass(slots=True)
class AlignedFacts:
    """Folded facts. Keys are "payer|year" (spend, per kind), "payer|practice|year"
    (practice revenue), "payer|member|year" (member spend); values are named-position rows."""

    spend: dict[str, list[int]] = field(default_factory=dict)  # payer|year -> S_* row
    # member -> S_* row + M_COST_SHARE, over the run (every payer and year: what the equity table
    # reads), as an array: a list of five int objects per member was most of a payer-scale fold.
    member_totals: dict[str, array] = field(default_factory=dict)
    prospective: dict[str, int] = field(default_factory=dict)  # payer|practice|year|kind -> cents
    performance: dict[str, int] = field(default_factory=dict)  # payer|practice|year -> PCF perf. part
    contract_paid: dict[str, int] = field(default_factory=dict)  # payer|practice|year|program -> paid
    practice_ffs: dict[str, int] = field(default_factory=dict)  # payer|practice|year -> FFS paid
    # member|year -> procedure -> lines in force and not denied (reversals subtract), for the
    # procedures the claims-based quality measures look for (QUALITY_CODES) only
    procedures: dict[str, dict[str, int]] = field(default_factory=dict)
    members: dict[str, MemberFacts] = field(default_factory=dict)
    diagnoses: dict[str, set[str]] = field(default_factory=dict)  # member|year -> conditions
    # Where each claim was done, as the two criteria it decides (SITE_PLACE | SITE_PROVIDER) + 1
    # (0: not seen). By input seq, one byte a claim: a ledger entry's `cause` is its claim's seq.
    # By claim id only where seqs are unknown (hand-fed envelopes) or where a later replacement
    # or void will reverse the claim: a dict of every claim id would hold 6.4M strings at 1M members.
    site_by_seq: bytearray = field(default_factory=bytearray)
    site_by_claim: dict[str, int] = field(default_factory=dict)
    reversible: set[str] = field(default_factory=set)  # originals a replacement or void names
    # payer|practice|period -> a PBP basis scored on claims-based quality (one per boundary)
    pcf_scores: dict[str, dict[str, Any]] = field(default_factory=dict)


# Bits of a claim's site: the place and provider criteria.
SITE_PLACE: Final = 1
SITE_PROVIDER: Final = 2


def site_of(npi: Any, pos: Any, reference: ReferenceData, places: frozenset[str]) -> int:
    """A claim's place and provider criteria as SITE_* bits (a malformed field fails its test)."""
    found = reference.clinician.get(npi) if isinstance(npi, str) else None
    return ((SITE_PLACE if isinstance(pos, str) and pos in places else 0)
            | (SITE_PROVIDER if found is not None and found[1].role is ClinicianRole.PRIMARY_CARE else 0))


def pc_clinicians(reference: ReferenceData) -> frozenset[str]:
    """The NPIs that pass `site_of`'s provider test (what the fold looks a claim's NPI up in)."""
    return frozenset(npi for npi, (_, c) in reference.clinician.items()
                     if c.role is ClinicianRole.PRIMARY_CARE)


def line_criteria(line: dict[str, Any], site: int, services: frozenset[str]) -> LineCriteria:
    group = PROCEDURE_GROUPS.get(line["procedure"])
    return LineCriteria(service=group is not None and group.value in services,
                        place=bool(site & SITE_PLACE), provider=bool(site & SITE_PROVIDER))


def pc_procedures(services: frozenset[str]) -> frozenset[str]:
    """The procedure codes that pass `line_criteria`'s service test under `services` (what the
    fold looks a line's procedure up in)."""
    return frozenset(code for code, group in PROCEDURE_GROUPS.items() if group.value in services)


def service_day(day: Any) -> dt.date:
    """A ledger line's service date (an ISO string in a raw envelope) as a date."""
    return day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))
