"""Step 7 of DOMAIN.md §3 and §5: member cost share against the family's accumulators.

Per plan year, per member and per family: preventive $0 (ACA), Part B AWV/IPPE $0; one copay per
visit charged on the visit's E&M line, capped by its allowed, not counted to the deductible;
otherwise deductible first (`d = min(allowed, remaining)`, remaining the smaller of the member's
and the family's), then `coinsurance = apply_rate(allowed − d, rate)`; everything counts to the
out-of-pocket maximum, and once the member's embedded OOP or the family's is met, cost share is $0.

Choices where DOMAIN.md is silent (documented for the lead):
- A line that would pass the OOP maximum takes only what is left: copay first, then deductible,
  then coinsurance, each capped by the OOP remaining after the parts before it.
- Non-embedded designs: with more than one member enrolled in the family, only the family limits
  apply; a family of one uses the individual limits.
- Part B style plans are individual coverage: only the member's own limits apply (family totals
  are still kept, uncapped).
- A visit's E&M line whose copay was already charged (a second E&M line of the same visit, on
  this claim or another) follows deductible and coinsurance like the visit's other lines.
"""

from __future__ import annotations

from typing import Any, Final

from claimsim.events.money import apply_rate

from claimsim.adjudication.engine.context import Design
from claimsim.adjudication.engine.family import (
    ACC_FAMILY_DED, ACC_FAMILY_OOP, ACC_MEMBERS, MEMBER_DED, MEMBER_OOP,
)

# No limit: larger than any amount, and the largest int the compiled engine keeps unboxed (2**62
# itself is a boxed object, whose every comparison and subtraction is a generic call).
NO_LIMIT: Final = (1 << 62) - 1

# Lines that are "the visit's E&M line" for a copay (DOMAIN.md §5).
COPAY_GROUPS: Final = frozenset({"pc_em", "specialist_em", "ed"})
# The only groups `is_zero_cost` can find $0 (a hot-path guard before calling it).
ZERO_COST_GROUPS: Final = frozenset({"awv", "preventive"})


def visit_category(group: str | None, place_of_service: str, primary_care: bool) -> str | None:
    """The copay category of an E&M line (None for lines that are not a visit's E&M line)."""
    if group not in COPAY_GROUPS:
        return None
    if group == "ed" or place_of_service == "23":
        return "ed"
    if place_of_service == "20":
        return "urgent"
    if group == "specialist_em" or not primary_care:
        return "specialist"
    return "pcp"


def is_zero_cost(group: str | None, design: Design) -> bool:
    """Preventive services under ACA plans, and AWV/IPPE ($0 under Part B and ACA plans)."""
    if group == "awv":
        return design.part_b or design.preventive_zero
    return group == "preventive" and design.preventive_zero


def member_cost_share(
    base: int,
    design: Design,
    entry: list[Any],
    member_id: str,
    multi_member: bool,
    copay: int | None,
) -> tuple[int, int, int]:
    """(deductible, coinsurance, copay) for a line whose cost share is figured on `base`, and the
    accumulators in `entry` (`[family_ded, family_oop, {member: [ded, oop]}]`, the layout
    `family.ACC_*` and `MEMBER_*` name) updated in place.

    `copay` is the visit copay when this line is the visit's E&M line and the copay is due, else
    None (deductible and coinsurance apply).
    """
    # Long: min() and attribute reads spelled out, in one function: this runs for nearly every
    # paid line, and the OOP and deductible limits share their individual/family reads.
    members: dict[str, list[int]] = entry[ACC_MEMBERS]
    mine = members.get(member_id)
    if mine is None:
        mine = members[member_id] = [0, 0]
    # The amounts met are read into typed locals once (the compiled engine then does integer
    # arithmetic on them instead of generic object operations on the lists' items).
    mine_ded, mine_oop = mine[MEMBER_DED], mine[MEMBER_OOP]
    fam_ded: int = entry[ACC_FAMILY_DED]
    fam_oop: int = entry[ACC_FAMILY_OOP]
    part_b = design.part_b
    individual = part_b or design.embedded or not multi_member
    family = not part_b
    oop_left = NO_LIMIT
    oop_ind, oop_fam = design.oop_ind, design.oop_fam
    if oop_ind is not None and oop_fam is not None:  # both set or both None (`events.plans`)
        if individual:
            oop_left = oop_ind - mine_oop
        if family:
            fam_left = oop_fam - fam_oop
            if fam_left < oop_left:
                oop_left = fam_left
        if oop_left < 0:
            oop_left = 0
    if copay is not None:
        charged = copay  # min(copay, base, oop_left), spelled out (the builtin is a call)
        if base < charged:
            charged = base
        if oop_left < charged:
            charged = oop_left
        ded = coins = 0
    else:
        charged = 0
        ded_left = NO_LIMIT
        if individual:
            ded_left = design.ded_ind - mine_ded
        if family:
            fam_left = design.ded_fam - fam_ded
            if fam_left < ded_left:
                ded_left = fam_left
        if ded_left < 0:
            ded_left = 0
        ded = base
        if ded_left < ded:
            ded = ded_left
        if oop_left < ded:
            ded = oop_left
        rest = base - ded
        coins = apply_rate(rest, design.coins_bp) if rest else 0
        if oop_left - ded < coins:
            coins = oop_left - ded
    total = ded + coins + charged
    if total:  # a total stored unchanged would still box it anew (an allocation)
        if ded:
            mine[MEMBER_DED] = mine_ded + ded
            entry[ACC_FAMILY_DED] = fam_ded + ded
        mine[MEMBER_OOP] = mine_oop + total
        entry[ACC_FAMILY_OOP] = fam_oop + total
    return ded, coins, charged
