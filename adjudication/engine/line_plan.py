"""Pass 1 of a claim (`claims.adjudicate_claim`), which changes nothing: per line, the facts of
its service date (the member's coverage that day, timely filing, the plan year's benefit design
and fee schedule, the practice's program and the member's attribution), its procedure group and
its payment model, or the CARC that denies the date. It makes every check that can reject the
claim, so that pass 2 (`claims`) never leaves half a claim applied.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from claimsim.events.codes import RejectReason

from claimsim.adjudication.engine.context import Context, Design, PayerInfo, Program
from claimsim.adjudication.engine.family import SPAN_END, SPAN_PAYER, SPAN_PLAN, FamilyState
from claimsim.adjudication.engine.programs import Model, line_model, program_in_force
from claimsim.adjudication.engine.validation import Claim, Invalid, Line


class DayFacts:
    """What every line of a claim on one service date shares, once the member is covered that
    day and the claim was filed in time. A plain class, not a named tuple: compiled, it is built
    and read natively (a `NamedTuple` built with `tuple.__new__` cost some 880 instructions, and
    its fields were read through generic attribute lookups)."""

    __slots__ = ("span", "year", "design", "fees", "program", "attributed", "acc_key")

    def __init__(self, span: list[Any], year: int, design: Design | None,
                 fees: dict[str, int] | None, program: Program | None, attributed: bool,
                 acc_key: str):
        self.span = span  # the member's enrollment span with the payer covering the day (`SPAN_*`)
        self.year = year  # the plan year
        # The plan's benefit design and the payer's fee schedule (code -> cents per unit) for
        # the year: None only in a run priced from its file (`file_pricing`), which reads neither.
        self.design = design
        self.fees = fees
        self.program = program  # the billing practice's active program on the day (None: FFS)
        self.attributed = attributed  # the member is attributed to the billing practice on the day
        self.acc_key = acc_key  # the accumulators' key, "payer|year"


class PlannedLine:
    """Pass 1's reading of one line: denied for its date, or its date's facts, procedure group
    and payment model (a plain class for the reason `DayFacts` is)."""

    __slots__ = ("line", "denial", "facts", "group", "model")

    def __init__(self, line: Line, denial: str | None, facts: DayFacts | None, group: str | None,
                 model: Model | None):
        self.line = line
        self.denial = denial  # CARC 27 / 31 (eligibility) or 29 (timely filing) for the line's date
        self.facts = facts  # None when denied
        self.group = group  # procedure group (None: a code without one)
        self.model = model  # None when denied


def _eligibility_carc(family: FamilyState, member_id: str, payer_id: str, day: str) -> str:
    """27 if the member's coverage with this payer ended before the day, else 31 (never covered
    then: not yet enrolled, or enrolled only with another payer)."""
    for span in family.members.get(member_id, ()):
        if span[SPAN_PAYER] == payer_id and span[SPAN_END] is not None and span[SPAN_END] < day:
            return "27"
    return "31"


def _day_facts(claim: Claim, family: FamilyState, ctx: Context, payer: PayerInfo, i: int, day: str,
               day_date: dt.date) -> DayFacts | str:
    """The facts every line on the claim's service date `day` shares, or the CARC that denies
    them all (27 / 31 not covered that day, 29 filed too late). Raises `Invalid` for a plan year
    the plan or the fee schedule has no figures for (`i`: the first line of that date)."""
    payer_id, member = claim.payer_id, claim.member_id
    span = family.span_on(member, payer_id, day)
    if span is None:
        return _eligibility_carc(family, member, payer_id, day)
    if (claim.received - day_date).days > payer.timely_days:
        return "29"
    # The plan year (`day` is its ISO form), kept as the object the date gives (`Any`): the
    # three lookups by year below then use it as it is, where an `int` was boxed for each.
    year_key: Any = day_date.year
    year: int = year_key
    plan_id = span[SPAN_PLAN]
    design = ctx.plans[plan_id].designs.get(year_key)
    fees = payer.fees.get(year_key)
    if (design is None or fees is None) and not ctx.price_from_file:  # the file priced it
        what = f"plan {plan_id}" if design is None else f"the fee schedule of payer {payer_id}"
        raise Invalid(RejectReason.UNSUPPORTED_YEAR, f"lines.{i}.service_date",
                      f"{what} has no figures for plan year {year}")
    program, attributed = program_in_force(ctx, payer_id, claim.billing_tin, member, day)
    acc_key = payer.acc_keys.get(year_key)
    if acc_key is None:
        acc_key = payer.acc_keys[year] = f"{payer_id}|{year}"
    return DayFacts(span, year, design, fees, program, attributed, acc_key)


def plan_lines(claim: Claim, family: FamilyState, ctx: Context, payer: PayerInfo
                ) -> list[PlannedLine]:
    """Pass 1, which changes nothing: per line, its date's facts (`_day_facts`), its procedure
    group and its payment model; raises `Invalid` for a plan year without figures."""
    code_group = ctx.code_group
    # Most claims have one service date: the facts of the last date seen are kept at hand, and
    # the by-date dict is only made for a claim's second date (its making, store and lookup
    # cost some 450 instructions a claim).
    facts_by_day: dict[str, DayFacts | str] | None = None
    last_day: str | None = None
    facts: DayFacts | str = ""  # or the CARC denying the date
    planned: list[PlannedLine] = []
    for i, line in enumerate(claim.lines):
        day = line.day_iso
        if day != last_day:
            found: DayFacts | str | None = None
            if last_day is not None:
                if facts_by_day is None:
                    facts_by_day = {last_day: facts}
                found = facts_by_day.get(day)
            if found is None:
                found = _day_facts(claim, family, ctx, payer, i, day, line.day)
                if facts_by_day is not None:
                    facts_by_day[day] = found
            last_day = day
            facts = found
        if isinstance(facts, str):
            planned.append(PlannedLine(line, facts, None, None, None))
            continue
        code = line.procedure
        group = code_group.get(code)
        model = line_model(facts.program, facts.attributed, code, group)
        if model.flat_fee is not None and facts.year not in model.flat_fee:
            raise Invalid(RejectReason.UNSUPPORTED_YEAR, f"lines.{i}.service_date",
                          f"program {model.program} has no flat visit fee for plan year {facts.year}")
        planned.append(PlannedLine(line, None, facts, group, model))
    return planned
