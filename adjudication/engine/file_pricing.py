"""Steps 5-7 of DOMAIN.md §3 for a run priced from its claims file (`ReferenceData.price_from_file`,
`claimsim ingest --price-from-file`): each line's allowed, plan paid and cost-share split come
from the file (`file_amounts` on the submitted line) instead of the fee schedule and the plan's
benefit design; the scenario's payment model (hybrid offset, PCF flat fee, program denials,
full capitation's shadow lines) and sequestration still apply on top, and every other step
(validation, frequency, eligibility, timely filing, duplicates) is the same as a re-priced run's.

The file's amounts are untrusted like the rest of a submitted claim: each is checked here (whole
cents, >= 0, allowed <= billed, plan paid + deductible + coinsurance + copay = allowed) and a
line that fails rejects the claim naming `lines.N.file_amounts.FIELD`.

Choices where DOMAIN.md is silent:
- The file's cost share is the member's liability under FFS, as the file's payer adjudicated
  it: with basis `full` it stands as given (`C` = the file's split), and the offset is
  `O = apply_rate(allowed − C, h)` on top (all of `allowed − C` at h = 100 %), so plan paid is
  the file's paid less the offset.
- When the payment model changes what the cost share is figured on (basis `reduced`:
  `allowed' = allowed − apply_rate(allowed, h)`; PCF's flat visit fee: `allowed = min(billed,
  flat fee)`, the file's allowed kept as `shadow_allowed`), the plan's deductible and OOP cannot be
  re-run without its figures, so the file's split is carried over: the copay and the deductible
  are dollar amounts and stay, coinsurance is a share of the price and scales with it
  (`coinsurance × base / file allowed`, half up), and then each part is capped by what is left of
  the new base, copay first, then deductible, then coinsurance. The invariant
  `allowed = P + C + O (+ S)` holds with every part >= 0.
- Nothing is "not covered" by the fee schedule or the plan (CO-96 N130 and the Part B routine
  physical rule are pricing rules): the file priced the line. A program's own code denials
  (CPC+ CCM, CO-96 N20) still apply.
- The family's accumulators still add each line's deductible and cost share (so a reversal
  takes them back and the projections read them), but no plan limit is applied against them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from claimsim.events.codes import RejectReason
from claimsim.events.money import BP_ONE, apply_rate, div_round_half_up

from claimsim.adjudication.engine.family import (
    ACC_FAMILY_DED, ACC_FAMILY_OOP, ACC_MEMBERS, MEMBER_DED, MEMBER_OOP, SPAN_QMB, FamilyState,
    paid_fingerprint,
)
from claimsim.adjudication.engine.line_results import (
    denied_line, line_result, paid_adjustments, qmb_remarks,
)
from claimsim.adjudication.engine.pricing import allowed_amount
from claimsim.adjudication.engine.programs import (
    DENIED_REMARK, capitation_offset, cost_share_base,
)
from claimsim.adjudication.engine.validation import LIMITS, Claim, Invalid, Line


class FileAmounts(NamedTuple):
    """One line's pricing as its file gave it (cents)."""

    allowed: int
    plan_paid: int
    deductible: int
    coinsurance: int
    copay: int


def file_amounts(raw: dict[str, Any], claim: Claim) -> tuple[FileAmounts, ...] | None:
    """The checked `file_amounts` of each line of a validated claim (None for a void, whose
    lines are not read); raises `Invalid` naming the line and field of the first bad one."""
    if claim.frequency == "8":
        return None
    out = []
    for i, (rl, line) in enumerate(zip(raw["lines"], claim.lines)):
        out.append(_checked(rl.get("file_amounts"), line, f"lines.{i}.file_amounts"))
    return tuple(out)


def _checked(given: Any, line: Line, where: str) -> FileAmounts:
    if type(given) is not dict:
        raise Invalid(RejectReason.MISSING_FIELD, where,
                      f"{where} is missing: this run is priced from the file")
    unknown = sorted(set(given) - set(FileAmounts._fields))
    if unknown:
        raise Invalid(RejectReason.MALFORMED, f"{where}.{unknown[0]}",
                      f"{where}: unknown amount {unknown[0]!r}")
    values = []
    for name in FileAmounts._fields:
        value = given.get(name)
        if type(value) is not int:
            raise Invalid(RejectReason.MALFORMED, f"{where}.{name}",
                          f"{where}.{name} is not whole cents: {value!r}")
        if value < 0:
            raise Invalid(RejectReason.NEGATIVE_AMOUNT, f"{where}.{name}",
                          f"{where}.{name} is negative: {value}")
        if value > LIMITS.billed:
            raise Invalid(RejectReason.OVER_LIMIT, f"{where}.{name}",
                          f"{where}.{name} {value:,} cents, more than {LIMITS.billed:,}")
        values.append(value)
    amounts = FileAmounts(*values)
    if amounts.allowed > line.billed:
        raise Invalid(RejectReason.MALFORMED, f"{where}.allowed",
                      f"{where}.allowed {amounts.allowed} is more than billed {line.billed}")
    parts = amounts.plan_paid + amounts.deductible + amounts.coinsurance + amounts.copay
    if parts != amounts.allowed:
        raise Invalid(RejectReason.MALFORMED, f"{where}.plan_paid",
                      f"{where}: plan_paid + deductible + coinsurance + copay = {parts},"
                      f" not allowed {amounts.allowed}")
    return amounts


