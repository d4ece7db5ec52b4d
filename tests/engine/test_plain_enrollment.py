"""The core reads a plainly written enrollment (strings, YYYY-MM-DD dates, booleans) without the
pydantic model (`core.plain_enrollment`) and hands anything else to `MemberEnrolled`. Whatever
the plain reading accepts, the model must accept with the same values, or an enrollment's span
(and every claim after it) would depend on which path read it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from claimsim.adjudication.engine.core import plain_enrollment
from claimsim.events.input import MemberEnrolled

BASE = {
    "member_id": "F000001-0", "subscriber_id": "F000001", "payer_id": "MCR", "plan_id": "MCR-B",
    "start": "2025-01-01", "end": None, "birth_date": "1955-05-05", "sex": "F",
    "relationship": "self", "qmb": True, "hospice": False,
}
# Each a change to BASE (None as a value: the key removed); the model accepts some, not others.
CHANGES = [
    {}, {"end": "2025-12-31"}, {"end": None}, {"qmb": None}, {"hospice": None},
    {"relationship": None},
    {"end": None, "qmb": None, "hospice": None, "relationship": None},
    {"race": "white", "ethnicity": "not_hispanic", "language": "en"}, {"race": None},
    {"sex": "U"}, {"sex": "M"}, {"sex": "X"}, {"sex": "f"}, {"sex": "F\n"}, {"sex": ["F"]},
    {"qmb": 1}, {"qmb": 0}, {"qmb": "true"}, {"hospice": "no"}, {"hospice": 1},
    {"start": "2025-1-01"}, {"start": "20250101"}, {"start": "2025-W01-1"}, {"start": "2025-02-30"},
    {"start": "2025-01-01T00:00:00"}, {"start": "２０２５-01-01"}, {"start": 20250101},
    {"start": "0000-01-01"}, {"start": "9999-12-31"}, {"start": " 2025-01-01"},
    {"end": "2025-13-01"}, {"end": ""}, {"birth_date": "1955-5-5"}, {"birth_date": None},
    {"member_id": None}, {"member_id": 7}, {"member_id": ""}, {"subscriber_id": b"F1"},
    {"payer_id": ["MCR"]}, {"plan_id": None}, {"race": 3}, {"language": ""},
    {"extra": 1}, {"relationship": 0},
]


def _with(change: dict) -> dict:
    data = dict(BASE)
    for name, value in change.items():
        if value is None and name not in ("end", "race"):
            data.pop(name, None)
        else:
            data[name] = value
    return data


@pytest.mark.parametrize("change", CHANGES, ids=[repr(c) for c in CHANGES])
def test_a_plain_reading_is_the_models_reading(change):
    data = _with(change)
    plain = plain_enrollment(data)
    if plain is None:
        return  # the model decides (tested with the core's enrollment notes elsewhere)
    e = MemberEnrolled.model_validate(data)  # raises if the plain reading took what it refuses
    assert plain == (e.member_id, e.subscriber_id, e.payer_id, e.plan_id, e.start.isoformat(),
                     e.end.isoformat() if e.end else None, e.qmb)


def test_plain_enrollments_are_read_plainly_and_the_rest_go_to_the_model():
    """The simulator's and the synthetic mix's form takes the plain path; odd forms the model
    accepts (a 1 for true, a missing `sex` it refuses) are left to it."""
    assert plain_enrollment(BASE) == ("F000001-0", "F000001", "MCR", "MCR-B", "2025-01-01", None,
                                      True)
    assert plain_enrollment(_with({"end": "2025-06-30", "qmb": None})) == (
        "F000001-0", "F000001", "MCR", "MCR-B", "2025-01-01", "2025-06-30", False)
    for change in ({"qmb": 1}, {"start": "2025-02-30"}, {"sex": None}, {"extra": 1}):
        assert plain_enrollment(_with(change)) is None
    assert MemberEnrolled.model_validate(_with({"qmb": 1})).qmb is True
    with pytest.raises(ValidationError):
        MemberEnrolled.model_validate(_with({"start": "2025-02-30"}))
