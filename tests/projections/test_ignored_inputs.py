"""Inputs the adjudication ignores (malformed, or sent under another family's key) are left out of
everything built from the run: its `no_effect` answer's note says why, and the projections (the
payer state, attribution), `audit replay`, `audit explain`, `audit as-of` and `export` read the
run as if the input were not there. None of them stops on one: before, a malformed enrollment,
termination or alignment stopped every fold of the run (`attribute`, `audit replay`, the run
clock) with a TypeError or KeyError, and a well-formed one the adjudication ignored was folded
all the same (a member the claims were never paid by, an alignment to another practice)."""

from __future__ import annotations

import re

import orjson
import pytest

from claimsim.adjudication.audit.run_dir import fold
from claimsim.adjudication.projections import follower
from claimsim.adjudication.projections.state import PayerState
from claimsim.cli import main

from ..fixtures.damaged_runs import copy, entries, rewrite_log, simulate

K = 170  # where most hostile inputs go: after the first month's enrollments and alignments
AT = K + 1  # their first seq in the hostile run (one more goes before K)
FORMS = ([1, 2], "text", {}, None)  # data that is not an input's object, or an empty one
STATE = ("members", "alignments", "quality")


def _header(env, at):
    return {"type": env["type"], "v": env["v"], "at": at, "key": env["key"], "cause": None}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A simulated run and a copy with ignored inputs at K, both adjudicated."""
    base = tmp_path_factory.mktemp("ignored")
    clean = simulate(base / "clean")
    hostile = copy(clean, base / "hostile")
    bodies = entries(clean / "input")
    at = bodies[K - 1]["at"]
    first = {kind: next(e for e in bodies if e["type"] == kind)
             for kind in ("member.enrolled", "member.terminated", "alignment.declared")}
    enrolled, terminated, aligned = first.values()
    quality = {"type": "practice.quality_reported", "v": 1, "key": "PC001",
               "data": {"practice_id": "PC001", "payer_id": "COMMERCIAL", "performance_year": 2025,
                        "quality_bp": 8200, "utilization_bp": 9000}}
    other = next(e["key"] for e in bodies if e["type"] == "member.enrolled"
                 and e["key"] not in (aligned["key"], terminated["key"]))
    reference = orjson.loads((clean / "reference.json").read_bytes())
    practice = next(p["practice_id"] for p in reference["practices"]
                    if p["practice_id"] != aligned["data"]["practice_id"])
    # A claim after K, and its member's enrollment sent again on another plan of the payer under
    # another family's key: ignored, so the claim's story tells the plan it was paid on.
    own_of = {e["data"]["member_id"]: e for e in bodies if e["type"] == "member.enrolled"}
    claim = next(e for e in bodies[K:] if e["type"] == "claim.submitted"
                 and own_of[e["data"]["claim"]["member_id"]]["data"]["payer_id"] == "COMMERCIAL")
    own = own_of[claim["data"]["claim"]["member_id"]]
    plan = next(p["plan_id"] for p in reference["plans"] if p["payer_id"] == "COMMERCIAL"
                and p["plan_id"] != own["data"]["plan_id"])
    bad = [{**_header(env, at), "data": data} for env in (*first.values(), quality) for data in FORMS]
    bad += [  # well formed, and ignored all the same
        {**_header(enrolled, at), "data": {**enrolled["data"], "plan_id": "NO-SUCH-PLAN"}},
        {**_header(aligned, at), "key": other, "data": {**aligned["data"], "practice_id": practice}},
        {**_header(terminated, at), "key": other, "data": {**terminated["data"], "end": at}},
        # accepted by the model only by converting a value (the fold reads values as written)
        {**_header(quality, at), "data": {**quality["data"], "quality_bp": "8200"}},
        {**_header(quality, at), "data": {**quality["data"], "utilization_bp": 9000.0}},
        {**_header(aligned, at), "data": {**aligned["data"], "effective": 1767225600}},
        {**_header(enrolled, at), "data": {**enrolled["data"], "qmb": "false"}},
        {**_header(terminated, at), "data": {**terminated["data"],
                                             "end": terminated["data"]["end"] + "T00:00:00"}},
        {**_header(enrolled, at), "data": {**enrolled["data"], "subscriber_id": "S" * 100_000}},
    ]
    # Just before the member's own enrollment, so a reader that took it would meet it first.
    early = {**_header(own, own["at"]), "key": other if other != own["key"] else aligned["key"],
             "data": {**own["data"], "plan_id": plan}}
    j = bodies.index(own)
    assert j < K
    rewrite_log(hostile / "input", lambda b: [*b[:j], early, *b[j:K], *bad, *b[K:]])
    for run_dir in (clean, hostile):
        assert main(["adjudicate", str(run_dir), "--no-progress"]) == 0
    return clean, hostile, [early, *bad], claim["data"]["claim"]["claim_id"]


def _answers(run_dir):
    return {e["cause"]: e for e in entries(run_dir / "ledger") if e.get("cause") is not None}


def test_each_ignored_input_is_answered_no_effect_with_why(runs):
    _, hostile, (early, *bad), _ = runs
    answers = _answers(hostile)
    assert all(answers[AT + i]["type"] == "no_effect" for i in range(len(bad)))
    notes = [answers[AT + i]["data"]["note"] for i in range(len(bad))]
    ignored_early = next(e for e in answers.values() if e["type"] == "no_effect"
                         and e["data"]["note"].startswith("ignored: subscriber " + early["data"]["subscriber_id"]))
    assert ignored_early["data"]["note"] == (f"ignored: subscriber {early['data']['subscriber_id']}"
                                             f" sent under key {early['key']}")
    assert ignored_early["cause"] < K
    for i, (label, model) in enumerate((("enrollment", "MemberEnrolled"),
                                        ("termination", "MemberTerminated"),
                                        ("alignment", "AlignmentDeclared"),
                                        ("quality report", "PracticeQualityReported"))):
        not_object = (f"ignored: malformed {label} (: Input should be a valid dictionary or"
                      f" instance of {model})")
        assert notes[4 * i:4 * i + 4] == [not_object, not_object,
                                          f"ignored: malformed {label} ({'practice_id' if i == 3 else 'member_id'}: Field required)",
                                          not_object]
    assert notes[16] == (f"ignored: plan NO-SUCH-PLAN is not a plan of payer"
                         f" {bad[16]['data']['payer_id']}")
    assert notes[17] == (f"ignored: subscriber {bad[17]['data']['subscriber_id']} sent under key"
                         f" {bad[17]['key']}")
    assert notes[18] == f"ignored: member {bad[18]['data']['member_id']} is not enrolled"
    assert notes[19:] == [
        "ignored: malformed quality report (its values are not written as their types)",
        "ignored: malformed quality report (its values are not written as their types)",
        "ignored: malformed alignment (its values are not written as their types)",
        "ignored: malformed enrollment (its values are not written as their types)",
        "ignored: malformed termination (its values are not written as their types)",
        # a note is cut where a rejection's message is (`core.MESSAGE_LIMIT`), not the input's size
        ("ignored: subscriber " + "S" * 100_000)[:300]]


@pytest.mark.parametrize("read_ahead", [follower.READ_AHEAD, 4, 1])
def test_the_payer_state_leaves_ignored_inputs_out(runs, read_ahead, monkeypatch):
    """Also where the input's read-ahead blocks (`follower.READ_AHEAD`) end among the ignored
    inputs, and resumed from a checkpoint at the entries around them (each one with blocks of 4)."""
    clean, hostile, bad, _ = runs
    monkeypatch.setattr(follower, "READ_AHEAD", read_ahead)
    want, got = fold(clean).state(), fold(hostile).state()
    for piece in STATE:
        assert got[piece] == want[piece], piece
    assert want["alignments"] and want["members"]
    assert got["input_seq"] == want["input_seq"] + len(bad)  # every input passed, these unfolded
    block = len(bad) - 1  # the inputs at AT (the early one is before K)
    around = [e["seq"] for e in entries(hostile / "ledger")
              if AT - 2 <= (e.get("cause") or -9) < AT + block + 2]
    assert len(around) >= block + 4
    for seq in around[::3] if read_ahead != 4 else around:
        half = fold(hostile, until_seq=seq)
        resumed = PayerState(half.reference, half.settings)
        resumed.restore(orjson.loads(orjson.dumps(half.state())))
        f = follower.LedgerFollower(hostile, resumed)
        for env in entries(hostile / "ledger")[seq + 1:]:
            f.apply(env)
        assert {k: resumed.state()[k] for k in STATE} == {k: got[k] for k in STATE}, seq


def test_audit_replay_explain_and_as_of_read_the_run(runs, capsys):
    clean, hostile, bad, claim_id = runs
    assert main(["audit", "replay", str(hostile)]) == 0
    capsys.readouterr()
    stories = []
    for run_dir in (clean, hostile):  # the same story, its seqs moved by the inputs before it
        assert main(["audit", "explain", "claim", str(run_dir), claim_id]) == 0
        stories.append(re.sub(r"seq \d+", "seq N", capsys.readouterr().out))
    assert f"claim {claim_id} frequency" in stories[0] and stories[1] == stories[0]
    for run_dir in (hostile, clean):  # the same snapshots as of a date after the inputs
        assert main(["audit", "as-of", str(run_dir), "2025-06-15"]) == 0
    hostile_out, clean_out = _halves(capsys.readouterr().out)
    seqs = [int(re.search(r"as of ledger seq (\d+)", out[0]).group(1)) for out in (hostile_out, clean_out)]
    assert seqs[0] == seqs[1] + len(bad)  # their answers are before the date
    assert hostile_out[1:] == clean_out[1:] and len(clean_out) > 5


def _halves(text):
    lines = [line.replace("hostile", "RUN").replace("clean", "RUN") for line in text.splitlines()]
    half = len(lines) // 2
    return lines[:half], lines[half:]


def test_export_leaves_ignored_inputs_out(runs, tmp_path):
    clean, hostile, _, _ = runs
    for run_dir, out in ((clean, tmp_path / "clean"), (hostile, tmp_path / "hostile")):
        assert main(["export", str(run_dir), "--format", "tuva", "--out", str(out),
                     "--no-progress"]) == 0
    names = sorted(p.name for p in (tmp_path / "clean").iterdir())
    assert "eligibility.csv" in names and "alignment.csv" in names
    for name in names:
        assert (tmp_path / "hostile" / name).read_bytes() == (tmp_path / "clean" / name).read_bytes(), name
