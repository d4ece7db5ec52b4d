"""`audit explain`: a claim's story (every input and ledger entry that touched it, each line's
arithmetic: `claim_story`), a practice-month's payment (how the net was made, down to the members
paid for and the claims paid), and a member's attribution (the evidence and the rule that
decided). Text for people; the numbers come from the logs as written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from claimsim.events.errors import UserError
from claimsim.events.money import dollars

from claimsim.adjudication.audit.positions import LedgerSpan
from claimsim.adjudication.audit.run_dir import fold, require_run
from claimsim.adjudication.projections.snapshots import figures
from claimsim.adjudication.projections.state import PayerState


def explain_claim(run_dir: Path | str, claim_id: str) -> list[str]:
    """A claim's story with each line's arithmetic (see `claim_story`)."""
    from claimsim.adjudication.audit.claim_story import explain_claim as story

    return story(require_run(run_dir), claim_id)


def _pct(bp: int) -> str:
    return f"{bp / 100:g} %"


def _claims_quality(basis: dict[str, Any]) -> str:
    """A claims-based score's measures, as recorded in the payment's basis."""
    if basis.get("quality_source") != "claims":
        return ""
    return (f" from claims {basis['quality_period']}: AWV {basis['awv_members']} of"
            f" {basis['medicare_members']} Medicare members ({_pct(basis['awv_rate_bp'])}), HbA1c"
            f" tested {basis['hba1c_tested']} of {basis['diabetic_members']} members with diabetes"
            f" ({_pct(basis['hba1c_rate_bp'])})")


def payment_formula(d: dict[str, Any]) -> str:
    """A prospective payment's arithmetic in dollars and rates, from its recorded basis."""
    basis = (d.get("detail") or {}).get("basis") or {}
    kind, mm, amount = d["kind"], d.get("member_months", 0), d["amount"]
    total = f"x {mm} member month(s) = {dollars(amount)}"
    if kind in ("cpcp", "ppcp") and basis:
        per = (f"expected FFS {dollars(basis['expected_ffs'])} over {basis['member_months']} member"
               f" months, x h {_pct(basis['hybrid_bp'])}")
        if kind == "cpcp":
            per += f" x (1 + enhancement {_pct(basis['enhancement_bp'])})"
        return f"{kind.upper()} PBPM = {per} = {dollars(basis['pbpm'])}; {total}"
    if kind == "pbp" and basis:
        leak = (f" x (1 - leakage {_pct(basis['leakage_bp'])}: {basis['leakage_visits']} of"
                f" {basis['qualifying_visits']} qualifying visits elsewhere)")
        perf = (f" x (1 + performance {_pct(basis['performance_bp'])}"
                + (f", quality {_pct(basis['quality_bp'])}" if basis.get("quality_bp") is not None else "")
                + _claims_quality(basis) + ")")
        return (f"PBP PBPM = risk group {basis['risk_group']} {dollars(basis['pbp'])}{leak}{perf}"
                f" = {dollars(basis['pbpm'])}; {total}")
    if kind == "cmf" and basis:
        tiers = " / ".join(dollars(c) for c in basis["cmf_by_tier"])
        return (f"CMF by member risk tier ({tiers}), summed over {mm} member month(s) ="
                f" {dollars(amount)} (average {dollars(amount // mm if mm else 0)} PBPM)")
    if kind == "esp" and basis:
        return (f"ESP {dollars(basis['esp_pmpm'])} PBPM x each member's risk score (capped at"
                f" {basis['cap_milli'] / 1000:g}), summed over {mm} member month(s) = {dollars(amount)}")
    if kind == "pbip" and basis:
        return f"PBIP PBPM = {dollars(basis['pbpm'])}; {total}"
    if kind == "pba_flat_fee" and basis:
        return _flat_fee_formula(basis, amount)
    return f"{kind.upper()} {dollars(amount)} over {mm} member month(s) (members added less members recouped)"


