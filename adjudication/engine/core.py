"""The pure core both runtimes call: one input envelope + its family's state -> exactly one ledger
entry + the family's new state (DESIGN.md "The two runtimes share one core"). No I/O, no clock.

Claims go through `claims.py`; enrollment changes the family's spans; an input line that could
not be read, or whose type this code does not know, is a typed rejection naming the seq and the
field; every other input is recorded as `no_effect`. An input whose seq the family already applied re-emits its stored result,
byte for byte, and changes nothing (at-least-once delivery on Kafka).
"""

from __future__ import annotations

import datetime as dt
from sys import intern
from typing import Any, Final, cast

from pydantic import ValidationError

from claimsim.events.typed_input import (
    EnrollmentFields, EnrollmentIn, TypedClaim, TypedEnrollment, astuple,
)
from claimsim.events.codes import REJECT_CARC, RejectReason
from claimsim.events.encoding import canonical
from claimsim.events.input import (
    AlignmentDeclared, MemberEnrolled, MemberTerminated, PracticeQualityReported,
)
from claimsim.events.input_reader import UNREADABLE
from claimsim.events.registry import EventError, check_known, current_version, known_types

from claimsim.adjudication.engine.claims import adjudicate_claim, claim_event_data
from claimsim.adjudication.engine.context import Context
from claimsim.adjudication.engine.file_pricing import file_amounts
from claimsim.adjudication.engine.family import (
    ADJUDICATED, NO_EFFECT, REJECTED, REVERSED, SPAN_END, SPAN_PAYER, SPAN_START, FamilyState,
)
from claimsim.adjudication.engine.typed_claims import validate_typed
from claimsim.adjudication.engine.validation import ID_CHARS, Invalid, fast_day, validate_claim

# The longest rejection message or `no_effect` note the ledger records (a hostile input's ids or
# field names go into them; the raw input a rejection quotes has its own `Settings.raw_limit`).
MESSAGE_LIMIT: Final = 300
# The ledger types that answer an input (one per input seq, `cause` = that seq).
ANSWER_TYPES: Final = frozenset({"claim.adjudicated", "claim.reversed", "claim.rejected", "no_effect"})


def adjudicate(envelope: dict[str, Any], family: FamilyState | None, ctx: Context,
               keep_result: bool = True) -> tuple[dict[str, Any], FamilyState]:
    """Adjudicate one raw input envelope (as `events.log.read` yields it) for its family.

    Returns the one ledger event (built with `new_event`, `key` = the input's key, `cause` = its
    seq) and the family's state. The state is updated in place and returned (a new one when
    `family` is None). Ledger `at` is the claim's paid date (received + the payer's processing
    days) for adjudications and reversals, and the input's own `at` for rejections and no-effects.
    The input's stored result goes into `family.results` (for a redelivery) unless `keep_result`
    is False: a runtime whose ledger holds every answer keeps none.
    """
    seq = envelope["seq"]
    if family is None:
        family = FamilyState(envelope["key"])
    elif seq <= family.last_seq:
        return replay(seq, family), family
    kind = envelope["type"]
    # Compared as a str (an untrusted type can be any JSON value, which names no known type):
    # compiled, a comparison of `Any` is a generic one.
    name = kind if type(kind) is str else ""
    record = None  # the claim's record, for a claim adjudicated or reversed
    if name == "claim.submitted":
        result, record = _claim(envelope, family, ctx)
    elif name == "member.enrolled":
        result = [NO_EFFECT, envelope["at"], kind, _enroll(envelope, family, ctx)[:MESSAGE_LIMIT]]
    elif name == "member.terminated":
        result = [NO_EFFECT, envelope["at"], kind, _terminate(envelope, family)[:MESSAGE_LIMIT]]
    elif name == UNREADABLE or not _known(kind, envelope["v"]):
        result = [REJECTED, envelope["at"], _unusable(envelope, ctx)]
    else:
        result = [NO_EFFECT, envelope["at"], kind,
                  _note(kind, envelope, family, ctx)[:MESSAGE_LIMIT]]
    if keep_result:
        family.results[seq] = result
    family.last_seq = seq
    return _event(seq, result, family, record), family


def replay(seq: int, family: FamilyState) -> dict[str, Any]:
    """The ledger entry already emitted for an applied input seq, rebuilt from the state."""
    result = family.results.get(seq)
    if result is None:
        raise ValueError(
            f"input seq {seq} is at or before family {family.subscriber_id!r}'s last applied seq"
            f" {family.last_seq} but was never applied to it"
        )
    return _event(seq, result, family)


