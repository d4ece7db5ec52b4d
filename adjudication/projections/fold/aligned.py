"""The aligned-payer facts' fold (`aligned_facts.AlignedFacts`, DOMAIN.md §9): a run's raw
envelopes of either log, the input log first, into the facts the aligned reports are made of.
Compiled with the rest of the fold (mypyc, setup.py's GROUPS); this source stays the reference.

It reads every claim of both logs, so the per-line work is what it costs: what depends only on a
line's service date (its year's keys and spend row, the contract's program) is found once per run
of lines on one date (a claim's lines mostly share one), the service test is one set lookup
(`aligned_facts.pc_procedures`), as are the place and provider tests of a claim, and a service
date is parsed once per run.
"""

from __future__ import annotations

import datetime as dt
from array import array
from typing import Any, Final

from claimsim.events.codes import ICD10_CONDITION
from claimsim.events.money import div_round_half_up
from claimsim.events.programs import PaymentKind, ProgramKind
from claimsim.events.reference import ReferenceData
from claimsim.events.timeline import contract_spans, span_on

from claimsim.adjudication.projections.aligned_facts import (DEMOGRAPHICS, M_COST_SHARE,
                                                             QUALITY_CODES, S_ALLOWED, S_PAID,
                                                             S_PC_ALLOWED, S_PC_PAID, SITE_PLACE,
                                                             SITE_PROVIDER, SPEND_WIDTH,
                                                             AlignedFacts, MemberFacts,
                                                             pc_clinicians, pc_procedures,
                                                             service_day)
from claimsim.adjudication.projections.flat_fee_performance import by_year

SITE_BOTH: Final = SITE_PLACE | SITE_PROVIDER
FFS: Final = ProgramKind.FFS.value
PBA_FLAT_FEE: Final = PaymentKind.PBA_FLAT_FEE.value
# A diagnosis code's chronic condition, as the string the facts hold.
CONDITION_OF: Final = {code: condition.value for code, condition in ICD10_CONDITION.items()}
MEMBER_ROW: Final = bytes(8 * (SPEND_WIDTH + 1))  # a member's zeroed S_* + M_COST_SHARE row
_UNSEEN: Final = object()  # no service date yet (`AlignedFold._lines`)


