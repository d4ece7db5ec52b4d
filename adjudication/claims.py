"""A submitted claim through DOMAIN.md §3, in order: validate -> frequency (7/8 reverse the
version in force) -> eligibility and timely filing -> duplicate -> price -> payment model ->
cost share -> sequestration -> plan paid; and the ledger entry that records it.

All effects on the family (accumulators, paid-line index, visit copays, claim versions) are
gathered in a `_Work` and applied only once the whole claim has been adjudicated, so a claim
rejected half-way (a plan year with no figures) leaves the family exactly as it was.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from claimsim.events.codes import RejectReason
from claimsim.events.money import BP_ONE, apply_rate

from claimsim.adjudication.context import Context
from claimsim.adjudication.cost_share import is_zero_cost, member_cost_share, visit_category
from claimsim.adjudication.family import FamilyState
from claimsim.adjudication.line_results import denied_line, line_result, negated
from claimsim.adjudication.pricing import allowed_amount, not_covered_remark
from claimsim.adjudication.programs import (
    DENIED_REMARK, capitation_offset, cost_share_base, line_model, program_in_force,
)
from claimsim.adjudication.validation import Claim, Invalid

_HEADER = ("claim_id", "frequency", "original_claim_id", "member_id", "payer_id", "practice_id",
           "rendering_npi", "received", "paid")


class _Work:
    """One claim's effects on its family, applied by `commit` when the claim is done."""

    __slots__ = ("family", "acc", "paid_add", "paid_del", "visit_add", "visit_del")

    def __init__(self, family: FamilyState):
        self.family = family
        self.acc: dict[str, list[Any]] = {}
        self.paid_add: set[str] = set()
        self.paid_del: set[str] = set()
        self.visit_add: set[str] = set()
        self.visit_del: set[str] = set()

    def entry(self, key: str) -> list[Any]:
        """A working copy of one payer-year's accumulators."""
        e = self.acc.get(key)
        if e is None:
            base = self.family.acc.get(key)
            if base is None:
                e = [0, 0, {}]
            else:
                e = [base[0], base[1], {m: [v[0], v[1]] for m, v in base[2].items()}]
            self.acc[key] = e
        return e

    def line_in_force(self, dup: str) -> bool:
        return dup in self.paid_add or (dup in self.family.paid and dup not in self.paid_del)

    def visit_charged(self, visit: str) -> bool:
        return visit in self.visit_add or (visit in self.family.visits and visit not in self.visit_del)

    def commit(self, root: str) -> None:
        family = self.family
        family.acc.update(self.acc)
        # Sorted so the dicts' insertion order (and so the state's bytes) never depends on set order.
        for k in sorted(self.paid_del):
            family.paid.pop(k, None)
        for k in sorted(self.paid_add):
            family.paid[k] = root
        for k in sorted(self.visit_del):
            family.visits.pop(k, None)
        for k in sorted(self.visit_add):
            family.visits[k] = root


