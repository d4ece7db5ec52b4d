"""Step 6 of DOMAIN.md §3: the payment model. From the practice's contract with the payer on the
service date, whether the member is attributed to that practice then, and whether the practice's
program is active (not fallen back to FFS), decide the share `h` of FFS withheld as capitation
offset, the PCF flat visit fee, and program code denials (CPC+ CCM).

`cost_share_basis` (DOMAIN.md §3): `full` figures cost share `C` on `allowed`, then
`O = apply_rate(allowed − C, h)`; `reduced` figures `C` on `allowed' = allowed − apply_rate(allowed,
h)` and `O = allowed − allowed'`. Both keep `allowed = P + C + O (+ S)`.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from claimsim.events.codes import REMARK_NOT_COVERED_BY_PROGRAM
from claimsim.events.money import BP_ONE, apply_rate

from claimsim.adjudication.engine.context import Context, Program

PC_EM: Final = "pc_em"
FFS: Final = "ffs"


class Model(NamedTuple):
    program: str  # the program kind in force for this line ("ffs" when none or inactive)
    attributed: bool  # member attributed to the billing practice on the service date
    hybrid_bp: int  # h for this line: > 0 only for an attributed member's capitated service
    reduced: bool  # cost share basis reduced
    capitated: bool  # a capitated service of the program, for an attributed member
    denied: bool  # a code the program denies for its attributed members (CO-96, N20)
    flat_fee: dict[int, int] | None  # PCF flat visit fee by year, for qualifying E&M lines


DENIED_REMARK: Final = REMARK_NOT_COVERED_BY_PROGRAM

_FFS: Final = Model(FFS, False, 0, False, False, False, None)
_FFS_ATTRIBUTED: Final = Model(FFS, True, 0, False, False, False, None)
# A program practice's line for a member not attributed to it, by program kind: built once (a
# `Model` built per line cost some 2,700 instructions).
_UNATTRIBUTED: Final[dict[str, Model]] = {}


def program_in_force(ctx: Context, payer_id: str, practice_id: str, member_id: str, day: str
                     ) -> tuple[Program | None, bool]:
    """(the active program of the practice's contract with the payer on the day or None, whether
    the member is attributed to the practice on the day): the same for every line of that day.

    Offsets, flat fees and denials need all three of: a program contract on the day, the member
    attributed to that practice on the day, and the practice's program active (a
    `practice.status` inactive from a date means FFS from then)."""
    attributed = ctx.attributed_on(member_id, day) == practice_id
    program = ctx.program_on(payer_id, practice_id, day)
    if program is not None and not ctx.program_active(payer_id, practice_id, day):
        program = None
    return program, attributed


def line_model(program: Program | None, attributed: bool, code: str, group: str | None) -> Model:
    """The line's payment model, from its day's `program_in_force` and its procedure."""
    if program is None:
        return _FFS_ATTRIBUTED if attributed else _FFS
    if not attributed:
        model = _UNATTRIBUTED.get(program.kind)
        if model is None:
            model = Model(program.kind, False, 0, False, False, False, None)
            _UNATTRIBUTED[program.kind] = model
        return model
    # Cached by code alone: `group` is always the code's own group (`Context.code_group`).
    model = program.attributed_models.get(code)
    if model is None:
        model = program.attributed_models[code] = _attributed_model(program, code, group)
    return model


def _attributed_model(program: Program, code: str, group: str | None) -> Model:
    if code in program.denied:
        return Model(program.kind, True, 0, False, False, True, None)
    capitated = group in program.capitated and code not in program.uncapitated
    flat = program.flat_fee if (program.flat_fee and group == PC_EM) else None
    return Model(program.kind, True, program.hybrid_bp if capitated else 0, program.reduced,
                 capitated, False, flat)


def cost_share_base(allowed: int, h: int, reduced: bool) -> int:
    """What cost share is figured on: `allowed`, or under basis reduced `allowed − apply_rate(allowed, h)`."""
    if reduced and h:
        return allowed - apply_rate(allowed, h)
    return allowed


def capitation_offset(allowed: int, base: int, cost_share: int, h: int, reduced: bool) -> int:
    """`O`: under basis full `apply_rate(allowed − C, h)` (all of it at h = 100 %); under reduced
    `allowed − allowed'`."""
    if not h:
        return 0
    if reduced:
        return allowed - base
    if h >= BP_ONE:
        return allowed - cost_share
    return apply_rate(allowed - cost_share, h)