def _flat_fee_formula(basis: dict[str, Any], amount: int) -> str:
    """PCF's performance adjustment on flat fees: each rate on the flat fees it applies to."""
    since = basis.get("after_boundary") or "the ledger's start"
    parts = [f"{_pct(r['performance_bp'])} x {dollars(r['plan_paid'])} flat fees ({r['year']})"
             f" = {dollars(r['amount'])}" for r in basis["rates"]]
    return (f"performance adjustment on flat visit fees paid after {since} up to"
            f" {basis['boundary']} (ledger seq {basis['first_seq']}-{basis['last_seq']}; service"
            f" months {', '.join(basis['months'])}): " + "; ".join(parts)
            + f"; rounded per member = {dollars(amount)}")


def explain_payment(run_dir: Path | str, practice: str, month: str) -> list[str]:
    """How a practice's net for a month was made, per payer, from the ledger as written."""
    run_dir = require_run(run_dir)
    payments: list[dict[str, Any]] = []
    claims: dict[str, list[tuple[str, str, int]]] = {}

    def collect(env: dict[str, Any]) -> None:
        d = env["data"]
        if env["type"] == "payment.prospective" and d["practice_id"] == practice and (
                d["month"] == month or d.get("adjusts_month") == month):
            payments.append(env)
        elif env["type"] in ("claim.adjudicated", "claim.reversed") and d["practice_id"] == practice \
                and str(d["paid"])[:7] == month:
            paid = sum(line["plan_paid"] for f in ("lines", "reversed_lines") for line in d.get(f, ()))
            claims.setdefault(d["payer_id"], []).append((d["claim_id"], d["member_id"], paid))

    state: PayerState = fold(run_dir, on_event=collect)
    if practice not in state.reference.practice:
        raise UserError(f"{run_dir}/reference.json: no practice {practice!r}")
    out = []
    payers = sorted({p.payer_id for p in state.reference.payers})
    for payer in payers:
        f = figures(state, payer, practice, month)
        if not any(v for k, v in f.items() if k != "program_active"):
            continue
        out.append(f"{payer} / {practice} / {month}: net {dollars(f['net'])} = prospective"
                   f" {dollars(f['prospective_total'])} + adjustments {dollars(f['prospective_adjustments'])}"
                   f" + FFS paid in the month {dollars(f['ffs_paid_by_paid_date'])}")
        out.append(f"  member months {f['member_months']}"
                   + (_why_no_members(state, payer, practice, month) if not f["member_months"]
                      else "")
                   + f"; program active: {'yes' if f['program_active'] else 'no'}"
                   + (" (minimum volume: paid as FFS)" if f["minimum_volume_fallback"] else ""))
        for env in payments:
            if env["data"]["payer_id"] == payer:
                out += _payment_lines(env, month)
        rows = claims.get(payer, [])
        entries = "claim entry" if len(rows) == 1 else "claim entries"
        out.append(f"  FFS: {len(rows)} {entries} paid in {month}, plan paid"
                   f" {dollars(sum(r[2] for r in rows))}; offsets on services in the month"
                   f" {dollars(f['capitation_offsets'])}, member cost share (what members owe)"
                   f" {dollars(f['member_cost_share'])}, Medicaid (QMB) cost share"
                   f" {dollars(f['medicaid_cost_share'])}")
        for claim_id, member, paid in rows[:10]:
            out.append(f"    claim {claim_id} member {member}: {dollars(paid)}")
        if len(rows) > 10:
            out.append(f"    ... ({len(rows) - 10} more)")
    if not out:
        out.append(f"{practice} {month}: no payments or claims in the ledger")
    return out


def _why_no_members(state: PayerState, payer: str, practice: str, month: str) -> str:
    """Why a month has no member months: no member of the payer attributed to the practice yet
    (the first attribution to it takes effect later: a baseline month), or none for that month."""
    first = min((entry[0] for member, entries in state.attribution.items()
                 if (m := state.members.get(member)) is not None and m["payer"] == payer
                 for entry in entries if entry[1] == practice), default=None)
    if first is None:
        return f" (no {payer} member is attributed to {practice} in this run)"
    if str(first) > f"{month}-01":
        return f" (no member attributed yet: the first attribution to {practice} takes effect {first})"
    return f" (no {payer} member attributed to {practice} for {month})"


