"""A submitted claim through DOMAIN.md §3, in order: validate -> frequency (7/8 reverse the
version in force) -> eligibility and timely filing -> duplicate -> price -> payment model ->
cost share -> sequestration -> plan paid; and the ledger entry that records it.

A claim is adjudicated in two passes so that a rejection never leaves half a claim applied:
the first (`_plan_lines`) makes every check that can reject the claim (a plan year the plan, fee
schedule or program has no figures for) and changes nothing; only then is the version in force
reversed and the second pass (`_adjudicate_lines`) updates the family as it goes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from claimsim.events.codes import RejectReason
from claimsim.events.money import BP_ONE, apply_rate

from claimsim.adjudication.engine.context import Context
from claimsim.adjudication.engine.cost_share import (
    COPAY_GROUPS, ZERO_COST_GROUPS, is_zero_cost, member_cost_share, visit_category,
)
from claimsim.adjudication.engine.family import FamilyState
from claimsim.adjudication.engine.line_results import denied_line, line_result, negated
from claimsim.adjudication.engine.pricing import PREVENTIVE, not_covered_remark
from claimsim.adjudication.engine.programs import (
    DENIED_REMARK, capitation_offset, cost_share_base, line_model, program_in_force,
)
from claimsim.adjudication.engine.validation import Claim, Invalid

_HEADER = ("claim_id", "frequency", "original_claim_id", "member_id", "payer_id", "practice_id",
           "rendering_npi", "received", "paid")


def _reverse(family: FamilyState, version: dict[str, Any]) -> None:
    """Undo a version's effects: accumulators back, its paid lines and visit copays released."""
    payer_id = version["hdr"]["payer_id"]
    for line in version["lines"]:
        share, ded = line["cost_share"], line["deductible"]
        if share or ded:
            entry = family.acc[f"{payer_id}|{line['service_date'][:4]}"]
            mine = entry[2][line["member_id"]]
            mine[0] -= ded
            mine[1] -= share
            entry[0] -= ded
            entry[1] -= share
    for key in version["dups"]:
        del family.paid[key]
    for key in version["visits"]:
        del family.visits[key]


def _eligibility_carc(family: FamilyState, member_id: str, payer_id: str, day: str) -> str:
    """27 if the member's coverage with this payer ended before the day, else 31 (never covered
    then: not yet enrolled, or enrolled only with another payer)."""
    for span in family.members.get(member_id, ()):
        if span[0] == payer_id and span[3] is not None and span[3] < day:
            return "27"
    return "31"


def _day_facts(claim: Claim, family: FamilyState, ctx: Context, i: int, day: str, day_date: dt.date
               ) -> tuple[Any, ...]:
    """What every line of the claim on one service date shares: (denial CARC or None, span,
    plan year, design, fees, program in force or None, member attributed to the practice,
    the accumulators' key `"payer|year"`)."""
    payer_id, member = claim.payer_id, claim.member_id
    for span in family.members.get(member, ()):  # FamilyState.span_on, inline
        if span[0] == payer_id and span[2] <= day and (span[3] is None or day <= span[3]):
            break
    else:
        return (_eligibility_carc(family, member, payer_id, day),)
    payer = ctx.payers[payer_id]
    if (claim.received - day_date).days > payer.timely_days:
        return ("29",)
    year = int(day[:4])
    design = ctx.plans[span[1]][1].get(year)
    fees = payer.fees.get(year)
    if design is None or fees is None:
        what = f"plan {span[1]}" if design is None else f"the fee schedule of payer {payer_id}"
        raise Invalid(RejectReason.UNSUPPORTED_YEAR, f"lines.{i}.service_date",
                      f"{what} has no figures for plan year {year}")
    program, attributed = program_in_force(ctx, payer_id, claim.billing_tin, member, day)
    return (None, span, year, design, fees, program, attributed, f"{payer_id}|{year}")


def _plan_lines(claim: Claim, family: FamilyState, ctx: Context) -> list[tuple[Any, ...]]:
    """Pass 1, which changes nothing: per line, its date's facts (`_day_facts`), its procedure
    group and its payment model; raises `Invalid` for a plan year without figures."""
    code_group = ctx.code_group
    # Most claims have one service date: the facts of the last date seen are kept at hand, and
    # the by-date dict is only used across dates.
    facts_by_day: dict[str, tuple[Any, ...]] = {}
    last_day, facts = None, ()
    planned = []
    for i, line in enumerate(claim.lines):
        day = line.day_iso
        if day != last_day:
            last_day = day
            facts = facts_by_day.get(day)
            if facts is None:
                facts = facts_by_day[day] = _day_facts(claim, family, ctx, i, day, line.day)
        if facts[0] is not None:
            planned.append((line, facts, None, None))
            continue
        code = line.procedure
        group = code_group.get(code)
        model = line_model(facts[5], facts[6], code, group)
        if model.flat_fee is not None and facts[2] not in model.flat_fee:
            raise Invalid(RejectReason.UNSUPPORTED_YEAR, f"lines.{i}.service_date",
                          f"program {model.program} has no flat visit fee for plan year {facts[2]}")
        planned.append((line, facts, group, model))
    return planned