def _reverse(work: _Work, version: dict[str, Any]) -> None:
    """Undo a version's effects: accumulators back, its paid lines and visit copays released."""
    payer_id = version["hdr"]["payer_id"]
    for line in version["lines"]:
        share, ded = line["cost_share"], line["deductible"]
        if share or ded:
            entry = work.entry(f"{payer_id}|{line['service_date'][:4]}")
            mine = entry[2][line["member_id"]]
            mine[0] -= ded
            mine[1] -= share
            entry[0] -= ded
            entry[1] -= share
    work.paid_del.update(version["dups"])
    work.visit_del.update(version["visits"])


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
    plan year, design, fees, program in force or None, member attributed to the practice)."""
    payer_id, member = claim.payer_id, claim.member_id
    span = family.span_on(member, payer_id, day)
    if span is None:
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
    return (None, span, year, design, fees,
            *program_in_force(ctx, payer_id, claim.billing_tin, member, day))


def _adjudicate_lines(claim: Claim, family: FamilyState, ctx: Context, work: _Work
                      ) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    payer_id, member, practice = claim.payer_id, claim.member_id, claim.billing_tin
    payer = ctx.payers[payer_id]
    primary_care = ctx.is_primary_care(practice, claim.rendering_npi)
    multi = len(family.members) > 1
    seq_bp = payer.sequestration_bp
    code_group = ctx.code_group
    out: list[dict[str, Any]] = []
    dups: list[str] = []
    visits: list[str] = []
    facts_by_day: dict[str, tuple[Any, ...]] = {}
    for i, line in enumerate(claim.lines):
        day = line.day_iso
        # Eligibility on the service date (CARC 27 / 31), then timely filing (CO-29): the same
        # for every line on that date, so figured once per date.
        facts = facts_by_day.get(day)
        if facts is None:
            facts = facts_by_day[day] = _day_facts(claim, family, ctx, i, day, line.day)
        if facts[0] is not None:
            out.append(denied_line(line, member, "CO", facts[0]))
            continue
        _, span, year, design, fees, program, attributed = facts
        # Duplicate of a line in force (OA-18), $0 encounter lines included.
        dup = f"{member}|{claim.rendering_npi}|{day}|{line.procedure}|{line.modifiers}|{line.units}"
        if work.line_in_force(dup):
            out.append(denied_line(line, member, "OA", "18"))
            continue
        # Price (CO-45 for the excess; CO-96 if not covered).
        code = line.procedure
        group = code_group.get(code)
        fee = fees.get(code)
        remark = not_covered_remark(group, fee, design.part_b)
        if remark is not None:
            out.append(denied_line(line, member, "CO", "96", remark=remark))
            continue
        allowed = allowed_amount(fee, line.units, line.billed)
        # Payment model: program denials, PCF flat fee, hybrid share withheld.
        model = line_model(program, attributed, code, group)
        if model.denied:
            out.append(denied_line(line, member, "CO", "96", remark=DENIED_REMARK,
                                   program=model.program, attributed=True))
            continue
        shadow = 0
        if model.flat_fee is not None:
            flat = model.flat_fee.get(year)
            if flat is None:
                raise Invalid(RejectReason.UNSUPPORTED_YEAR, f"lines.{i}.service_date",
                              f"program {model.program} has no flat visit fee for plan year {year}")
            shadow = allowed
            allowed = line.billed if line.billed < flat else flat
        h, reduced = model.hybrid_bp, model.reduced
        base = cost_share_base(allowed, h, reduced)
        # Member cost share against the accumulators.
        if is_zero_cost(group, design):
            ded = coins = copay = 0
        else:
            category = visit_category(group, claim.place_of_service, primary_care)
            due = visit = None
            if category is not None:
                due = design.copays.get(category)
                if due is not None:
                    visit = f"{member}|{practice}|{day}|{category}"
                    if work.visit_charged(visit):
                        due = visit = None
            entry = work.entry(f"{payer_id}|{year}")
            ded, coins, copay = member_cost_share(base, design, entry, member, multi, due)
            if visit is not None:
                work.visit_add.add(visit)
                visits.append(visit)
        share = ded + coins + copay
        offset = capitation_offset(allowed, base, share, h, reduced)
        paid = allowed - share - offset
        sequestration = apply_rate(paid, seq_bp) if seq_bp and paid else 0
        paid -= sequestration
        shadow_line = model.capitated and h >= BP_ONE
        if shadow_line:
            shadow = allowed
        adjustments = []
        if line.billed > allowed:
            adjustments.append({"group": "CO", "carc": "45", "amount": line.billed - allowed})
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
            share if qmb else 0, "shadow" if shadow_line else "paid", model.program,
            model.attributed, model.capitated, adjustments, [],
        ))
        work.paid_add.add(dup)
        dups.append(dup)
    return out, dups, visits


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
    work = _Work(family)
    payer = ctx.payers[claim.payer_id]
    paid_day = (claim.received + dt.timedelta(days=payer.processing_days)).isoformat()
    if record is not None:
        current = record["versions"][-1]
        _reverse(work, current)
    if claim.frequency == "8":
        record["void"] = {"seq": seq, "claim_id": claim.claim_id,
                          "original_claim_id": claim.original_claim_id,
                          "received": claim.received_iso, "paid": paid_day}
        family.alias[claim.claim_id] = root
        work.commit(root)
        return ["v", root]
    lines, dups, visits = _adjudicate_lines(claim, family, ctx, work)
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
    work.commit(root)
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
