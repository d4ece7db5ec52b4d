"""A claim entry reaches the fold's handlers as a `claim_entry.ClaimData` either way: decoded by
`entries.ClaimDecoder`, or decoded in full (refused, at an older version, a caller's dict) and
converted by `claim_data`. Both give the fold the same values (a field absent or null, a void,
a v1 entry without diagnoses), and an entry missing a field fails as the fold's read of the dict
failed."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from claimsim.events.codes import ICD10_CONDITION
from claimsim.events.log import LogWriter, read

from claimsim.adjudication.projections.claim_entry import Absent, ClaimData, claim_data
from claimsim.adjudication.projections.entries import fold_envelopes
from claimsim.adjudication.projections.state import PayerState

from ..fixtures.projections import reference


def _line(**changes: Any) -> dict[str, Any]:
    """A line as the engine writes it (every field), changed; a change to None drops the field."""
    line = {"adjustments": [], "allowed": 100, "attributed": False, "billed": 150,
            "cap_offset": 0, "capitated": False, "coinsurance": 20, "copay": 0, "cost_share": 20,
            "deductible": 0, "diagnoses": ["E11.9"], "line_no": 1, "medicaid_cost_share": 0,
            "member_id": "M1", "plan_paid": 80, "procedure": "99213", "program": "ffs",
            "remarks": [], "sequestration": 0, "service_date": "2025-01-02", "shadow_allowed": 0,
            "status": "paid", "units": 1}
    line.update(changes)
    return {k: v for k, v in line.items() if v is not None or k not in changes}


def _drop(d: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in names}


def _adjudicated(cause: int, *lines: dict[str, Any], v: int = 2, **changes: Any) -> dict[str, Any]:
    data = {"claim_id": f"C{cause}", "frequency": "1", "lines": list(lines) or [_line()],
            "member_id": "M1", "original_claim_id": None, "paid": "2025-01-10",
            "payer_id": "MCR", "practice_id": "P1", "received": "2025-01-03",
            "rendering_npi": "N1", "reversed_claim_id": None, "reversed_lines": [],
            "subscriber_id": "M1", **changes}
    return {"type": "claim.adjudicated", "v": v, "at": "2025-01-10", "key": "M1",
            "cause": cause, "data": data}


def _void(cause: int) -> dict[str, Any]:
    negated = _line(allowed=-100, billed=-150, coinsurance=-20, cost_share=-20, plan_paid=-80)
    data = {"claim_id": f"V{cause}", "member_id": "M1", "original_claim_id": "C0",
            "paid": "2025-02-10", "payer_id": "MCR", "practice_id": "P1",
            "received": "2025-02-03", "reversed_claim_id": "C0", "reversed_lines": [negated],
            "subscriber_id": "M1"}
    return {"type": "claim.reversed", "v": 2, "at": "2025-02-10", "key": "M1", "cause": cause,
            "data": data}


def _both(log: Path, events: list[dict[str, Any]]) -> tuple[list[Any], list[Any]]:
    """The log these events make, as the fold reads it and as `read` gives it."""
    with LogWriter(log, segment_events=100) as w:
        w.extend(events)
    return list(fold_envelopes(log)), list(read(log))


def _fold(envelopes, pending: dict[str, list[str]] | None = None) -> str:
    state = PayerState(reference())
    state.input_dx_skipped = False
    state.pending_dx.update(pending or {})
    for env in envelopes:
        state.apply(env)
    return hashlib.sha256(b"".join(state.state_pieces())).hexdigest()


def test_a_field_absent_or_null_is_read_alike_decoded_or_converted(tmp_path):
    """rendering_npi null / absent, a line's diagnoses null / absent, a void (no lines, no
    frequency, no NPI): the decoder's struct equals the conversion of the full entry's dict."""
    events = [_adjudicated(0), _adjudicated(1, rendering_npi=None),
              _drop(_adjudicated(2), "data") | {"data": _drop(_adjudicated(2)["data"],
                                                               "rendering_npi")},
              _adjudicated(3, _line(diagnoses=None) | {"diagnoses": None}),
              _adjudicated(4, _line(diagnoses=None)), _void(5)]
    got, full = _both(tmp_path / "log", events)
    assert "rendering_npi" not in full[2]["data"] and "diagnoses" not in full[4]["data"]["lines"][0]
    for g, f in zip(got, full, strict=True):
        assert type(g["data"]) is ClaimData  # all decoded by the decoder
        assert g["data"] == claim_data(f["data"], f["type"] == "claim.adjudicated")
    assert [g["data"].rendering_npi for g in got] == ["N1", None, None, "N1", "N1", None]
    assert [g["data"].lines[0].diagnoses for g in got[:5]] == [["E11.9"]] * 3 + [None, None]
    void = got[5]["data"]
    assert (void.lines, void.frequency, len(void.reversed_lines)) == ([], "", 1)
    assert _fold(got) == _fold(full)


def test_a_v1_entry_folds_its_pending_diagnoses_as_a_v2_entry_folds_its_lines(tmp_path):
    """A v1 entry (no diagnoses; decoded in full, upcast, converted) takes the conditions its
    submission left pending; the same claim at v2 carries them on its lines: the same state."""
    got, _ = _both(tmp_path / "v1", [_adjudicated(7, _drop(_line(), "diagnoses"), v=1)])
    assert type(got[0]["data"]) is dict and got[0]["data"]["lines"][0]["diagnoses"] is None
    v2, _ = _both(tmp_path / "v2", [_adjudicated(7)])
    assert type(v2[0]["data"]) is ClaimData
    diabetes = ICD10_CONDITION["E11.9"].value
    assert _fold(got, {"7": [diabetes]}) == _fold(v2)
    assert _fold(got, {"7": [diabetes]}) != _fold(got)  # the pending conditions mattered


def test_a_missing_field_fails_as_the_folds_read_of_the_dict_failed(tmp_path):
    """A line without plan_paid, or without status on a line the fold counts (99213), and data
    without payer_id: KeyError naming the field, whether refused by the decoder or a dict. A line
    without status on a procedure the fold does not count folds as with one."""
    cases = [(_adjudicated(0, _drop(_line(), "plan_paid")), "plan_paid"),
             (_adjudicated(1, _drop(_line(), "status")), "status"),
             (_drop(_adjudicated(2), "data") | {"data": _drop(_adjudicated(2)["data"],
                                                              "payer_id")}, "payer_id")]
    got, full = _both(tmp_path / "log", [case for case, _ in cases])
    for (_, name), g, f in zip(cases, got, full, strict=True):
        assert type(g["data"]) is dict  # refused: decoded in full
        for env in (g, f):
            with pytest.raises(KeyError, match=name):
                _fold([env])
    lab = _adjudicated(3, _drop(_line(procedure="83036X"), "status"))
    assert _fold([{**lab, "seq": 3}]) == _fold(
        [{**_adjudicated(3, _line(procedure="83036X")), "seq": 3}])


def test_a_converted_line_without_status_raises_only_when_the_fold_reads_it():
    data = claim_data(_adjudicated(0, _drop(_line(), "status"))["data"], True)
    status = data.lines[0].status
    assert isinstance(status, Absent)
    with pytest.raises(KeyError, match="status"):
        _ = status == "denied"