def _adjudicate_lines(claim: Claim, family: FamilyState, ctx: Context, root: str,
                      planned: list[tuple[Any, ...]]
                      ) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Pass 2: duplicates, price, cost share and plan paid, updating the family line by line
    (accumulators, paid-line index, visit copays).

    This loop runs for every line of every claim, so it reads tuples by unpacking and calls the
    step functions (`pricing`, `programs`, `cost_share`) only where they have work to do: the
    guards below are those functions' own no-op cases (an FFS line has no offset, a lab line no
    visit copay, ...), checked inline."""
    payer_id, member, practice, npi = claim.payer_id, claim.member_id, claim.billing_tin, claim.rendering_npi
    pos = claim.place_of_service
    seq_bp = ctx.payers[payer_id].sequestration_bp
    primary_care = None  # looked up on the first E&M line that needs it
    multi = len(family.members) > 1
    paid_index, visit_index, accumulators = family.paid, family.visits, family.acc
    out: list[dict[str, Any]] = []
    dups: list[str] = []
    visits: list[str] = []
    for line, facts, group, model in planned:
        # Eligibility on the service date (CARC 27 / 31) or timely filing (CO-29).
        if facts[0] is not None:
            out.append(denied_line(line, member, "CO", facts[0]))
            continue
        _, span, year, design, fees, _, _, acc_key = facts
        _, _, day, code, mods, units, billed = line
        # Duplicate of a line in force (OA-18), $0 encounter lines included.
        dup = f"{member}|{npi}|{day}|{code}|{mods}|{units}"
        if dup in paid_index:
            out.append(denied_line(line, member, "OA", "18"))
            continue
        # Price (CO-45 for the excess; CO-96 if not covered).
        fee = fees.get(code)
        if fee is None or group == PREVENTIVE:
            remark = not_covered_remark(group, fee, design.part_b)
            if remark is not None:
                out.append(denied_line(line, member, "CO", "96", remark=remark))
                continue
        scheduled = fee * units  # allowed_amount, inline
        allowed = billed if billed < scheduled else scheduled
        program, attributed, h, reduced, capitated, denied, flat_fee = model
        # Payment model: program denials, PCF flat fee, hybrid share withheld.
        if denied:
            out.append(denied_line(line, member, "CO", "96", remark=DENIED_REMARK,
                                   program=program, attributed=True))
            continue
        shadow = 0
        if flat_fee is not None:
            flat = flat_fee[year]  # present: checked in pass 1
            shadow = allowed
            allowed = billed if billed < flat else flat
        base = cost_share_base(allowed, h, reduced) if h else allowed
        # Member cost share against the accumulators.
        if group in ZERO_COST_GROUPS and is_zero_cost(group, design):
            ded = coins = copay = 0
        else:
            due = visit = None
            if group in COPAY_GROUPS:
                if primary_care is None:
                    primary_care = ctx.is_primary_care(practice, npi)
                category = visit_category(group, pos, primary_care)
                if category is not None:
                    due = design.copays.get(category)
                    if due is not None:
                        visit = f"{member}|{practice}|{day}|{category}"
                        if visit in visit_index:
                            due = visit = None
            entry = accumulators.get(acc_key)
            if entry is None:
                entry = accumulators[acc_key] = [0, 0, {}]
            ded, coins, copay = member_cost_share(base, design, entry, member, multi, due)
            if visit is not None:
                visit_index[visit] = root
                visits.append(visit)
        share = ded + coins + copay
        offset = capitation_offset(allowed, base, share, h, reduced) if h else 0
        paid = allowed - share - offset
        sequestration = apply_rate(paid, seq_bp) if seq_bp and paid else 0
        paid -= sequestration
        shadow_line = capitated and h >= BP_ONE
        if shadow_line:
            shadow = allowed
        adjustments = []
        if billed > allowed:
            adjustments.append({"group": "CO", "carc": "45", "amount": billed - allowed})
        if offset:
            adjustments.append({"group": "CO", "carc": "24", "amount": offset})
        qmb = span[4]
        # QMB: the member owes nothing; the cost share is shown as PR $0 and moved to Medicaid.
        if ded:
            adjustments.append({"group": "PR", "carc": "1", "amount": 0 if qmb else ded})
        if coins:
            adjustments.append({"group": "PR", "carc": "2", "amount": 0 if qmb else coins})
        if copay:
            adjustments.append({"group": "PR", "carc": "3", "amount": 0 if qmb else copay})
        if sequestration:
            adjustments.append({"group": "CO", "carc": "253", "amount": sequestration})
        out.append(line_result(
            line, member, allowed, paid, ded, coins, copay, offset, sequestration, shadow,
            share if qmb else 0, "shadow" if shadow_line else "paid", program,
            attributed, capitated, adjustments, [],
        ))
        paid_index[dup] = root
        dups.append(dup)
    return out, dups, visits


_PAID_DAYS: dict[tuple[str, int], str] = {}  # (received, processing days) -> paid date


def _paid_day(claim: Claim, processing_days: int) -> str:
    """Received + the payer's processing days, as ISO (cached: a run has few distinct pairs)."""
    key = (claim.received_iso, processing_days)
    paid = _PAID_DAYS.get(key)
    if paid is None:
        paid = _PAID_DAYS[key] = (claim.received + dt.timedelta(days=processing_days)).isoformat()
    return paid


