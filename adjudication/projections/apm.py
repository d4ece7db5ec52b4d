"""APM adoption by the LAN APM Framework (2017 refresh) and participation in value-based primary
care (DOMAIN.md §9): dollars and % of total per LAN category under either classification
convention, per payer x year and all payers together; practices and attributed members in
value-based models; each practice's prospective share of revenue across all payers.

Choices where DOMAIN.md is silent:
- Claims paid FFS count in category 1 under the by-payment convention, whatever the contract
  (PCF's flat visit fees too: they are a fee per visit, not a population-based payment).
- Full capitation's prospective payment (PPCP) is 4B; every other primary care prospective
  payment is 4A. The PCF performance adjustment is 2C, as DOMAIN.md §9 lists it (pay for
  performance, upside and downside): the part of the PBP it moved, and all of its payment on
  the flat fees (`pba_flat_fee`), which is an adjustment for performance on fee-per-visit
  payments, not a population-based payment of its own.
- Contract-level convention: each program's most advanced category (FFS 1, CPC+ Track 1 2C, MCP
  Track 1 and every hybrid program 4A, full capitation 4B) takes every dollar paid under it,
  claims lines by the contract in force on the service date, payments by the paying contract.
- A practice "participates" in a year when it holds a non-FFS contract that is active (meets
  minimum volume) on the year's last covered day `as_of`; members count when attributed on
  `as_of` to a participating practice, out of members eligible that day.
- A practice's prospective share meets MCP's aim when it is between 50 % and 100 %.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from claimsim.events.programs import PaymentKind, ProgramKind
from claimsim.events.providers import PracticeKind
from claimsim.events.reference import ReferenceData

from claimsim.adjudication.projections.aligned_facts import AlignedFacts
from claimsim.adjudication.projections.fold.timelines import S_ACTIVE
from claimsim.adjudication.projections.primary_care_spend import ALL, share_bp
from claimsim.adjudication.projections.state import PayerState

CATEGORIES = ("1", "2A", "2C", "3A/3B", "4A", "4B")
BY_PAYMENT, BY_CONTRACT = "payment", "contract"
KIND_CATEGORY = {PaymentKind.CMF.value: "2A", PaymentKind.PBIP.value: "2C",
                 PaymentKind.CPCP.value: "4A", PaymentKind.PBP.value: "4A",
                 PaymentKind.ESP.value: "4A", PaymentKind.PPCP.value: "4A",
                 PaymentKind.PBA_FLAT_FEE.value: "2C"}
CONTRACT_CATEGORY = {ProgramKind.FFS.value: "1", ProgramKind.CPCP_T1.value: "2C",
                     ProgramKind.CPCP_T2.value: "4A", ProgramKind.PCF.value: "4A",
                     ProgramKind.MCP_T1.value: "4A", ProgramKind.MCP_T2.value: "4A",
                     ProgramKind.MCP_T3.value: "4A", ProgramKind.FULL_CAP.value: "4B"}
MCP_PROSPECTIVE_AIM_BP = (5000, 10_000)


def _program_of(reference: ReferenceData, payer: str, practice: str, year: str) -> str:
    """The program of the practice's contract in force on the year's last day it had one."""
    for day in (dt.date(int(year), 12, 31), dt.date(int(year), 1, 1)):
        c = reference.contract_on(payer, practice, day)
        if c is not None:
            return c.program.kind.value
    return ProgramKind.FFS.value


def category_dollars(facts: AlignedFacts, reference: ReferenceData,
                     convention: str) -> dict[tuple[str, str], dict[str, int]]:
    """(payer, year) -> {category: cents paid}."""
    if convention not in (BY_PAYMENT, BY_CONTRACT):
        raise ValueError(f"APM convention must be {BY_PAYMENT!r} or {BY_CONTRACT!r}, got {convention!r}")
    out: dict[tuple[str, str], dict[str, int]] = {}

    def add(payer: str, year: str, category: str, amount: int) -> None:
        cats = out.setdefault((payer, year), dict.fromkeys(CATEGORIES, 0))
        cats[category] += amount

    for key, paid in facts.contract_paid.items():
        payer, _practice, year, program = key.split("|")
        add(payer, year, "1" if convention == BY_PAYMENT else CONTRACT_CATEGORY[program], paid)
    for key, amount in facts.prospective.items():
        payer, practice, year, kind = key.split("|")
        program = _program_of(reference, payer, practice, year)
        if convention == BY_CONTRACT:
            add(payer, year, CONTRACT_CATEGORY[program], amount)
            continue
        category = "4B" if program == ProgramKind.FULL_CAP.value else KIND_CATEGORY[kind]
        perf = facts.performance.get(f"{payer}|{practice}|{year}", 0) if kind == PaymentKind.PBP.value else 0
        add(payer, year, category, amount - perf)
        if perf:
            add(payer, year, "2C", perf)
    return out


def apm_rows(facts: AlignedFacts, reference: ReferenceData,
             convention: str = BY_PAYMENT) -> list[dict[str, Any]]:
    """Per payer x year (then all payers): dollars and % of total per LAN category."""
    by_key = category_dollars(facts, reference, convention)
    totals: dict[str, dict[str, int]] = {}
    for (_, year), cats in by_key.items():
        t = totals.setdefault(year, dict.fromkeys(CATEGORIES, 0))
        for c, v in cats.items():
            t[c] += v
    rows = []
    for (payer, year), cats in [*sorted(by_key.items()), *sorted(((ALL, y), t) for y, t in totals.items())]:
        total = sum(cats.values())
        row: dict[str, Any] = {"payer_id": payer, "year": int(year), "convention": convention,
                               "total": total}
        for c in CATEGORIES:
            name = "cat_" + c.replace("/", "_")
            row[name] = cats[c]
            row[name + "_bp"] = share_bp(cats[c], total)
        rows.append(row)
    return rows


def participation_rows(state: PayerState, as_of: str) -> list[dict[str, Any]]:
    """Per payer (then all): primary-care practices and eligible members in value-based models."""
    pc_practices = sorted(p.practice_id for p in state.reference.practices
                          if p.kind is PracticeKind.PRIMARY_CARE)
    day = dt.date.fromisoformat(as_of)
    rows, all_in, all_members, all_attr = [], set(), 0, 0
    for payer in sorted(p.payer_id for p in state.reference.payers):
        inside = set()
        for practice in pc_practices:
            contract = state.reference.contract_on(payer, practice, day)
            status = state.status_on(payer, practice, as_of)
            if (contract is not None and contract.program.kind is not ProgramKind.FFS
                    and status is not None and status[S_ACTIVE]):
                inside.add(practice)
        members = attributed = 0
        for mid in state.payer_members(payer):
            if state.eligible_on(mid, payer, as_of):
                members += 1
                attributed += state.attributed_on(mid, as_of) in inside
        all_in |= inside
        all_members, all_attr = all_members + members, all_attr + attributed
        rows.append(_participation(payer, as_of, len(inside), len(pc_practices), attributed, members))
    rows.append(_participation(ALL, as_of, len(all_in), len(pc_practices), all_attr, all_members))
    return rows


def _participation(payer: str, as_of: str, practices: int, of: int, members: int,
                   of_members: int) -> dict[str, Any]:
    return {"payer_id": payer, "as_of": as_of, "practices_in_vbp": practices,
            "primary_care_practices": of, "practices_in_vbp_bp": share_bp(practices, of),
            "members_in_vbp": members, "eligible_members": of_members,
            "members_in_vbp_bp": share_bp(members, of_members)}


def practice_share_rows(facts: AlignedFacts, reference: ReferenceData) -> list[dict[str, Any]]:
    """Each primary-care practice x year: prospective ÷ (prospective + FFS paid) over all payers."""
    pc = {p.practice_id for p in reference.practices if p.kind is PracticeKind.PRIMARY_CARE}
    sums: dict[tuple[str, str], list[int]] = {}
    for key, paid in facts.practice_ffs.items():
        _, practice, year = key.split("|")
        if practice in pc:
            sums.setdefault((practice, year), [0, 0])[0] += paid
    for key, amount in facts.prospective.items():
        _, practice, year, _ = key.split("|")
        if practice in pc:
            sums.setdefault((practice, year), [0, 0])[1] += amount
    lo, hi = MCP_PROSPECTIVE_AIM_BP
    rows = []
    for (practice, year), (ffs, prospective) in sorted(sums.items()):
        share = share_bp(prospective, ffs + prospective)
        rows.append({"practice_id": practice, "year": int(year), "ffs_paid": ffs,
                     "prospective": prospective, "prospective_share_bp": share,
                     "meets_mcp_50_100": lo <= share <= hi})
    return rows
