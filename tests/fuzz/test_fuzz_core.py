"""Fuzzing the adjudication core's boundary: input envelopes as a hostile or broken submitter
could make them (schema-valid nonsense and JSON-level garbage inside the claim), interleaved with
valid inputs. Three promises are checked on every generated run:

1. nothing raises out of `adjudicate` (DESIGN.md "Errors");
2. every input gets exactly one answer, of an answer type, whose `cause` is its seq;
3. valid neighbours are unaffected: the answers to the valid inputs are the same, byte for byte
   (but for seq and cause), with and without the garbage between them.

The campaign size is `CLAIMSIM_FUZZ_EXAMPLES` (default 100 runs, seconds, for CI); the long
campaign sets it to e.g. 100000 (`CLAIMSIM_FUZZ_EXAMPLES=100000 pytest tests/fuzz -m fuzz`).
"""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claimsim.adjudication.engine import ANSWER_TYPES, adjudicate
from claimsim.events.encoding import canonical
from claimsim.events.envelope import new_event

from ..fixtures.adjudication import Harness, line
from .conftest import COUNTS

EXAMPLES = int(os.environ.get("CLAIMSIM_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 1000,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

pytestmark = pytest.mark.fuzz

CLAIM_FIELDS = ("claim_id", "frequency", "original_claim_id", "member_id", "subscriber_id",
                "payer_id", "billing_tin", "rendering_npi", "place_of_service", "received", "lines")
LINE_FIELDS = ("line_no", "service_date", "procedure", "modifiers", "units", "billed", "diagnoses")

# JSON values of every kind and size a submitter could send: what orjson would decode.
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**64 - 1),  # what orjson reads
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40),
    st.sampled_from(["", "9999-12-31", "0001-01-01", "2025-02-30", "2025-13-01", "2025-03-01",
                     "99213", "1" * 5000, "8", "7", "1", "-1", "\x00", "COM", "M1", "PCP1"]),
    st.integers(min_value=10**11, max_value=10**16),
)
json_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)


def _valid_claim(claim_id: str, member: str, day: str) -> dict[str, Any]:
    return {"claim_id": claim_id, "frequency": "1", "original_claim_id": None, "member_id": member,
            "subscriber_id": member, "payer_id": "COM", "billing_tin": "PCP1",
            "rendering_npi": "N1", "place_of_service": "11", "received": "2025-03-10",
            "lines": [line("99213", 12_000, day=day), line("36415", 500, day=day, line_no=2)]}


@st.composite
def broken_claims(draw) -> dict[str, Any]:
    """A valid claim with one to three fields (of the claim or of a line) replaced, removed, or
    the lines list replaced by garbage; sometimes a garbage top level altogether."""
    member = draw(st.sampled_from(["M1", "M2", "M3"]))
    claim = _valid_claim(f"X{draw(st.integers(0, 10**6))}", member, "2025-03-0" + draw(st.sampled_from("123")))
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)  # the whole claim is not an object, or an arbitrary one
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(["claim", "line", "lines", "extra"]))
        if where == "claim":
            field = draw(st.sampled_from(CLAIM_FIELDS))
            if draw(st.booleans()):
                claim.pop(field, None)
            else:
                claim[field] = draw(json_values)
        elif where == "line" and isinstance(claim.get("lines"), list) and claim["lines"]:
            target = claim["lines"][draw(st.integers(0, len(claim["lines"]) - 1))]
            if isinstance(target, dict):
                field = draw(st.sampled_from(LINE_FIELDS))
                target[field] = draw(json_values)
        elif where == "lines":
            claim["lines"] = draw(st.one_of(json_values, st.lists(json_values, max_size=3)))
        else:
            claim[draw(st.text(max_size=10))] = draw(json_values)
    return claim


