"""Hostile or damaged input logs on the embedded runtime: one bad input is one typed rejection
naming its seq and field, the run goes on and every other input is answered as before; folders
that are not whole (a partial simulate, a run the clock was paying, a broken chain) are refused
with what is missing named."""

from __future__ import annotations

import orjson
import pytest

from claimsim.cli import main
from claimsim.events.log_verify import verify

from ..fixtures.damaged_runs import (ANSWERS, copy, cut_log, entries, replace_line, rewrite_log,
                                     simulated_and_paid)

@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """A simulated run (150 members, 4 months) and its ledger from `claimsim adjudicate`."""
    return simulated_and_paid(tmp_path_factory.mktemp("hostile"))


def _answers(run_dir):
    return [e for e in entries(run_dir / "ledger") if e["type"] in ANSWERS]


def _body(e):
    return {k: e[k] for k in ("type", "v", "at", "key", "data")}


def _insert(run_dir, k, event):
    rewrite_log(run_dir / "input", lambda bodies: [*bodies[:k], event, *bodies[k:]])


def _claim_input(bodies_source, received):
    """A claim for a real family of the run, copied from its first claim, with `received`."""
    first = next(e for e in entries(bodies_source / "input") if e["type"] == "claim.submitted")
    claim = {**first["data"]["claim"], "claim_id": "Y9999-CLAIM", "received": received}
    return {"type": "claim.submitted", "v": first["v"], "at": first["at"], "key": first["key"],
            "cause": None, "data": {"claim": claim}}


def _same_answers_around(k, before, after):
    """Every answer of the damaged run but the one for input k equals the clean run's answer to
    the same input (inputs from k on moved one seq later)."""
    assert len(after) == len(before) + 1
    assert [_body(e) for e in after[:k]] == [_body(e) for e in before[:k]]
    assert [_body(e) for e in after[k + 1:]] == [_body(e) for e in before[k:]]
    assert [e["cause"] for e in after] == list(range(len(after)))


def test_year_9999_claim_mid_run_is_rejected_and_every_other_input_answered_as_before(sim, tmp_path):
    clean, paid = sim
    run_dir = copy(clean, tmp_path / "r")
    k = 200
    _insert(run_dir, k, _claim_input(clean, "9999-12-31"))
    assert main(["adjudicate", str(run_dir), "--no-progress"]) == 0
    after = _answers(run_dir)
    rej = after[k]
    assert (rej["type"], rej["cause"], rej["data"]["reason"], rej["data"]["field"]) == (
        "claim.rejected", k, "bad_date", "received")
    _same_answers_around(k, _answers(paid), after)


def test_malformed_json_line_mid_input_is_a_rejection_naming_its_seq(sim, tmp_path, capsys):
    clean, paid = sim
    run_dir = copy(clean, tmp_path / "r")
    k = 150
    _insert(run_dir, k, _claim_input(clean, "2025-03-01"))
    replace_line(run_dir / "input", k, b'{"seq": 150, "type": "claim.submitted", "data": {"claim": \n')
    assert main(["adjudicate", str(run_dir), "--no-progress"]) == 0
    after = _answers(run_dir)
    rej = after[k]
    assert (rej["type"], rej["cause"], rej["data"]["reason"], rej["data"]["field"]) == (
        "claim.rejected", k, "unreadable_input", "line")
    assert f"seq {k}" in rej["data"]["message"]
    _same_answers_around(k, _answers(paid), after)
    # log verify names the same seq (it cannot vouch for the chain past an unreadable line) ...
    assert verify(run_dir / "input").seq == k
    # ... and replay reads the input as the runtime did: it reproduces every answer.
    assert main(["audit", "replay", str(run_dir)]) == 0
    assert main(["audit", "verify", str(run_dir)]) == 1
    assert f"FAIL input/: broken at seq {k}" in capsys.readouterr().out