class AlignedFold:
    """Feeds `AlignedFacts` from raw envelopes of either log (`apply`), like `PayerState`."""

    def __init__(self, reference: ReferenceData, services: frozenset[str], places: frozenset[str]):
        self.reference, self.services, self.places = reference, services, places
        self.facts = AlignedFacts()
        self._texts: dict[str, str] = {}
        # Procedures and NPIs that pass OHCA's service and provider tests; each payer x
        # practice's contracts as `span_on` spans of their program kind (what
        # `reference.contract_on` answers).
        self.pc_codes, self.pc_npis = pc_procedures(services), pc_clinicians(reference)
        self._programs: dict[tuple[str, str], list[tuple[Any, Any, Any]]] = contract_spans(
            reference.contracts, lambda c: c.program.kind.value)
        self._days: dict[Any, dt.date] = {}

    def apply(self, env: dict[str, Any]) -> None:
        """Fold one envelope. A run's whole input log goes before its ledger (`fold_facts`): a
        claim's site is known by the time the ledger answers it, and every original that a
        replacement or void names is known before the ledger pays it."""
        kind = env["type"]
        if kind == "claim.submitted":
            self._claim_submitted(env["data"], env.get("seq"))
        elif kind == "claim.adjudicated":
            self._claim_adjudicated(env["data"], env.get("cause"))
        elif kind == "claim.reversed":
            self._claim_reversed(env["data"])
        elif kind == "payment.prospective":
            self._payment_prospective(env["data"])
        elif kind == "member.enrolled":
            self._member_enrolled(env["data"])
        elif kind == "member.terminated":
            self._member_terminated(env["data"])

    # -- input log ---------------------------------------------------------------------------
    def _member_enrolled(self, d: dict[str, Any]) -> None:
        members = self.facts.members
        m = members.get(d["member_id"])
        if m is None:
            m = members[d["member_id"]] = MemberFacts(d["payer_id"])
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

    def _claim_submitted(self, d: dict[str, Any], seq: Any = None) -> None:
        claim = d.get("claim")
        if not isinstance(claim, dict) or not isinstance(claim.get("claim_id"), str):
            return  # malformed: the ledger rejects it, and it has no lines to count
        f, member = self.facts, claim.get("member_id")
        npi, pos = claim.get("rendering_npi"), claim.get("place_of_service")
        site = ((SITE_PLACE if isinstance(pos, str) and pos in self.places else 0)  # `site_of`
                | (SITE_PROVIDER if isinstance(npi, str) and npi in self.pc_npis else 0))
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
        if isinstance(member, str):
            self._conditions(member, claim.get("lines") or ())

    def _conditions(self, member: str, lines: Any) -> None:
        """The chronic conditions of a submitted claim's diagnoses, by member x service year. A
        claim's lines mostly repeat its diagnoses on one date: a line whose codes and year are the
        previous line's adds nothing to the year's set."""
        diagnoses: dict[str, set[str]] = self.facts.diagnoses
        seen: Any = None
        for line in lines:
            if not isinstance(line, dict):
                continue
            day, codes = line.get("service_date"), line.get("diagnoses")
            if not isinstance(day, str) or not codes or (day[:4], codes) == seen:
                continue
            seen, key = (day[:4], codes), f"{member}|{day[:4]}"
            for code in codes:
                condition = CONDITION_OF.get(code) if isinstance(code, str) else None
                if condition is not None:
                    found = diagnoses.get(key)
                    if found is None:
                        found = diagnoses[key] = set()
                    found.add(condition)

    # -- ledger --------------------------------------------------------------------------------
    def _claim_adjudicated(self, d: dict[str, Any], cause: Any = None) -> None:
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
        """Fold a claim's lines done at `site` (SITE_* bits; 0 when unknown: not primary care):
        the spend row of payer x year, the member's run totals (both S_* rows, `_spent`'s sums
        inlined), FFS paid by practice and by contract program, the quality procedures. A ledger
        entry's lines are dicts and its amounts ints (the engine writes them; compiled, another
        type is a TypeError)."""
        f, payer, practice = self.facts, d["payer_id"], d["practice_id"]
        spend_of, totals_of, ffs, by_program = f.spend, f.member_totals, f.practice_ffs, f.contract_paid
        at_site, pc_codes = site & SITE_BOTH == SITE_BOTH, self.pc_codes
        spans = self._programs.get((payer, practice), [])
        day: Any = _UNSEEN
        year = ffs_key = program_key = ""
        spend: list[int] = []
        for line in lines:
            if line["service_date"] != day:
                day = line["service_date"]
                year = str(day)[:4]
                found = spend_of.get(f"{payer}|{year}")
                spend = found if found is not None else spend_of.setdefault(f"{payer}|{year}",
                                                                            [0] * SPEND_WIDTH)
                ffs_key = f"{payer}|{practice}|{year}"
                program_key = f"{ffs_key}|{span_on(spans, self._day(day)) or FFS}"
            paid: int = line["plan_paid"]
            cost_share: int = line["cost_share"]
            procedure, member = line["procedure"], line["member_id"]
            # A line's cost share is its PR amount, a QMB member's part (which Medicaid pays)
            # included: allowed = plan paid + cost share; what the member owes is the rest.
            qmb: int = line.get("medicaid_cost_share", 0)
            allowed: int = paid + cost_share
            totals = totals_of.get(member)
            if totals is None:
                totals = totals_of[member] = array("q", MEMBER_ROW)
            spend[S_PAID] += paid
            spend[S_ALLOWED] += allowed
            totals[S_PAID] += paid
            totals[S_ALLOWED] += allowed
            if at_site and procedure in pc_codes:  # OHCA's three criteria (`line_criteria`)
                spend[S_PC_PAID] += paid
                spend[S_PC_ALLOWED] += allowed
                totals[S_PC_PAID] += paid
                totals[S_PC_ALLOWED] += allowed
            totals[M_COST_SHARE] += cost_share - qmb
            ffs[ffs_key] = ffs.get(ffs_key, 0) + paid
            by_program[program_key] = by_program.get(program_key, 0) + paid
            if procedure in QUALITY_CODES and line.get("status", "paid") != "denied":
                done = f.procedures.setdefault(f"{member}|{year}", {})
                done[procedure] = done.get(procedure, 0) + sign

    def _day(self, day: Any) -> dt.date:
        """A service date as a date, parsed once a run (a run has a few hundred distinct days)."""
        found = self._days.get(day)
        if found is None:
            found = self._days[day] = service_day(day)
        return found

    def _payment_prospective(self, d: dict[str, Any]) -> None:
        f = self.facts
        basis = (d.get("detail") or {}).get("basis") or {}
        if d["kind"] == PBA_FLAT_FEE:
            # In the years of the visits it adjusts (its basis splits it), wherever it was paid.
            for year, amount in by_year(basis).items():
                key = f"{d['payer_id']}|{d['practice_id']}|{year}|{PBA_FLAT_FEE}"
                f.prospective[key] = f.prospective.get(key, 0) + amount
            return
        year = (d.get("adjusts_month") or d["month"])[:4]
        key = f"{d['payer_id']}|{d['practice_id']}|{year}"
        f.prospective[f"{key}|{d['kind']}"] = f.prospective.get(f"{key}|{d['kind']}", 0) + d["amount"]
        if basis.get("quality_source") == "claims":
            f.pcf_scores.setdefault(f"{d['payer_id']}|{d['practice_id']}|{basis['quality_period']}", basis)
        perf = basis.get("performance_bp") or 0  # in the PBP payment's basis
        if perf:
            # PBP x (1 - leakage) x (1 + perf): the part the performance adjustment moved.
            base = div_round_half_up(d["amount"] * 10_000, 10_000 + perf)
            f.performance[key] = f.performance.get(key, 0) + (d["amount"] - base)
