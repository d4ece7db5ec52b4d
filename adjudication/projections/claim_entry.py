"""A ledger claim entry's data as the payer-state fold reads it: `ClaimData` and its `ClaimLine`s,
msgspec Structs holding only the fields the fold reads (`fold.claims`, `fold.quality`,
`diagnoses.line_conditions`).

`entries.ClaimDecoder` decodes a claim entry at the current version straight into them (msgspec
skips every other field at C speed, checking the JSON's syntax all the same): a struct is smaller
than the dict it replaces, cheaper to build and to free, and carries no key objects. `gc=False`:
they hold only strings, ints, bools and lists of strings or lines, so they cannot be part of a
cycle, and the collector need not track the million a replay makes.

Every other claim entry (one the decoder refuses, an older version upcast, a test's dict, an
audit replay's entry) reaches the fold with a dict as its data: the fold's handlers turn it into
these structs at their door (`claim_data`), so the fold has one reading of a claim entry. A field
is required here where every claim entry the engine writes holds it (a decoded entry without one
is refused, decoded in full and converted: `claim_data` raises the KeyError the fold's read of
the dict raised, see `Absent`); a field has a default where its absence is normal: a reversal has
no `lines`, `frequency` or `rendering_npi`, and `diagnoses` is read as absent = None, as before.
"""

from __future__ import annotations

from typing import Any

import msgspec


# The fields in the order a ledger line holds them (canonical JSON: sorted), so msgspec, which looks
# a key up from the field after the last one it matched, finds each at its first try.
class ClaimLine(msgspec.Struct, gc=False, kw_only=True):
    """The fields of a claim entry's line the fold reads."""

    allowed: int
    attributed: bool = False  # the member attributed to the billing practice on the service date
    cap_offset: int
    capitated: bool
    cost_share: int
    diagnoses: list[str] | None = None  # None: not recorded (a v1 line, upcast)
    medicaid_cost_share: int
    plan_paid: int
    procedure: str
    program: str = "ffs"  # the program in force for the line (PCF's flat fee: `fold.flat_fees`)
    sequestration: int
    service_date: str
    shadow_allowed: int
    status: str


class ClaimData(msgspec.Struct, gc=False, kw_only=True):
    """The fields of a claim entry's data the fold reads (adjudicated or reversed)."""

    frequency: str = ""  # a reversal has none
    lines: list[ClaimLine] = []  # a reversal has none
    member_id: str
    paid: str
    payer_id: str
    practice_id: str
    rendering_npi: str | None = None  # a reversal names none
    reversed_lines: list[ClaimLine]


# The fields a line read by the fold always holds (the fold reads them from every line it folds);
# `status` and `shadow_allowed` are read only on some lines (a tracked procedure, a capitated one).
_LINE_REQUIRED = ("allowed", "cap_offset", "capitated", "cost_share", "medicaid_cost_share",
                  "plan_paid", "procedure", "sequestration", "service_date")


class Absent:
    """A field a converted line lacks and the fold reads only on some lines: reading it the way
    the fold does (`status` compared, `shadow_allowed` subtracted) raises the KeyError the fold's
    read of the dict raised; a line the fold does not read it on folds as before."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def _missing(self, other: object) -> Any:
        raise KeyError(self.name)

    __eq__ = __ne__ = __sub__ = __rsub__ = __add__ = __radd__ = _missing
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Absent({self.name!r})"


def claim_line(line: dict[str, Any]) -> ClaimLine:
    """A line as a dict (`events.log.read`'s decoding) as the fold reads it: its values as they
    are (not checked: the fold meets odd values as it always met them); a field missing raises
    KeyError as the fold's read of it did: at once for one read on every line, when read
    (`Absent`) for one read on some."""
    for name in _LINE_REQUIRED:
        if name not in line:
            raise KeyError(name)
    return ClaimLine(
        allowed=line["allowed"], cap_offset=line["cap_offset"], capitated=line["capitated"],
        cost_share=line["cost_share"], medicaid_cost_share=line["medicaid_cost_share"],
        plan_paid=line["plan_paid"], procedure=line["procedure"],
        program=line.get("program", "ffs"), attributed=line.get("attributed", False),
        sequestration=line["sequestration"], service_date=line["service_date"],
        status=line["status"] if "status" in line else Absent("status"),  # type: ignore[arg-type]
        shadow_allowed=(line["shadow_allowed"] if "shadow_allowed" in line
                        else Absent("shadow_allowed")),  # type: ignore[arg-type]
        diagnoses=line.get("diagnoses"))


_convert = msgspec.convert


def claim_data(data: Any, adjudicated: bool) -> ClaimData:
    """A claim entry's data as the fold reads it: a `ClaimData` as it is, a dict converted (its
    lines by `claim_line`). A field the fold read from every claim entry of the type (`paid`,
    `reversed_lines`; an adjudicated entry's `lines` and `frequency`), or from every one with a
    line (`payer_id`, `practice_id`, `member_id`), missing raises KeyError as the fold's read
    did (a member id read only for some lines is asked of every entry with lines: no ledger
    lacks it); `rendering_npi` and a line's `diagnoses` are read as absent = None, as before."""
    if isinstance(data, ClaimData):
        return data
    if not adjudicated or ("lines" in data and "frequency" in data):  # else: the KeyError below
        try:  # a dict as the engine writes them: converted in C, the values as they are
            return _convert(data, ClaimData)
        except msgspec.ValidationError:
            pass  # a field missing or of another type: read here, as the fold read it
    lines = data["lines"] if adjudicated else data.get("lines", ())
    reversed_lines = data["reversed_lines"]
    frequency = data["frequency"] if adjudicated else data.get("frequency", "")
    if lines or reversed_lines:
        for name in ("payer_id", "practice_id", "member_id"):
            if name not in data:
                raise KeyError(name)
    return ClaimData(
        member_id=data.get("member_id", ""), paid=data["paid"],
        payer_id=data.get("payer_id", ""), practice_id=data.get("practice_id", ""),
        reversed_lines=[claim_line(line) for line in reversed_lines],
        lines=[claim_line(line) for line in lines], frequency=frequency,
        rendering_npi=data.get("rendering_npi"))