def test_unknown_event_type_is_a_rejection_naming_type_and_log_verify_agrees(sim, tmp_path):
    clean, paid = sim
    run_dir = copy(clean, tmp_path / "r")
    k = 120
    _insert(run_dir, k, {"type": "claim.teleported", "v": 1, "at": "2025-03-01", "key": "F1",
                         "cause": None, "data": {}})
    assert main(["adjudicate", str(run_dir), "--no-progress"]) == 0
    after = _answers(run_dir)
    rej = after[k]
    assert (rej["type"], rej["data"]["reason"], rej["data"]["field"]) == (
        "claim.rejected", "unknown_input_type", "type")
    assert "claim.teleported" in rej["data"]["message"]
    _same_answers_around(k, _answers(paid), after)
    check = verify(run_dir / "input")
    assert (check.problem.value, check.seq) == ("unknown_type", k)


KEYS_NOT_STRINGS = (123, None, ["S1"], {"S": 1}, True, 1.5)


def test_inputs_whose_key_is_no_string_are_answered_and_the_run_goes_on(sim, tmp_path):
    """A hostile log's key that is no string (a number, null, a list, an object, a boolean, a
    float) names no family: each such claim is rejected as not sent under its own subscriber id,
    each such enrollment ignored, and every other input answered as before; `--processes 2`
    writes the same ledger, and `audit replay` reproduces every answer."""
    clean, paid = sim
    run_dir = copy(clean, tmp_path / "r")
    claim = _claim_input(clean, "2025-03-01")
    enrolled = next(e for e in entries(clean / "input") if e["type"] == "member.enrolled")
    k, hostile = 180, []
    for key in KEYS_NOT_STRINGS:
        hostile.append({**claim, "key": key})
        hostile.append({**{f: enrolled[f] for f in ("type", "v", "at", "data")}, "key": key,
                        "cause": None})
    rewrite_log(run_dir / "input", lambda bodies: [*bodies[:k], *hostile, *bodies[k:]])
    two = copy(run_dir, tmp_path / "two")
    assert main(["adjudicate", str(run_dir), "--no-progress"]) == 0
    after, before = _answers(run_dir), _answers(paid)
    for i, key in enumerate(KEYS_NOT_STRINGS):
        rej, ignored = after[k + 2 * i], after[k + 2 * i + 1]
        assert (rej["type"], rej["cause"], rej["key"], rej["data"]["reason"],
                rej["data"]["field"]) == ("claim.rejected", k + 2 * i, key,
                                          "subscriber_mismatch", "subscriber_id")
        assert f"not the subscriber {key!r}" in rej["data"]["message"]
        assert (ignored["type"], ignored["key"], ignored["data"]["note"]) == (
            "no_effect", key, f"ignored: subscriber {enrolled['data']['subscriber_id']}"
                              f" sent under key {key}")
    n = len(hostile)
    assert [_body(e) for e in after[:k]] == [_body(e) for e in before[:k]]
    assert [_body(e) for e in after[k + n:]] == [_body(e) for e in before[k:]]
    assert main(["adjudicate", str(two), "--no-progress", "--processes", "2"]) == 0
    assert _ledger_bytes(two) == _ledger_bytes(run_dir)
    assert main(["audit", "replay", str(run_dir)]) == 0


HEADERS_NOT_READABLE = ({"type": ["claim.submitted"]}, {"type": 7}, {"type": None}, {"v": "1"},
                        {"v": None}, {"v": 0}, {"v": -1}, {"v": 1.5}, {"v": True},
                        {"at": 20250301}, {"at": None}, {"at": ["2025-03-01"]})