def _reject(reason: RejectReason, field: str, message: str) -> Invalid:
    return Invalid(reason, field, message)


def adjudicate_claim(claim: Claim, seq: int, family: FamilyState, ctx: Context) -> list[Any]:
    """Adjudicate a validated claim into the family; returns its stored-result pointer.

    Raises `Invalid` (nothing applied) for what only the family's state can reveal.
    """
    if claim.member_id not in family.members:
        raise _reject(RejectReason.UNKNOWN_MEMBER, "member_id",
                      f"member {claim.member_id!r} is not enrolled under subscriber {family.subscriber_id!r}")
    root = None
    record = None
    if claim.frequency == "1":
        if claim.claim_id in family.alias:
            raise _reject(RejectReason.DUPLICATE_CLAIM_ID, "claim_id",
                          f"claim id {claim.claim_id!r} was already submitted")
        root = claim.claim_id
    else:
        root = family.alias.get(claim.original_claim_id)
        if root is None:
            raise _reject(RejectReason.UNKNOWN_ORIGINAL, "original_claim_id",
                          f"no claim {claim.original_claim_id!r} under subscriber {family.subscriber_id!r}")
        record = family.claims[root]
        if record["void"] is not None:
            raise _reject(RejectReason.UNKNOWN_ORIGINAL, "original_claim_id",
                          f"claim {claim.original_claim_id!r} was voided")
        owner = family.alias.get(claim.claim_id)
        if owner is not None and owner != root:
            raise _reject(RejectReason.DUPLICATE_CLAIM_ID, "claim_id",
                          f"claim id {claim.claim_id!r} belongs to another claim ({owner!r})")
    paid_day = _paid_day(claim, ctx.payers[claim.payer_id].processing_days)
    planned = _plan_lines(claim, family, ctx) if claim.frequency != "8" else None
    # Nothing has changed so far; from here on nothing can reject the claim.
    if record is not None:
        _reverse(family, record["versions"][-1])
    if planned is None:
        record["void"] = {"seq": seq, "claim_id": claim.claim_id,
                          "original_claim_id": claim.original_claim_id,
                          "received": claim.received_iso, "paid": paid_day}
        family.alias[claim.claim_id] = root
        return ["v", root]
    lines, dups, visits = _adjudicate_lines(claim, family, ctx, root, planned)
    version = {
        "seq": seq,
        "hdr": {
            "claim_id": claim.claim_id,
            "frequency": claim.frequency,
            "original_claim_id": claim.original_claim_id,
            "member_id": claim.member_id,
            "payer_id": claim.payer_id,
            "practice_id": claim.billing_tin,
            "rendering_npi": claim.rendering_npi,
            "received": claim.received_iso,
            "paid": paid_day,
        },
        "lines": lines,
        "dups": dups,
        "visits": visits,
    }
    if record is None:
        record = family.claims[root] = {"versions": [], "void": None}
    record["versions"].append(version)
    family.alias[claim.claim_id] = root
    return ["c", root, len(record["versions"]) - 1]


def claim_event_data(family: FamilyState, pointer: list[Any]) -> tuple[str, str, dict[str, Any]]:
    """(type, at, data) of the ledger entry a stored claim result stands for."""
    record = family.claims[pointer[1]]
    if pointer[0] == "v":
        void = record["void"]
        reversed_version = record["versions"][-1]
        hdr = reversed_version["hdr"]
        return "claim.reversed", void["paid"], {
            "claim_id": void["claim_id"],
            "original_claim_id": void["original_claim_id"],
            "reversed_claim_id": hdr["claim_id"],
            "member_id": hdr["member_id"],
            "subscriber_id": family.subscriber_id,
            "payer_id": hdr["payer_id"],
            "practice_id": hdr["practice_id"],
            "received": void["received"],
            "paid": void["paid"],
            "reversed_lines": [negated(line) for line in reversed_version["lines"]],
        }
    index = pointer[2]
    version = record["versions"][index]
    data = dict(version["hdr"])
    data["subscriber_id"] = family.subscriber_id
    data["lines"] = version["lines"]
    if index:
        previous = record["versions"][index - 1]
        data["reversed_lines"] = [negated(line) for line in previous["lines"]]
        data["reversed_claim_id"] = previous["hdr"]["claim_id"]
    else:
        data["reversed_lines"] = []
        data["reversed_claim_id"] = None
    return "claim.adjudicated", data["paid"], data
