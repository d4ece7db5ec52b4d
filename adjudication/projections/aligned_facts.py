"""The facts aligned-payer reports are made of (DOMAIN.md §9), folded in one pass over a run's input
log and ledger: every paid claim line's dollars by payer x year, split by whether the line is
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
from typing import Any

from claimsim.events.codes import AWV_CODES, HBA1C_CODES, ICD10_CONDITION, PROCEDURE_GROUPS, Condition
from claimsim.events.money import div_round_half_up
from claimsim.events.programs import ProgramKind
from claimsim.events.providers import ClinicianRole
from claimsim.events.reference import ReferenceData

# Positions in a spend row (one per key): sums in cents.
S_PAID, S_ALLOWED, S_PC_PAID, S_PC_ALLOWED = range(4)
SPEND_WIDTH = 4

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


M_COST_SHARE = SPEND_WIDTH  # a member total's last position: what the member owed, in cents
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


SITE_PLACE, SITE_PROVIDER = 1, 2  # bits of a claim's site: the place and provider criteria


def site_of(npi: Any, pos: Any, reference: ReferenceData, places: frozenset[str]) -> int:
    """A claim's place and provider criteria as SITE_* bits (a malformed field fails its test)."""
    found = reference.clinician.get(npi) if isinstance(npi, str) else None
    return ((SITE_PLACE if isinstance(pos, str) and pos in places else 0)
            | (SITE_PROVIDER if found is not None and found[1].role is ClinicianRole.PRIMARY_CARE else 0))


def line_criteria(line: dict[str, Any], site: int, services: frozenset[str]) -> LineCriteria:
    group = PROCEDURE_GROUPS.get(line["procedure"])
    return LineCriteria(service=group is not None and group.value in services,
                        place=bool(site & SITE_PLACE), provider=bool(site & SITE_PROVIDER))


def _add(table: dict[str, list[int]], key: str, paid: int, allowed: int, pc: bool) -> None:
    row = table.get(key)
    if row is None:
        row = table[key] = [0] * SPEND_WIDTH
    _spent(row, paid, allowed, pc)


def _spent(row: list[int] | array, paid: int, allowed: int, pc: bool) -> None:
    """Add a line's dollars to an S_* row (a spend row, or a member's run totals)."""
    row[S_PAID] += paid
    row[S_ALLOWED] += allowed
    if pc:
        row[S_PC_PAID] += paid
        row[S_PC_ALLOWED] += allowed


def _bump(table: dict[str, int], key: str, amount: int) -> None:
    table[key] = table.get(key, 0) + amount


