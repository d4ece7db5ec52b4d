"""The aligned fold's reader (`aligned_entries.aligned_envelopes`) against `events.log.read`: a whole
run's logs folded both ways give the same facts, most claim entries taking the partial decode;
on a hand-written log, a claim entry holds exactly the fields the fold reads with the values
`read` gives, an entry with a field of a type the decoder refuses is decoded in full, and only
entries the fold ignores are left out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from claimsim.events.log import LogWriter, read
from claimsim.events.reference import ReferenceData

from claimsim.adjudication.projections.aligned_entries import aligned_envelopes
from claimsim.adjudication.projections.fold.aligned import AlignedFold
from claimsim.adjudication.projections.primary_care_spend import SpendSettings

from ..fixtures.damaged_runs import run


def _facts(run_dir: Path, reader) -> tuple[Any, int]:
    """The facts of both logs through `reader`, and how many envelopes came without a chain
    (`hash`): the partly decoded ones."""
    s = SpendSettings()
    fold, partial = AlignedFold(ReferenceData.load(run_dir), s.services, s.places), 0
    for log in ("input", "ledger"):
        for env in reader(run_dir / log):
            partial += "hash" not in env
            fold.apply(env)
    return fold.facts, partial


def test_a_whole_runs_facts_are_the_same_read_in_full_or_in_part(tmp_path):
    run_dir = run(tmp_path / "run")
    full, none = _facts(run_dir, read)
    part, partial = _facts(run_dir, aligned_envelopes)
    assert none == 0 and partial > 1_000
    claims = sum(1 for log in ("input", "ledger") for env in read(run_dir / log)
                 if env["type"] in ("claim.submitted", "claim.adjudicated", "claim.reversed"))
    assert partial == claims  # every claim entry of a run's own logs takes the partial decode
    for name in full.__dataclass_fields__:
        got, want = getattr(part, name), getattr(full, name)
        assert got == want, name
        if isinstance(want, dict):
            assert list(got) == list(want), name  # and in the same order (the tables' rows)


def _line(day: str, paid: Any) -> dict[str, Any]:
    return {"adjustments": [{"amount": 5, "carc": "45", "group": "CO"}], "billed": 900,
            "cost_share": 100, "medicaid_cost_share": 0, "member_id": "M1", "plan_paid": paid,
            "procedure": "99213", "units": 1,
            "remarks": [], "service_date": day, "status": "paid"}


def _adjudicated(claim_id: str, paid: Any, v: int = 2) -> dict[str, Any]:
    return {"type": "claim.adjudicated", "v": v, "at": "2025-03-02", "key": "S1", "cause": 0,
            "data": {"claim_id": claim_id, "payer_id": "MCR", "practice_id": "P1",
                     "frequency": "1", "original_claim_id": None, "reversed_claim_id": None,
                     "lines": [_line("2025-03-01", paid)], "reversed_lines": []}}


def test_each_kind_of_entry_is_decoded_in_part_in_full_or_left_out(tmp_path):
    with LogWriter(tmp_path / "ledger") as w:
        w.extend([
            _adjudicated("C1", 800),  # partial
            _adjudicated("C2", 8.5),  # a float amount: refused, decoded in full
            {"type": "no_effect", "v": 1, "at": "2025-03-02", "key": "S1", "cause": 1,
             "data": {"reason": "duplicate"}},  # ignored by the fold: left out
            {"type": "payment.prospective", "v": 1, "at": "2025-03-31", "key": "P1", "cause": None,
             "data": {"payer_id": "MCR", "practice_id": "P1", "month": "2025-03", "kind": "cmf",
                      "amount": 1_500}},  # folded: decoded in full
        ])
    full = list(read(tmp_path / "ledger"))
    got = list(aligned_envelopes(tmp_path / "ledger"))
    assert [e["type"] for e in got] == ["claim.adjudicated", "claim.adjudicated",
                                        "payment.prospective"]
    assert got[0] == {"type": "claim.adjudicated", "v": 2, "cause": 0, "data": {
        "claim_id": "C1", "payer_id": "MCR", "practice_id": "P1", "original_claim_id": None,
        "reversed_claim_id": None, "reversed_lines": [],
        "lines": [{"cost_share": 100, "medicaid_cost_share": 0, "member_id": "M1", "plan_paid": 800,
                   "procedure": "99213", "service_date": "2025-03-01", "status": "paid"}]}}
    assert (got[1], got[2]) == (full[1], full[3])  # whole, with the chain fields
    assert got[1]["data"]["lines"][0]["plan_paid"] == 8.5