def test_inputs_whose_type_version_or_date_is_unreadable_are_rejected_and_the_run_goes_on(
        sim, tmp_path):
    """An input whose type or `at` is not text, or whose `v` is not a version number (text, null,
    0 or less, a fraction, a boolean), is on the chain but names nothing this code can read,
    upcast, refuse by name or date: each is a rejection naming its seq and dated as the input
    before it, every other input is answered as before, also under `--until`, `audit replay`
    (whose fold reads the input too) reproduces every answer, and `log verify` names the first."""
    clean, paid = sim
    run_dir = copy(clean, tmp_path / "r")
    claim = _claim_input(clean, "2025-03-01")
    k = 160
    hostile = [{**claim, **change} for change in HEADERS_NOT_READABLE]
    rewrite_log(run_dir / "input", lambda bodies: [*bodies[:k], *hostile, *bodies[k:]])
    dated = entries(run_dir / "input")[k - 1]["at"]  # the input before them
    until = copy(run_dir, tmp_path / "until")
    assert main(["adjudicate", str(run_dir), "--no-progress"]) == 0
    after, before, n = _answers(run_dir), _answers(paid), len(hostile)
    for i in range(n):
        rej = after[k + i]
        assert (rej["type"], rej["cause"], rej["data"]["reason"], rej["data"]["field"]) == (
            "claim.rejected", k + i, "unreadable_input", "line")
        assert rej["data"]["message"] == (f"input seq {k + i}: not a log envelope (its type and"
                                          " at must be strings and its v a version number from 1)")
        assert rej["at"] == dated
    assert [_body(e) for e in after[:k]] == [_body(e) for e in before[:k]]
    assert [_body(e) for e in after[k + n:]] == [_body(e) for e in before[k:]]
    assert main(["audit", "replay", str(run_dir)]) == 0
    check = verify(run_dir / "input")  # `log verify` names the first of them, as for bad JSON
    assert (check.problem.value, check.seq) == ("bad_json", k)
    # `--until` compares each input's date: a line dated as its predecessor compares like it.
    assert main(["adjudicate", str(until), "--no-progress", "--until", "2099-01-01"]) == 0
    assert [_body(e) for e in _answers(until)] == [_body(e) for e in after]


def _ledger_bytes(run_dir):
    return b"".join(p.read_bytes() for p in sorted((run_dir / "ledger").glob("*.jsonl")))


TORN = b'{"at":"2025-07-30","cause":null,"data":{"claim":{"claim_id":"TOR'


@pytest.mark.parametrize("tail", [TORN, b"this is not json\n"], ids=["torn", "not-json"])
def test_torn_or_garbage_last_input_line_is_answered_not_skipped(sim, tmp_path, tail):
    """A last line whose writer is gone, torn or not JSON, is answered like any other line (the
    run's input count takes it in: `log_tail.input_count`), not a refusal of the run."""
    clean, paid = sim
    run_dir = copy(clean, tmp_path / "r")
    n = len(entries(clean / "input"))
    with open(next((run_dir / "input").glob("*.jsonl")), "ab") as f:
        f.write(tail)
    assert main(["adjudicate", str(run_dir), "--no-progress"]) == 0
    after = _answers(run_dir)
    assert len(after) == n + 1
    last = after[-1]
    assert (last["type"], last["cause"], last["data"]["reason"], last["data"]["field"]) == (
        "claim.rejected", n, "unreadable_input", "line")
    assert [_body(e) for e in after[:n]] == [_body(e) for e in _answers(paid)]