class AlignedFold:
    """Feeds `AlignedFacts` from raw envelopes of either log (`apply`), like `PayerState`."""

    def __init__(self, reference: ReferenceData, services: frozenset[str], places: frozenset[str]):
        self.reference, self.services, self.places = reference, services, places
        self.facts = AlignedFacts()
        self._texts: dict[str, str] = {}

    def apply(self, env: dict[str, Any]) -> None:
        """Fold one envelope. A run's whole input log goes before its ledger (`fold_facts`): a
        claim's site is known by the time the ledger answers it, and every original that a
        replacement or void names is known before the ledger pays it."""
        kind = env["type"]
        if kind == "claim.submitted":
            self._claim_submitted(env["data"], env.get("seq"))
        elif kind == "claim.adjudicated":
            self._claim_adjudicated(env["data"], env.get("cause"))
        else:
            handler = getattr(self, "_" + kind.replace(".", "_"), None)
            if handler is not None:
                handler(env["data"])

    # -- input log ---------------------------------------------------------------------------
    def _member_enrolled(self, d: dict[str, Any]) -> None:
        m = self.facts.members.get(d["member_id"])
        if m is None:
            m = self.facts.members[d["member_id"]] = MemberFacts(d["payer_id"])
        m.payer = d["payer_id"]
        m.spans.append([self._shared(str(d["start"])),
                        None if d.get("end") is None else self._shared(str(d["end"]))])
        for name in DEMOGRAPHICS:
            if d.get(name) is not None:
                setattr(m, name, self._shared(d[name]))

    def _member_terminated(self, d: dict[str, Any]) -> None:
        m = self.facts.members.get(d["member_id"])
        if m and m.spans:
            m.spans[-1][1] = self._shared(str(d["end"]))

    def _shared(self, text: str) -> str:
        """One str object per distinct date or demographic value (a million members share a few
        hundred)."""
        return self._texts.setdefault(text, text)

    def _claim_submitted(self, d: dict[str, Any], seq: int | None = None) -> None:
        claim = d.get("claim")
        if not isinstance(claim, dict) or not isinstance(claim.get("claim_id"), str):
            return  # malformed: the ledger rejects it, and it has no lines to count
        f, member = self.facts, claim.get("member_id")
        site = site_of(claim.get("rendering_npi"), claim.get("place_of_service"), self.reference,
                       self.places)
        if isinstance(seq, int) and seq >= 0:
            by_seq = f.site_by_seq
            if seq >= len(by_seq):
                by_seq.extend(bytes(max(seq + 1 - len(by_seq), len(by_seq) // 2)))
            by_seq[seq] = site + 1
        else:
            f.site_by_claim[claim["claim_id"]] = site
        original = claim.get("original_claim_id")
        if isinstance(original, str):
            f.reversible.add(original)
        for line in claim.get("lines") or ():
            if not isinstance(line, dict) or not isinstance(line.get("service_date"), str):
                continue
            for code in line.get("diagnoses") or ():
                condition = ICD10_CONDITION.get(code) if isinstance(code, str) else None
                if condition is not None and isinstance(member, str):
                    self.facts.diagnoses.setdefault(
                        f"{member}|{line['service_date'][:4]}", set()).add(condition.value)

    # -- ledger --------------------------------------------------------------------------------
    def _claim_adjudicated(self, d: dict[str, Any], cause: int | None = None) -> None:
        f, claim_id = self.facts, d["claim_id"]
        site = f.site_by_claim.get(claim_id)
        if site is None and isinstance(cause, int) and 0 <= cause < len(f.site_by_seq):
            site = f.site_by_seq[cause] - 1 if f.site_by_seq[cause] else None
        if site is not None and (claim_id in f.reversible or d.get("original_claim_id") in f.reversible):
            f.site_by_claim[claim_id] = site  # a later version reverses this one's lines
        if d["reversed_lines"]:
            reversed_id = d.get("reversed_claim_id") or claim_id
            self._lines(d, d["reversed_lines"], f.site_by_claim.get(reversed_id, 0), -1)
        self._lines(d, d["lines"], site or 0, 1)

    def _claim_reversed(self, d: dict[str, Any]) -> None:
        self._lines(d, d["reversed_lines"], self.facts.site_by_claim.get(d["reversed_claim_id"], 0), -1)

    def _lines(self, d: dict[str, Any], lines: list[dict[str, Any]], site: int, sign: int) -> None:
        """Fold a claim's lines done at `site` (SITE_* bits; 0 when unknown: not primary care)."""
        f, payer, practice = self.facts, d["payer_id"], d["practice_id"]
        for line in lines:
            year = str(line["service_date"])[:4]
            paid = line["plan_paid"]
            allowed = paid + line["cost_share"] + line.get("medicaid_cost_share", 0)
            pc = line_criteria(line, site, self.services).primary_care
            _add(f.spend, f"{payer}|{year}", paid, allowed, pc)
            totals = f.member_totals.get(line["member_id"])
            if totals is None:
                totals = f.member_totals[line["member_id"]] = array("q", bytes(8 * (SPEND_WIDTH + 1)))
            _spent(totals, paid, allowed, pc)
            totals[M_COST_SHARE] += line["cost_share"]
            _bump(f.practice_ffs, f"{payer}|{practice}|{year}", paid)
            contract = self.reference.contract_on(payer, practice, _date(line["service_date"]))
            program = contract.program.kind.value if contract else ProgramKind.FFS.value
            _bump(f.contract_paid, f"{payer}|{practice}|{year}|{program}", paid)
            if line["procedure"] in QUALITY_CODES and line.get("status", "paid") != "denied":
                done = f.procedures.setdefault(f"{line['member_id']}|{year}", {})
                done[line["procedure"]] = done.get(line["procedure"], 0) + sign

    def _payment_prospective(self, d: dict[str, Any]) -> None:
        year = (d.get("adjusts_month") or d["month"])[:4]
        key = f"{d['payer_id']}|{d['practice_id']}|{year}"
        _bump(self.facts.prospective, f"{key}|{d['kind']}", d["amount"])
        basis = (d.get("detail") or {}).get("basis") or {}
        if basis.get("quality_source") == "claims":
            self.facts.pcf_scores.setdefault(
                f"{d['payer_id']}|{d['practice_id']}|{basis['quality_period']}", basis)
        perf = basis.get("performance_bp") or 0  # in the PBP payment's basis
        if perf:
            # PBP x (1 - leakage) x (1 + perf): the part the performance adjustment moved.
            base = div_round_half_up(d["amount"] * 10_000, 10_000 + perf)
            _bump(self.facts.performance, key, d["amount"] - base)


def _date(day: Any) -> dt.date:
    return day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))