def file_cost_share(given: FileAmounts, base: int) -> tuple[int, int, int]:
    """(deductible, coinsurance, copay) of a file-priced line whose cost share is figured on
    `base`: the file's split, coinsurance scaled to the base, each part capped by what is left
    of it (copay, deductible, coinsurance in turn). Unchanged when `base` is the file's allowed."""
    coins = given.coinsurance
    if base != given.allowed:
        coins = div_round_half_up(coins * base, given.allowed) if given.allowed else 0
    copay = min(given.copay, base)
    ded = min(given.deductible, base - copay)
    return ded, min(coins, base - copay - ded), copay


def _accumulate(family: FamilyState, acc_key: str, member: str, ded: int, share: int) -> None:
    """Add a line's deductible and cost share to the family's accumulators (the layout
    `family.ACC_*` / `MEMBER_*` name), as `cost_share.member_cost_share` does."""
    entry = family.acc.get(acc_key)
    if entry is None:
        entry = family.acc[acc_key] = [0, 0, {}]
    mine = entry[ACC_MEMBERS].setdefault(member, [0, 0])
    mine[MEMBER_DED] += ded
    mine[MEMBER_OOP] += share
    entry[ACC_FAMILY_DED] += ded
    entry[ACC_FAMILY_OOP] += share


def adjudicate_file_lines(claim: Claim, family: FamilyState, root: str, seq_bp: int,
                          planned: list, amounts: tuple[FileAmounts, ...]
                          ) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Pass 2 of `claims.adjudicate_claim` for a file-priced run: `planned` is pass 1's
    `PlannedLine`s. Returns the line results and the paid-line keys this version added (and no
    visit copays: the file charged them)."""
    member, npi = claim.member_id, claim.rendering_npi
    out: list[dict[str, Any]] = []
    dups: list[str] = []
    for planned_line, given in zip(planned, amounts):
        line, denial, facts, model = (planned_line.line, planned_line.denial, planned_line.facts,
                                      planned_line.model)
        if denial is not None:  # eligibility (CARC 27 / 31) or timely filing (CO-29)
            out.append(denied_line(line, member, "CO", denial))
            continue
        # The duplicate key of `claims._adjudicate_lines` (OA-18), $0 lines included.
        dup = f"{member}|{npi}|{line.day_iso}|{line.procedure}|{line.modifiers}|{line.units}"
        fingerprint = paid_fingerprint(dup)
        if family.holds_paid_line(dup, fingerprint, root, dups):
            out.append(denied_line(line, member, "OA", "18"))
            continue
        if model.denied:
            out.append(denied_line(line, member, "CO", "96", remark=DENIED_REMARK,
                                   program=model.program, attributed=True))
            continue
        allowed, shadow, h, reduced = given.allowed, 0, model.hybrid_bp, model.reduced
        if model.flat_fee is not None:
            shadow = allowed
            allowed = allowed_amount(model.flat_fee[facts.year], 1, line.billed)
        base = cost_share_base(allowed, h, reduced)
        ded, coins, copay = file_cost_share(given, base)
        share = ded + coins + copay
        if share:
            _accumulate(family, facts.acc_key, member, ded, share)
        offset = capitation_offset(allowed, base, share, h, reduced)
        paid = allowed - share - offset
        sequestration = apply_rate(paid, seq_bp) if seq_bp and paid else 0
        paid -= sequestration
        shadow_line = model.capitated and h >= BP_ONE
        if shadow_line:
            shadow = allowed
        qmb = facts.span[SPAN_QMB]
        out.append(line_result(
            line, member, allowed, paid, ded, coins, copay, offset, sequestration, shadow,
            share if qmb else 0, "shadow" if shadow_line else "paid", model.program,
            model.attributed, model.capitated,
            paid_adjustments(line.billed, allowed, offset, ded, coins, copay, sequestration),
            qmb_remarks(ded, coins, copay) if qmb else [],
        ))
        family.add_paid_line(fingerprint, root)
        dups.append(dup)
    return out, dups, []