def test_adjudicate_refuses_the_partial_input_of_an_interrupted_simulate(sim, tmp_path, capsys):
    clean, _ = sim
    run_dir = copy(clean, tmp_path / "r", skip=("run.json",))
    cut_log(run_dir / "input", 300)
    assert main(["adjudicate", str(run_dir), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "run.json" in err and "simulate" in err and len(err.strip().splitlines()) == 1
    assert not (run_dir / "ledger").exists()


def test_adjudicate_refuses_input_shorter_than_its_run_json_says(sim, tmp_path, capsys):
    clean, _ = sim
    run_dir = copy(clean, tmp_path / "r")
    total = sum(orjson.loads((clean / "run.json").read_bytes())["summary"]["input_events"].values())
    cut_log(run_dir / "input", 300)
    assert main(["adjudicate", str(run_dir), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"300 of {total:,} inputs" in err
    assert not (run_dir / "ledger").exists()


def test_adjudicate_refuses_an_input_log_whose_chain_is_broken(sim, tmp_path, capsys):
    clean, _ = sim
    run_dir = copy(clean, tmp_path / "r")
    (seg,) = (run_dir / "input").glob("*.jsonl")
    lines = seg.read_bytes().splitlines(keepends=True)
    k = next(i for i, line in enumerate(lines) if b'"billed":' in line and i > 100)
    lines[k] = lines[k].replace(b'"billed":', b'"billed":9', 1)  # an edit, hash left stale
    seg.write_bytes(b"".join(lines))
    assert main(["adjudicate", str(run_dir), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"seq {k}" in err and "hash" in err
    answered = _answers(run_dir) if (run_dir / "ledger").exists() else []
    assert all(e["cause"] < k for e in answered)  # nothing past the broken link was adjudicated


def test_adjudicate_refuses_a_run_the_run_clock_was_paying(tmp_path, capsys):
    from ..fixtures.damaged_runs import run

    run_dir = run(tmp_path / "r")
    half = copy(run_dir, tmp_path / "half", skip=("projections", "reports"))
    cut_log(half / "ledger", len(entries(run_dir / "ledger")) // 2)
    before = entries(half / "ledger")
    assert main(["adjudicate", str(half), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "claimsim run" in err and "runclock.json" in err
    assert entries(half / "ledger") == before


def test_audit_and_export_read_a_run_whose_input_has_hostile_lines(sim, tmp_path, capsys):
    """`audit explain claim`, `audit as-of DATE` and `export` read the input as the runtime did:
    a key that is no string, an unreadable header, data that is not an object. Each stopped with
    a TypeError (unhashable type) before."""
    clean, _ = sim
    run_dir = copy(clean, tmp_path / "r")
    claim = _claim_input(clean, "2025-03-01")
    hostile = [{**claim, "key": [1]}, {**claim, "key": {"a": 1}}, {**claim, "type": ["x"]},
               {**claim, "at": 20250301}, {**claim, "data": [1, 2]}]
    k = 160
    rewrite_log(run_dir / "input", lambda bodies: [*bodies[:k], *hostile, *bodies[k:]])
    assert main(["adjudicate", str(run_dir), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["audit", "explain", "claim", str(run_dir), "Y9999-CLAIM"]) == 0
    story = capsys.readouterr().out
    assert f"input seq {k} received {claim['at']}: claim Y9999-CLAIM" in story
    assert "is not the subscriber [1] the claim was sent under" in story
    assert "is not the subscriber {'a': 1} the claim was sent under" in story
    assert main(["audit", "as-of", str(run_dir), "2025-03-15"]) == 0
    for form in ("835", "tuva"):
        assert main(["export", str(run_dir), "--format", form, "--out", str(tmp_path / form),
                     "--no-progress"]) == 0


def test_every_reader_of_an_input_edited_after_adjudication_names_the_seq_and_stops(sim, tmp_path,
                                                                                 capsys):
    """An input line edited after its run was adjudicated: `audit replay`, `audit explain`,
    `audit as-of` and `export` stop with a user error naming the seq, and say what is true of
    each (nothing from that line on is read), not only what `adjudicate` does."""
    _, paid = sim
    run_dir = copy(paid, tmp_path / "r")
    (seg,) = (run_dir / "input").glob("*.jsonl")
    lines = seg.read_bytes().splitlines(keepends=True)
    k = next(i for i, line in enumerate(lines) if b'"billed":' in line and i > 100)
    claim_id = orjson.loads(lines[k])["data"]["claim"]["claim_id"]
    lines[k] = lines[k].replace(b'"billed":', b'"billed":9', 1)  # an edit, hash left stale
    seg.write_bytes(b"".join(lines))
    capsys.readouterr()
    for args in (["audit", "replay", str(run_dir)],
                 ["audit", "explain", "claim", str(run_dir), claim_id],
                 ["audit", "as-of", str(run_dir), "2025-04-15"],
                 ["export", str(run_dir), "--format", "835", "--out", str(tmp_path / "x"),
                  "--no-progress"]):
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert f"chain broken at seq {k}: content does not match its hash" in err, args
        assert "nothing from that line on is read or adjudicated" in err, args
        assert "Traceback" not in err