def _event(seq: int, result: list[Any], family: FamilyState,
           record: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ledger entry a stored result stands for (its layouts: `family.ADJUDICATED` ...);
    `record`: the claim's record when the caller holds it."""
    at: Any  # an input's own `at` (rejections, no-effects) is untrusted: any JSON value
    tag: str = result[0]  # typed: compared as a str
    if tag == ADJUDICATED or tag == REVERSED:
        kind, at, data = claim_event_data(family, result, record)
    elif tag == REJECTED:
        _, at, data = result
        kind = "claim.rejected"
    else:
        _, at, input_type, note = result
        kind, data = "no_effect", {"input_type": input_type, "note": note}
    # What `new_event` builds for a dict payload, as a copy of the answer type's envelope
    # (`_ENVELOPES`: its type and current version set, the registry is fixed) with four stores:
    # one ledger entry per input, and the copy of a table costs less than building it key by key.
    template = _ENVELOPES.get(kind)
    if template is None:
        template = _ENVELOPES[kind] = {"at": None, "cause": None, "data": None, "key": None,
                                       "type": kind, "v": current_version(kind)}
    if type(at) is not str and isinstance(at, dt.date):  # a claim's `at` is always a str
        at = at.isoformat()
    # Keys sorted (the writer appends `seq`, which sorts between "key" and "type").
    event = template.copy()
    event["at"] = at
    event["cause"] = seq
    event["data"] = data
    event["key"] = family.subscriber_id
    return event


# A class of a module that is not compiled, held `Final`: the compiled module keeps it in a C
# static, where the imported name is looked up in the module's dict at every claim.
_TYPED_CLAIM: Final = TypedClaim
# answer type -> its ledger entry with `at`, `cause`, `data` and `key` to fill (`_event`)
_ENVELOPES: Final[dict[str, dict[str, Any]]] = {}


def _claim(envelope: dict[str, Any], family: FamilyState, ctx: Context
           ) -> tuple[list[Any], dict[str, Any] | None]:
    """The claim's stored result and, unless rejected, its record as it now stands."""
    data = envelope["data"]
    if type(data) is _TYPED_CLAIM:  # `input_reader.read_checked(typed=True)`'s plain claim line
        claim = None if ctx.price_from_file else validate_typed(data.claim, envelope["key"], ctx)
        if claim is not None:
            try:
                return adjudicate_claim(claim, envelope["seq"], family, ctx)
            except Invalid as bad:  # the family's own checks: worded from the claim as a dict
                return [REJECTED, envelope["at"], _rejection(data.as_dict()["claim"], bad, ctx)], None
        data = data.as_dict()  # anything the typed checks refuse: the dict reading decides
    raw: Any = data.get("claim") if isinstance(data, dict) else None
    try:
        claim = validate_claim(raw, envelope["key"], ctx)
        if ctx.price_from_file:
            return adjudicate_claim(claim, envelope["seq"], family, ctx, file_amounts(raw, claim))
        return adjudicate_claim(claim, envelope["seq"], family, ctx)
    except Invalid as bad:
        return [REJECTED, envelope["at"], _rejection(raw if raw is not None else data, bad, ctx)], None


# The input types the core checks and keeps nothing of: the projections fold them (a member's
# chosen practice, a practice's quality scores), and fold only an input the core applied, which
# its `no_effect` says with an empty note; an ignored one's note says why (`fold.follow`).
_CHECKED: Final[dict[str, tuple[Any, str]]] = {
    "alignment.declared": (AlignmentDeclared, "alignment"),
    "practice.quality_reported": (PracticeQualityReported, "quality report"),
}


NOT_AS_WRITTEN: Final = "its values are not written as their types"


def as_written(model: Any, data: Any) -> bool:
    """Whether an input the model accepted holds its values as the model writes them: one it
    accepts only by converting a value (a date as a timestamp or with a time, a flag as text, a
    number as text or with a fraction) is ignored, since the projections read the values as
    written and would read another (`"qmb": "false"` is False here and true there)."""
    return canonical(model.model_dump(mode="json", exclude_unset=True)) == canonical(data)


def _read_model(model: Any, label: str, data: Any) -> tuple[Any, str]:
    """An input's data read by its model, and "", or None and why the input is ignored: the
    model refuses it (the first error, where and what), or accepts it only by converting a value."""
    try:
        e = model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        return None, f"ignored: malformed {label} ({'.'.join(str(p) for p in first['loc'])}: {first['msg']})"
    if not as_written(e, data):
        return None, f"ignored: malformed {label} ({NOT_AS_WRITTEN})"
    return e, ""


def _note(kind: str, envelope: dict[str, Any], family: FamilyState, ctx: Context) -> str:
    """"" for an input applied as it stands, else why it is ignored: one the model refuses or
    accepts only by converting a value, or an alignment sent under another subscriber's key (as
    for an enrollment) or to a practice the reference data does not hold."""
    checked = _CHECKED.get(kind)
    if checked is None:
        return ""
    e, why = _read_model(*checked, envelope["data"])
    if e is None:
        return why
    if type(e) is AlignmentDeclared and e.subscriber_id != family.subscriber_id:
        return f"ignored: subscriber {e.subscriber_id} sent under key {family.subscriber_id}"
    if type(e) is AlignmentDeclared and e.practice_id not in ctx.practice_kind:
        return f"ignored: practice {e.practice_id} is not in the reference data"
    return ""


_KNOWN: Final[dict[tuple[Any, Any], bool]] = {}  # (type, v) -> readable by this code


def _known(kind: Any, v: Any) -> bool:
    found = _KNOWN.get((kind, v)) if isinstance(kind, str) and isinstance(v, int) else False
    if found is None:
        try:
            check_known(kind, v)
            found = True
        except EventError:
            found = False
        _KNOWN[(kind, v)] = found
    return found


def _unusable(envelope: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """The rejection of an input the core cannot read at all: a line that is not an envelope,
    or an event type (or version) this code does not know."""
    seq, kind = envelope["seq"], envelope["type"]
    if kind == UNREADABLE:
        data = envelope["data"]
        bad = Invalid(RejectReason.UNREADABLE_INPUT, "line", f"input seq {seq}: {data['problem']}")
        return _rejection(data["raw"], bad, ctx)
    if isinstance(kind, str) and kind in known_types():
        field, message = "v", f"input seq {seq}: event type {kind!r} has no version {envelope['v']!r}"
    else:
        field, message = "type", f"input seq {seq}: unknown event type {kind!r}"
    bad = Invalid(RejectReason.UNKNOWN_INPUT_TYPE, field, message)
    return _rejection(envelope.get("data"), bad, ctx)


def _rejection(raw: Any, bad: Invalid, ctx: Context) -> dict[str, Any]:
    def text(name: str) -> str | None:  # an id past the limits is cut there, as `raw` is
        value = raw.get(name) if isinstance(raw, dict) else None
        return value[:ID_CHARS] if isinstance(value, str) else None

    return {  # keys sorted, as `line_results.line_result` says why
        "carc": REJECT_CARC[bad.reason],
        "claim_id": text("claim_id"),
        "field": bad.field,
        "member_id": text("member_id"),
        "message": bad.message[:MESSAGE_LIMIT],
        "raw": canonical(raw).decode()[: ctx.settings.raw_limit],
        "reason": bad.reason.value,
        "subscriber_id": text("subscriber_id"),
    }


def _enroll(envelope: dict[str, Any], family: FamilyState, ctx: Context) -> str:
    data = envelope["data"]
    fields = None
    if type(data) is TypedEnrollment:  # `input_reader.read_checked(typed=True)`'s plain line
        fields = typed_enrollment(data.enrollment)
        if fields is None:
            data = data.as_dict()  # the dict reading decides
    if fields is None:
        fields = plain_enrollment(data)
    if fields is None:  # the model decides, and words what is wrong
        e, why = _read_model(MemberEnrolled, "enrollment", data)
        if e is None:
            return why
        fields = (e.member_id, e.subscriber_id, e.payer_id, e.plan_id, e.start.isoformat(),
                  e.end.isoformat() if e.end else None, e.qmb)
    member_id, subscriber_id, payer_id, plan_id, start, end, qmb = fields
    if subscriber_id != family.subscriber_id:
        return f"ignored: subscriber {subscriber_id} sent under key {family.subscriber_id}"
    plan = ctx.plans.get(plan_id)
    if plan is None or plan.payer_id != payer_id:
        return f"ignored: plan {plan_id} is not a plan of payer {payer_id}"
    if end is not None and end < start:  # a span of no day: it would only deny later claims
        return f"ignored: coverage ends {end}, before it starts {start}"
    # The span holds the Context's own payer and plan ids and interned days: objects every
    # family shares, which a claim's `span_on` and plan lookup then find in the cache (or by
    # identity), where each span's own copies were cache misses.
    family.members.setdefault(member_id, []).append(  # the layout SPAN_* names
        [plan.payer_id, plan.plan_id, intern(start), None if end is None else intern(end), qmb])
    return ""


# `MemberEnrolled`'s fields (it forbids others) and the values of its `sex` pattern.
_ENROLLED_FIELDS: Final = frozenset(MemberEnrolled.model_fields)
_SEXES: Final = frozenset({"F", "M", "U"})


def plain_enrollment(data: Any) -> tuple[str, str, str, str, str, str | None, bool] | None:
    """(member, subscriber, payer, plan, start, end | None, qmb) of an enrollment written as the
    simulator and the interchange formats write one (plain strings, YYYY-MM-DD dates, booleans),
    which `MemberEnrolled` accepts as it stands, with the same values; None for anything else
    (the model then decides). Validating with the model cost some 28,000 instructions an
    enrollment; tests/engine/test_plain_enrollment.py holds the two to the same answers."""
    if type(data) is not dict:
        return None
    for name in data:  # `data.keys() <= _ENROLLED_FIELDS`, whose set comparison cost ~3,100
        if name not in _ENROLLED_FIELDS:
            return None
    member_id, subscriber_id = data.get("member_id"), data.get("subscriber_id")
    payer_id, plan_id, sex = data.get("payer_id"), data.get("plan_id"), data.get("sex")
    start, end, qmb = data.get("start"), data.get("end"), data.get("qmb", False)
    if not (type(member_id) is str and type(subscriber_id) is str and type(payer_id) is str
            and type(plan_id) is str and type(sex) is str and sex in _SEXES
            and type(qmb) is bool and type(data.get("hospice", False)) is bool
            and type(data.get("relationship", "")) is str
            and _plain_day(start) and _plain_day(data.get("birth_date"))
            and (end is None or _plain_day(end))):
        return None
    for name in ("race", "ethnicity", "language"):
        value = data.get(name)
        if value is not None and type(value) is not str:
            return None
    assert type(start) is str and (end is None or type(end) is str)
    return member_id, subscriber_id, payer_id, plan_id, start, end, qmb


def typed_enrollment(e: EnrollmentIn) -> tuple[str, str, str, str, str, str | None, bool] | None:
    """`plain_enrollment` of an enrollment read typed (`events.typed_input`: its fields are
    `MemberEnrolled`'s and of the JSON types `plain_enrollment` takes): the same values, or None
    for what it would refuse. tests/runtimes/test_typed_input.py holds the two together."""
    (birth_date, end, _, _, _, member_id, payer_id, plan_id, qmb, _, _, sex, start,
     subscriber_id) = cast(EnrollmentFields, astuple(e))
    if not (sex in _SEXES and _plain_day(start) and _plain_day(birth_date)
            and (end is None or _plain_day(end))):
        return None
    return member_id, subscriber_id, payer_id, plan_id, start, end, qmb


def _plain_day(value: Any) -> bool:
    """A valid date written YYYY-MM-DD in ASCII digits (a date the model reads as itself)."""
    return (type(value) is str and len(value) == 10 and value.isascii() and value[4] == "-"
            and value[7] == "-" and fast_day(value) is not None)


def _terminate(envelope: dict[str, Any], family: FamilyState) -> str:
    """Coverage with the payer ends on `end` (inclusive): spans running past it are cut there."""
    t, why = _read_model(MemberTerminated, "termination", envelope["data"])
    if t is None:
        return why
    spans = family.members.get(t.member_id)
    if not spans:
        return f"ignored: member {t.member_id} is not enrolled"
    end = t.end.isoformat()
    if not any(s[SPAN_PAYER] == t.payer_id and s[SPAN_START] <= end for s in spans):
        return f"ignored: member {t.member_id} has no coverage with {t.payer_id} by {end}"
    for span in spans:
        if span[SPAN_PAYER] == t.payer_id and span[SPAN_START] <= end and (
                span[SPAN_END] is None or span[SPAN_END] > end):
            span[SPAN_END] = end
    return ""

