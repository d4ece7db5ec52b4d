"""Inputs the adjudication ignores (malformed, or sent under another family's key) are left out of
everything built from the run: its `no_effect` answer's note says why, and the projections (the
payer state, attribution), `audit replay`, `audit explain`, `audit as-of` and `export` read the
run as if the input were not there. None of them stops on one: before, a malformed enrollment,
termination or alignment stopped every fold of the run (`attribute`, `audit replay`, the run
clock) with a TypeError or KeyError, and a well-formed one the adjudication ignored was folded
all the same (a member the claims were never paid by, an alignment to another practice)."""

from __future__ import annotations

import orjson
import pytest

from claimsim.adjudication.audit.run_dir import fold
from claimsim.cli import main

from ..fixtures.damaged_runs import copy, entries, rewrite_log, simulate

K = 170  # where the hostile inputs go: after the first month's enrollments and alignments
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
    other = next(e["key"] for e in bodies if e["type"] == "member.enrolled"
                 and e["key"] not in (aligned["key"], terminated["key"]))
    practices = orjson.loads((clean / "reference.json").read_bytes())["practices"]
    practice = next(p["practice_id"] if isinstance(p, dict) else p for p in practices
                    if (p["practice_id"] if isinstance(p, dict) else p) != aligned["data"]["practice_id"])
    bad = [{**_header(env, at), "data": data} for env in first.values() for data in FORMS]
    bad += [  # well formed, and ignored all the same
        {**_header(enrolled, at), "data": {**enrolled["data"], "plan_id": "NO-SUCH-PLAN"}},
        {**_header(aligned, at), "key": other, "data": {**aligned["data"], "practice_id": practice}},
        {**_header(terminated, at), "key": other, "data": {**terminated["data"], "end": at}},
    ]
    rewrite_log(hostile / "input", lambda b: [*b[:K], *bad, *b[K:]])
    for run_dir in (clean, hostile):
        assert main(["adjudicate", str(run_dir), "--no-progress"]) == 0
    return clean, hostile, bad


def _answers(run_dir):
    return {e["cause"]: e for e in entries(run_dir / "ledger") if e.get("cause") is not None}


def test_each_ignored_input_is_answered_no_effect_with_why(runs):
    _, hostile, bad = runs
    answers = _answers(hostile)
    assert all(answers[K + i]["type"] == "no_effect" for i in range(len(bad)))
    notes = [answers[K + i]["data"]["note"] for i in range(len(bad))]
    for i, (label, model) in enumerate((("enrollment", "MemberEnrolled"),
                                        ("termination", "MemberTerminated"),
                                        ("alignment", "AlignmentDeclared"))):
        not_object = (f"ignored: malformed {label} (: Input should be a valid dictionary or"
                      f" instance of {model})")
        assert notes[4 * i:4 * i + 4] == [not_object, not_object,
                                          f"ignored: malformed {label} (member_id: Field required)",
                                          not_object]
    assert notes[12] == (f"ignored: plan NO-SUCH-PLAN is not a plan of payer"
                         f" {bad[12]['data']['payer_id']}")
    assert notes[13] == (f"ignored: subscriber {bad[13]['data']['subscriber_id']} sent under key"
                         f" {bad[13]['key']}")
    assert notes[14] == f"ignored: member {bad[14]['data']['member_id']} is not enrolled"


def test_the_payer_state_leaves_ignored_inputs_out(runs):
    clean, hostile, _ = runs
    want, got = fold(clean).state(), fold(hostile).state()
    for piece in STATE:
        assert got[piece] == want[piece], piece
    assert got["input_seq"] == want["input_seq"] + 15  # every input passed, the 15 unfolded


def test_audit_replay_explain_and_as_of_read_the_run(runs, capsys):
    clean, hostile, _ = runs
    assert main(["audit", "replay", str(hostile)]) == 0
    claim = next(e for e in entries(clean / "input")[K:] if e["type"] == "claim.submitted")
    claim_id = claim["data"]["claim"]["claim_id"]
    capsys.readouterr()
    assert main(["audit", "explain", "claim", str(hostile), claim_id]) == 0
    assert f"claim {claim_id} frequency" in capsys.readouterr().out
    for run_dir in (hostile, clean):  # the same snapshots as of a date after the inputs
        assert main(["audit", "as-of", str(run_dir), "2025-06-15"]) == 0
    hostile_out, clean_out = _halves(capsys.readouterr().out)
    assert hostile_out[0].endswith(" as of ledger seq 492 (2025-06-27)")  # 15 answers more
    assert clean_out[0].endswith(" as of ledger seq 477 (2025-06-27)")
    assert hostile_out[1:] == clean_out[1:] and len(clean_out) > 5


def _halves(text):
    lines = [line.replace("hostile", "RUN").replace("clean", "RUN") for line in text.splitlines()]
    half = len(lines) // 2
    return lines[:half], lines[half:]


def test_export_leaves_ignored_inputs_out(runs, tmp_path):
    clean, hostile, _ = runs
    for run_dir, out in ((clean, tmp_path / "clean"), (hostile, tmp_path / "hostile")):
        assert main(["export", str(run_dir), "--format", "tuva", "--out", str(out),
                     "--no-progress"]) == 0
    names = sorted(p.name for p in (tmp_path / "clean").iterdir())
    assert "eligibility.csv" in names and "alignment.csv" in names
    for name in names:
        assert (tmp_path / "hostile" / name).read_bytes() == (tmp_path / "clean" / name).read_bytes(), name
