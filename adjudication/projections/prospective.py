"""Prospective payments per payer x practice x month (DOMAIN.md §4), paid at each epoch boundary
for the months of the coming epoch, and the true-up of earlier months when attribution or
enrollment for them changed (a correction: recoup from one practice, pay the other).

Each payment carries, in `detail`, its `basis` (the rates and inputs it was figured from) and
`members` (cents per member), so an auditor can recompute it and a later true-up can recoup
exactly what was paid. A member counts for a month if eligible and attributed on its first day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from claimsim.events.envelope import new_event
from claimsim.events.ledger import ProspectivePayment
from claimsim.events.money import BP_ONE, div_round_half_up, apply_rates
from claimsim.events.programs import PaymentKind, ProgramKind, ProgramSettings

from claimsim.adjudication.projections.claims_quality import score_before
from claimsim.adjudication.projections.fold.claims import VD_QUALIFYING
from claimsim.adjudication.projections.fold.timelines import S_RISK_GROUP
from claimsim.adjudication.projections.risk import FACT_RISK, cmf_tier, risk_adjusted
from claimsim.events.calendar import add_months, months_from
from claimsim.adjudication.projections.status import is_active

if TYPE_CHECKING:
    from claimsim.adjudication.projections.state import PayerState

KINDS: dict[ProgramKind, tuple[PaymentKind, ...]] = {
    ProgramKind.FFS: (),
    ProgramKind.CPCP_T1: (PaymentKind.CMF, PaymentKind.PBIP),
    ProgramKind.CPCP_T2: (PaymentKind.CMF, PaymentKind.CPCP, PaymentKind.PBIP),
    ProgramKind.PCF: (PaymentKind.PBP,),
    ProgramKind.MCP_T1: (PaymentKind.ESP,),
    ProgramKind.MCP_T2: (PaymentKind.ESP, PaymentKind.PPCP),
    ProgramKind.MCP_T3: (PaymentKind.ESP, PaymentKind.PPCP),
    ProgramKind.FULL_CAP: (PaymentKind.PPCP,),
}
# The kinds paid per member per month, which the true-up recomputes for a month's members. Not
# PCF's performance adjustment on flat fees (`flat_fee_performance`): it is figured on visits
# paid, not on who was attributed in a month, so a later attribution change leaves it alone.
PER_MEMBER_MONTH = frozenset(k.value for kinds in KINDS.values() for k in kinds)


def expected_ffs(state: PayerState, payer: str, practice: str, groups: frozenset[str],
                 members: list[str], as_of: str) -> tuple[int, int]:
    """(FFS the payer paid or owed — allowed less member cost share — on the program's capitated
    services at this practice for these members, their member months), over the expected-FFS
    lookback before `as_of`."""
    months = months_from(add_months(as_of, -state.settings.expected_ffs_lookback_months)[:7],
                         add_months(as_of, -1)[:7])
    allowed = member_months = 0
    first, last = months[0], months[-1]
    days = [month + "-01" for month in months]
    enrolled_on = state.enrolled_on
    for mid in members:
        for p, month, group, amount in state.ffs.get(mid, ()):
            if p == practice and first <= month <= last and group in groups:
                allowed += amount
        for day in days:
            member_months += enrolled_on(mid, payer, day)
    return allowed, member_months


def leakage_bp(state: PayerState, practice: str, members: list[str], as_of: str) -> tuple[int, int, int]:
    """PCF leakage rate: qualifying primary-care visits of the practice's attributed members at
    other practices / all their qualifying visits, over the leakage lookback. (rate bp, other, all)"""
    since = add_months(as_of, -state.settings.leakage_lookback_months)
    other = total = 0
    for mid in members:
        for key, counts in state.visit_days(mid).items():
            p, day = key.split("|")
            if counts[VD_QUALIFYING] > 0 and since <= day < as_of:
                total += 1
                other += p != practice
    return (div_round_half_up(other * BP_ONE, total) if total else 0), other, total


def performance_bp(state: PayerState, payer: str, practice: str,
                   as_of: str) -> tuple[int, int | None, dict[str, Any]]:
    """PCF performance adjustment by the `pcf_performance_map` setting from the practice's quality
    score: the latest reported for a performance year up to `as_of`'s year, or, when the setting
    `quality_source` is "claims", the claims-based score of its members attributed on `as_of` over
    the lookback before it (`claims_quality.score_before`); 0 without a score. Returns (adjustment,
    score, the claims-based measures for the payment's basis: empty for a reported score)."""
    extra: dict[str, Any] = {}
    if state.settings.quality_source == "claims":
        measured = score_before(state, payer, practice, as_of)
        quality, extra = measured.score_bp, measured.detail()
    else:
        reports = state.quality.get(f"{payer}|{practice}", {})
        years = [y for y in reports if int(y) <= int(as_of[:4])]
        quality = reports[max(years, key=int)][0] if years else None
    if quality is None:
        return 0, None, extra
    adjustment = 0
    for threshold, adj in state.settings.pcf_performance_map:
        if quality >= threshold:
            adjustment = adj
    return adjustment, quality, extra


def payment_basis(state: PayerState, payer: str, practice: str, program: ProgramSettings,
                  members: list[str], as_of: str, year: int,
                  performance: dict[str, tuple] | None = None) -> dict[str, dict[str, Any]]:
    """Per payment kind of the program, the inputs a per-member amount is figured from.
    `performance` keeps each practice's PCF performance adjustment across the months paid at one
    boundary (it depends on the boundary, not the month)."""
    figures = program.figures_for(year)
    out: dict[str, dict[str, Any]] = {}
    groups = frozenset(g.value for g in program.capitated_groups)
    for kind in KINDS[program.kind]:
        if kind is PaymentKind.CMF:
            out[kind] = {"cmf_by_tier": list(figures.cmf_by_tier),
                         "track2": program.kind is ProgramKind.CPCP_T2}
        elif kind is PaymentKind.PBIP:
            out[kind] = {"pbpm": figures.pbip_pmpm}
        elif kind in (PaymentKind.CPCP, PaymentKind.PPCP):
            allowed, mm = expected_ffs(state, payer, practice, groups, members, as_of)
            h = program.hybrid_bp
            if kind is PaymentKind.CPCP:
                # CPCP = expected FFS PBPM x h x (1 + enhancement), one rounding for the chain.
                enh = BP_ONE + program.cpcp_enhancement_bp
                pbpm = div_round_half_up(allowed * h * enh, mm * BP_ONE * BP_ONE) if mm else 0
                out[kind] = {"expected_ffs": allowed, "member_months": mm, "hybrid_bp": h,
                             "enhancement_bp": program.cpcp_enhancement_bp, "pbpm": pbpm}
            else:
                pbpm = div_round_half_up(allowed * h, mm * BP_ONE) if mm else 0
                out[kind] = {"expected_ffs": allowed, "member_months": mm, "hybrid_bp": h,
                             "pbpm": pbpm}
        elif kind is PaymentKind.PBP:
            entry = state.status_on(payer, practice, as_of)
            group = (entry[S_RISK_GROUP] if entry and entry[S_RISK_GROUP] else 1)
            table = figures.pbp_by_group
            base = table[min(group, len(table)) - 1] if table else 0
            leak, other, total = (leakage_bp(state, practice, members, as_of)
                                  if program.leakage_adjustment else (0, 0, 0))
            if performance is None:
                performance = {}
            if practice not in performance:
                performance[practice] = performance_bp(state, payer, practice, as_of)
            perf, quality, measured = performance[practice]
            # PBP x (1 - leakage rate) x (1 + performance adjustment), rounded once.
            pbpm = apply_rates(base, BP_ONE - leak, BP_ONE + perf)
            out[kind] = {"risk_group": group, "pbp": base, "leakage_bp": leak,
                         "leakage_visits": other, "qualifying_visits": total,
                         "performance_bp": perf, "quality_bp": quality, "pbpm": pbpm,
                         **measured}
        elif kind is PaymentKind.ESP:
            out[kind] = {"esp_pmpm": figures.esp_pmpm, "cap_milli": program.risk_adjust_cap_milli}
    return out


def member_amount(kind: str, basis: dict[str, Any], fact: list[int] | None) -> int:
    """One member's payment of `kind` for one month from its basis and the member's risk facts."""
    if kind == PaymentKind.CMF:
        table = basis["cmf_by_tier"]
        tier = cmf_tier(fact, basis["track2"]) if fact else 1
        return table[min(tier, len(table)) - 1] if table else 0
    if kind == PaymentKind.ESP:
        return risk_adjusted(basis["esp_pmpm"], fact[FACT_RISK] if fact else 1000, basis["cap_milli"])
    return basis["pbpm"]


def _payment(payer: str, practice: str, month: str, kind: str, cents: dict[str, int],
             basis: dict[str, Any] | None, at: str, cause: int | None,
             adjusts: str | None = None) -> dict[str, Any] | None:
    if not any(cents.values()):
        return None
    detail: dict[str, Any] = {"members": dict(sorted(cents.items()))}
    if basis is not None:
        detail["basis"] = basis
    # Member months: on a true-up, members added less members recouped.
    mm = len(cents) if adjusts is None else sum((v > 0) - (v < 0) for v in cents.values())
    event = ProspectivePayment(payer_id=payer, practice_id=practice, month=month, kind=kind,
                               amount=sum(cents.values()), member_months=mm,
                               adjusts_month=adjusts, detail=detail)
    return new_event(event, at=at, key=practice, cause=cause)


def epoch_payments(state: PayerState, payer: str, as_of: str, months: list[str], *,
                   cause: int | None = None) -> list[dict[str, Any]]:
    """Every program practice's prospective payments for `months` (YYYY-MM), paid at `as_of`.

    Nothing for a practice whose status is inactive (minimum volume) on the month's first day.
    """
    return [e for batch in epoch_payment_batches(state, payer, as_of, months, cause=cause)
            for e in batch]


def epoch_payment_batches(state: PayerState, payer: str, as_of: str, months: list[str], *,
                          cause: int | None = None) -> Iterator[list[dict[str, Any]]]:
    """`epoch_payments`, one practice's payments at a time (each made when asked for, none
    empty). Each event carries its members' amounts, so a payer's whole batch at a payer's
    scale held every attributed member several times over (the amounts, the event's model and
    its JSON form) at once. The events are the same whether the caller folds each batch before
    asking for the next: a practice's payments read the attribution, status and risk facts,
    which payments do not change."""
    boundary_members: dict[str, list[str]] = {}
    performance: dict[str, tuple] = {}
    on_day: dict[str, dict[str, list[str]]] = {}  # day -> practice -> members (computed once)

    def members_on(practice: str, day: str) -> list[str]:
        if day not in on_day:
            on_day[day] = state.members_by_practice(payer, day)
        return on_day[day].get(practice, [])

    for practice in sorted(p.practice_id for p in state.reference.practices):
        events = []
        for month in months:
            day1 = month + "-01"
            contract = state.reference.contract_on(payer, practice, dt.date.fromisoformat(day1))
            if contract is None or not KINDS[contract.program.kind]:
                continue
            if not is_active(state, payer, practice, day1):
                continue
            members = members_on(practice, day1)
            if not members:
                continue
            if practice not in boundary_members:
                boundary_members[practice] = members_on(practice, as_of)
            basis = payment_basis(state, payer, practice, contract.program,
                                  boundary_members[practice], as_of, int(month[:4]), performance)
            facts = state.facts_on(payer, day1)
            for kind, b in basis.items():
                cents = {m: member_amount(kind, b, facts.get(m)) for m in members}
                event = _payment(payer, practice, month, kind, cents, b, as_of, cause)
                if event is not None:
                    events.append(event)
        if events:
            yield events


def true_up(state: PayerState, payer: str, as_of: str, *, cause: int | None = None) -> list[dict[str, Any]]:
    """Adjustments, paid in `as_of`'s month, for months already paid whose members changed (an
    attribution correction or a late enrollment change, for the members the fold has marked):
    each practice is recouped what it was paid for members it should not have had and paid, at
    its own basis for that month, for members it should have had. Only the per-member-month
    kinds (`PER_MEMBER_MONTH`): the performance adjustment on flat fees is not one."""
    paying_month = as_of[:7]
    by_month: dict[str, list[str]] = {}
    for key in sorted(state.paid_basis):
        p, practice, month = key.split("|")
        if p == payer and month + "-01" < as_of and any(k in PER_MEMBER_MONTH
                                                        for k in state.paid_basis[key]):
            by_month.setdefault(month, []).append(practice)
    diffs: dict[tuple[str, str, str], dict[str, int]] = {}
    # The members marked at this boundary, and any marked since (corrections recorded at it), so
    # a correction is settled at the first boundary that sees it.
    marked = set(state.trueup) | set(state.dirty)
    paid_at = _paid_practices(state, payer, by_month, marked)
    month_practices = {month: set(practices) for month, practices in by_month.items()}
    # The marked members ever enrolled with the payer, in id order (a first boundary marks every
    # member of every payer).
    for mid in [m for m in state.payer_members(payer) if m in marked]:
        for month in by_month:
            day1 = month + "-01"
            home = state.attributed_on(mid, day1) if state.eligible_on(mid, payer, day1) else None
            fact = state.facts_on(payer, day1).get(mid)
            # Only a practice paid for the member that month or due for it (its home) can differ.
            paid_by = paid_at.get((mid, month), ())
            due_or_paid = {paid_by} if isinstance(paid_by, str) else set(paid_by)
            if home in month_practices[month]:
                due_or_paid.add(home)
            for practice in sorted(due_or_paid):
                key = f"{payer}|{practice}|{month}"
                for kind, b in state.paid_basis[key].items():
                    if kind not in PER_MEMBER_MONTH:
                        continue
                    paid = state.paid.cents(key, kind, mid)
                    due = (member_amount(kind, b, fact)
                           if home == practice and is_active(state, payer, practice, day1) else 0)
                    if due != paid:
                        diffs.setdefault((practice, month, kind), {})[mid] = due - paid
    events = []
    for (practice, month, kind), cents in sorted(diffs.items()):
        event = _payment(payer, practice, paying_month, kind, cents, None, as_of, cause,
                         adjusts=month)
        if event is not None:
            events.append(event)
    return events


def _paid_practices(state: PayerState, payer: str, by_month: dict[str, list[str]],
                    marked: set[str]) -> dict[tuple[str, str], str | tuple[str, ...]]:
    """(member, month) -> the practice paid anything for the member that month (a tuple of them
    when several were), for the marked members: one pass over the payer's paid member lists.
    Asking every practice of every paid month about every marked member was members x
    practices: at a million members, some 100,000 marked members x 3 months x 800 practices held
    one boundary for minutes."""
    found: dict[tuple[str, str], str | tuple[str, ...]] = {}
    for month, practices in by_month.items():
        for practice in practices:
            key = f"{payer}|{practice}|{month}"
            for kind in state.paid_basis[key]:
                if kind not in PER_MEMBER_MONTH:
                    continue
                for mid in state.paid.members(key, kind):
                    if mid in marked:
                        _add_practice(found, (mid, month), practice)
    return found


def _add_practice(found: dict[tuple[str, str], str | tuple[str, ...]], key: tuple[str, str],
                  practice: str) -> None:
    """Add `practice` to `found[key]`: one practice is kept as its string (most members have
    one a month), several as a tuple, each once."""
    had = found.get(key)
    if had is None or had == practice:
        found[key] = practice
    elif isinstance(had, str):
        found[key] = (had, practice)
    elif practice not in had:
        found[key] = (*had, practice)