@st.composite
def garbage_inputs(draw) -> tuple[str, dict[str, Any], str]:
    """(type, data, key) of one hostile input: mostly broken claims, also other input types
    with nonsense data, and types nobody registered."""
    kind = draw(st.sampled_from(["claim"] * 6 + ["enrolled", "terminated", "unknown"]))
    key = draw(st.sampled_from(["M1", "M2", "M3", "NOBODY", ""]))
    if kind == "claim":
        return "claim.submitted", {"claim": draw(broken_claims())}, key
    if kind == "enrolled":
        data = draw(st.dictionaries(st.sampled_from(["member_id", "subscriber_id", "payer_id",
                                                     "plan_id", "start", "end", "birth_date",
                                                     "sex", "qmb"]), json_values, max_size=9))
        return "member.enrolled", data, key
    if kind == "terminated":
        data = draw(st.dictionaries(st.sampled_from(["member_id", "subscriber_id", "payer_id",
                                                     "end"]), json_values, max_size=4))
        return "member.terminated", data, key
    return draw(st.sampled_from(["claim.unknown", "", "x" * 300, "member.enrolled.v9"])), \
        {"anything": draw(json_values)}, key


def _valid_script() -> list[tuple[str, dict[str, Any], str]]:
    """Three members, each enrolled, with an original, a replacement, a duplicate and a void."""
    script = []
    for m in ("M1", "M2", "M3"):
        script.append(("member.enrolled", {"member_id": m, "subscriber_id": m, "payer_id": "COM",
                                           "plan_id": "COM-P", "start": "2025-01-01", "end": None,
                                           "birth_date": "1960-01-01", "sex": "F"}, m))
    for m in ("M1", "M2", "M3"):
        script.append(("claim.submitted", {"claim": _valid_claim(f"{m}-A", m, "2025-03-01")}, m))
        script.append(("claim.submitted", {"claim": _valid_claim(f"{m}-B", m, "2025-03-02")}, m))
        replacement = _valid_claim(f"{m}-A2", m, "2025-03-01")
        replacement.update(frequency="7", original_claim_id=f"{m}-A")
        script.append(("claim.submitted", {"claim": replacement}, m))
        script.append(("claim.submitted", {"claim": _valid_claim(f"{m}-C", m, "2025-03-02")}, m))
        void = _valid_claim(f"{m}-B8", m, "2025-03-02")
        void.update(frequency="8", original_claim_id=f"{m}-B")
        script.append(("claim.submitted", {"claim": void}, m))
    return script


def _run(inputs: list[tuple[str, dict[str, Any], str, bool]]) -> list[tuple[bool, dict[str, Any], int]]:
    """Feed inputs through the core as a runtime would; (is valid, answer, seq) per input."""
    h = Harness()
    out = []
    for seq, (type_, data, key, valid) in enumerate(inputs):
        env = new_event(copy.deepcopy(data), at="2025-03-10", key=key, type=type_, v=1)
        env["seq"] = seq
        answer, state = adjudicate(env, h.families.get(key), h.ctx)
        h.families[key] = state
        out.append((valid, answer, seq))
    return out


def _comparable(answer: dict[str, Any]) -> bytes:
    return canonical({k: v for k, v in answer.items() if k != "cause"})


@FUZZ
@given(garbage=st.lists(garbage_inputs(), min_size=1, max_size=8), data=st.data())
def test_garbage_between_valid_inputs_gets_one_answer_each_and_changes_no_valid_answer(garbage, data):
    valid = [(*v, True) for v in _valid_script()]
    mixed = list(valid)
    for item in garbage:
        mixed.insert(data.draw(st.integers(0, len(mixed))), (*item, False))

    answers = _run(mixed)  # (1) nothing raises
    COUNTS["core: hostile inputs"] += len(garbage)
    COUNTS["core: inputs adjudicated"] += len(mixed)

    for _, answer, seq in answers:  # (2) one answer of an answer type per input, caused by it
        assert answer["type"] in ANSWER_TYPES and answer["cause"] == seq
    assert len(answers) == len(mixed)
    for (valid_input, answer, _), item in zip(answers, mixed):
        if not valid_input and item[0] == "claim.submitted":
            assert answer["type"] in {"claim.rejected", "claim.adjudicated", "claim.reversed"}
        if answer["type"] == "claim.rejected":
            assert answer["data"]["reason"] and answer["data"]["field"] is not None

    alone = [_comparable(a) for _, a, _ in _run(valid)]  # (3) valid neighbours unaffected
    beside = [_comparable(a) for ok, a, _ in answers if ok]
    # A garbage claim that happens to be valid (e.g. only an extra key changed) may take a
    # duplicate's or copay's place: only runs where every garbage claim was rejected compare.
    if all(a["type"] != "claim.adjudicated" and a["type"] != "claim.reversed"
           for ok, a, _ in answers if not ok):
        assert beside == alone