def _payment_lines(env: dict[str, Any], month: str) -> list[str]:
    """A prospective payment entry of the month (or adjusting it), its formula and its first
    members."""
    d = env["data"]
    members = (d.get("detail") or {}).get("members", {})
    if d.get("adjusts_month") == month:
        what = f"adjusts {month}, booked in {d['month']} (it lands in {d['month']}'s net)"
    elif d.get("adjusts_month"):
        what = f"booked in {month} for {d['adjusts_month']} (part of this month's adjustments)"
    else:
        what = f"for {d['month']}"
    out = [f"  ledger seq {env['seq']}: {d['kind']} {dollars(d['amount'])} {what},"
           f" {len(members)} member(s)",
           "    " + payment_formula(d)]
    shown = sorted(members.items())[:10]
    if shown:
        out.append("    members: " + ", ".join(f"{m} {dollars(c)}" for m, c in shown)
                   + (f", ... ({len(members) - 10} more)" if len(members) > 10 else ""))
    return out


def explain_member(run_dir: Path | str, member_id: str, as_of: str | None = None) -> list[str]:
    """Why a member is attributed where they are as of a date (default: the end of the ledger):
    the voluntary choice, the program pre-steps, the qualifying visits per practice in the
    lookback window, and the tie-break that decided (DOMAIN.md §6)."""
    from claimsim.adjudication.projections.attribution import decide, member_evidence, tie_break

    run_dir = require_run(run_dir)
    if as_of is not None:  # a date outside the ledger is an error naming its range, as elsewhere
        LedgerSpan.of(run_dir).check_date(as_of, "--as-of")
    # The whole ledger is folded; the rules are applied as of the date (claims received after it
    # for earlier services count, so "rules as of" may differ from what the run decided then).
    state: PayerState = fold(run_dir)
    member = state.members.get(member_id)
    if member is None:
        raise UserError(f"{run_dir}/input: no member {member_id!r}")
    payer = member["payer"]
    day = as_of or (state.boundaries[-1][1] if state.boundaries else state.last_at)
    evidence = member_evidence(state, member_id, payer, day)
    verdict = decide(evidence)
    recorded = state.attributed_on(member_id, day)
    out = [f"member {member_id} (subscriber {member['sub']}), payer {payer}, as of {day}:"
           f" attributed to {recorded or 'no practice'} in the ledger"]
    if not state.eligible_on(member_id, payer, day):
        out.append("  not eligible for attribution on that day (not enrolled, or not eligible for"
                   " the payer's programs, e.g. hospice): no practice")
        return out
    out.append(f"  rules as of {day}: {verdict.practice_id or 'no practice'} (basis {verdict.basis})"
               + ("" if verdict.practice_id == recorded else
                  f"; the ledger's attribution dates from the last boundary before {day}"))
    out.append(f"  1. voluntary alignment: {evidence.voluntary or 'none declared'}"
               + (" (overrides everything below)" if evidence.voluntary else ""))
    steps = ", ".join(f"{kind.value} -> {step}" for kind, step in sorted(
        state.settings.pre_steps.items(), key=lambda kv: kv[0].value)) or "none"
    awv = f"{evidence.last_awv[1]} on {evidence.last_awv[0]}" if evidence.last_awv else "none"
    ccm = f"{evidence.last_ccm[1]} on {evidence.last_ccm[0]}" if evidence.last_ccm else "none"
    applied = (f"applies: {evidence.pre_step[0]} at {evidence.pre_step[1]}"
               f" ({evidence.pre_step[2]})" if evidence.pre_step else "none applies")
    out.append(f"  2. program pre-steps ({steps}): latest AWV/IPPE {awv}; latest CCM {ccm}; {applied}")
    out.append(f"  3. plurality of qualifying primary-care visits by primary-care clinicians,"
               f" {evidence.since} to {day} (exclusive):")
    for pv in evidence.practices:
        out.append(f"     {pv.practice_id}: {pv.visits} visit day(s), latest {pv.last_visit},"
                   f" allowed {dollars(pv.allowed)}")
    if not evidence.practices:
        out.append("     no qualifying visits in the window")
    if verdict.basis == "plurality":
        out.append(f"     decided by: {tie_break(evidence)}")
    return out
