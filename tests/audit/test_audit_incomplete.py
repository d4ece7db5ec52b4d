"""`audit verify` and `audit replay` never say OK falsely: a run killed part-way is reported
incomplete with where it stopped, an edited reference.json fails against the manifest's digest,
and a ledger edited and re-hashed fails verify's arithmetic and cause checks. Positions, dates
and months outside the run are errors naming its range."""

from __future__ import annotations

import orjson
import pytest

from claimsim.cli import main

from ..fixtures.damaged_runs import copy, cut_log, entries, rewrite_log, run, simulate


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    return run(tmp_path_factory.mktemp("audit") / "r")


@pytest.fixture(scope="module")
def adjudicated(tmp_path_factory):
    """simulate + adjudicate (no run clock, no checkpoint)."""
    run_dir = simulate(tmp_path_factory.mktemp("audit") / "s")
    assert main(["adjudicate", str(run_dir), "--no-progress"]) == 0
    return run_dir


def _killed(whole, dst):
    """The run as `claimsim run` leaves it when killed mid-way: half its ledger, no checkpoint,
    no reports."""
    half = copy(whole, dst, skip=("projections", "reports"))
    cut_log(half / "ledger", len(entries(whole / "ledger")) // 2)
    return half


def test_verify_reports_a_killed_run_incomplete_with_where_it_stopped(whole, tmp_path, capsys):
    half = _killed(whole, tmp_path / "half")
    ledger = entries(half / "ledger")
    answered = max(e["cause"] for e in ledger if e["type"] in ("claim.adjudicated", "claim.rejected",
                                                                "claim.reversed", "no_effect"))
    inputs = len(entries(half / "input"))
    boundaries = [e["data"]["boundary"] for e in ledger if e["type"] == "epoch.boundary"]
    assert main(["audit", "verify", str(half)]) == 1
    out = capsys.readouterr().out
    assert "INCOMPLETE" in out
    assert f"answers {answered + 1:,} of {inputs:,} inputs" in out
    assert f"last boundary {boundaries[-1]}" in out


def test_the_incomplete_message_names_the_scenario_and_the_run_directory(whole, tmp_path, capsys):
    half = _killed(whole, tmp_path / "half")
    assert main(["audit", "verify", str(half)]) == 1
    scenario = entries(whole / "ledger")[0]["data"]["scenario"]
    assert (f"finish it with `claimsim run {scenario} --out {half} --resume` and the flags it was"
            " started with") in capsys.readouterr().out


def test_a_ledger_with_only_its_manifest_says_no_input_is_answered(whole, tmp_path, capsys):
    bare = copy(whole, tmp_path / "bare", skip=("projections", "reports"))
    cut_log(bare / "ledger", 1)
    inputs = len(entries(bare / "input"))
    assert main(["audit", "verify", str(bare)]) == 1
    out = capsys.readouterr().out
    assert "OK   ledger causes: no input answered yet" in out
    assert f"FAIL run: INCOMPLETE: ledger answers none of the {inputs:,} inputs;" in out
    assert "0..-1" not in out and "seq -1" not in out


def test_a_clock_run_without_runclock_json_fails_instead_of_skipping_its_checks(whole, tmp_path,
                                                                                capsys):
    bare = copy(whole, tmp_path / "bare")
    (bare / "runclock.json").unlink()
    boundaries = sum(1 for e in entries(bare / "ledger") if e["type"] == "epoch.boundary")
    assert main(["audit", "verify", str(bare)]) == 1
    assert (f"FAIL run: {bare / 'runclock.json'}: missing, but the ledger holds {boundaries}"
            " epoch boundaries") in capsys.readouterr().out


def test_an_adjudicated_run_killed_part_way_says_how_to_finish_it(adjudicated, tmp_path, capsys):
    half = copy(adjudicated, tmp_path / "half")
    cut_log(half / "ledger", len(entries(half / "ledger")) // 2)
    assert main(["audit", "verify", str(half)]) == 1
    out = capsys.readouterr().out
    assert f"finish it with `claimsim adjudicate {half}`" in out and "boundary" not in out


def test_replay_reports_a_killed_run_incomplete(whole, tmp_path, capsys):
    half = _killed(whole, tmp_path / "half")
    assert main(["audit", "replay", str(half)]) == 1
    captured = capsys.readouterr()
    assert "incomplete" in (captured.out + captured.err)
    assert "reproduces all" not in captured.out


def test_verify_fails_when_reference_json_was_edited(whole, tmp_path, capsys):
    edited = copy(whole, tmp_path / "e")
    ref = orjson.loads((edited / "reference.json").read_bytes())
    ref["payers"][0]["processing_days"] += 1
    (edited / "reference.json").write_bytes(orjson.dumps(ref))
    assert main(["audit", "verify", str(edited)]) == 1
    out = capsys.readouterr().out
    assert "FAIL reference.json" in out and "digest" in out


def _rehash_with(run_dir, change):
    rewrite_log(run_dir / "ledger", change)


def _first_paid_line(bodies):
    for e in bodies:
        if e["type"] == "claim.adjudicated":
            for line in e["data"]["lines"]:
                if line["plan_paid"] > 0 and line["cost_share"] >= 100:
                    return e, line
    raise AssertionError("no paid line")


def test_verify_fails_a_rehashed_ledger_whose_line_does_not_add_up(adjudicated, tmp_path, capsys):
    edited = copy(adjudicated, tmp_path / "e")
    seen = {}

    def change(bodies):
        e, line = _first_paid_line(bodies)
        line["plan_paid"] += 100  # allowed no longer = plan paid + cost share + offset + seq.
        seen["seq"] = bodies.index(e)
        return bodies

    _rehash_with(edited, change)
    assert main(["audit", "verify", str(edited)]) == 1
    out = capsys.readouterr().out
    assert "OK   ledger/" in out  # the chain itself is intact: it was re-hashed
    assert f"FAIL ledger arithmetic: seq {seen['seq']}" in out


def test_verify_fails_a_rehashed_ledger_missing_an_answer(adjudicated, tmp_path, capsys):
    edited = copy(adjudicated, tmp_path / "e")

    def change(bodies):
        k = next(i for i, e in enumerate(bodies) if e["type"] == "claim.adjudicated" and i > 50)
        del bodies[k]
        return bodies

    _rehash_with(edited, change)
    assert main(["audit", "verify", str(edited)]) == 1
    assert "FAIL ledger causes" in capsys.readouterr().out


def test_verify_says_what_only_replay_proves(adjudicated, tmp_path, capsys):
    """A consistent edit (100 cents moved from cost share to plan paid) keeps the arithmetic:
    verify passes it and says so plainly; replay finds it."""
    edited = copy(adjudicated, tmp_path / "e")

    def change(bodies):
        _, line = _first_paid_line(bodies)
        line["plan_paid"] += 100
        line["cost_share"] -= 100
        return bodies

    _rehash_with(edited, change)
    assert main(["audit", "verify", str(edited)]) == 0
    out = capsys.readouterr().out
    assert "only `claimsim audit replay`" in out
    assert main(["audit", "replay", str(edited)]) == 1


def test_as_of_a_seq_past_the_end_is_an_error_naming_the_range(whole, capsys):
    last = len(entries(whole / "ledger")) - 1
    assert main(["audit", "as-of", str(whole), "99999999"]) == 2
    err = capsys.readouterr().err
    assert f"0..{last}" in err and len(err.strip().splitlines()) == 1


def test_as_of_a_date_outside_the_run_is_an_error_naming_the_range(whole, capsys):
    ledger = entries(whole / "ledger")
    assert main(["audit", "as-of", str(whole), "1990-01-01"]) == 2
    err = capsys.readouterr().err
    assert f"{ledger[0]['at']}..{ledger[-1]['at']}" in err


def test_explain_payment_for_a_month_outside_the_run_is_an_error(whole, capsys):
    ledger = entries(whole / "ledger")
    assert main(["audit", "explain", "payment", str(whole), "PC001", "2031-01"]) == 2
    assert f"{ledger[0]['at'][:7]}..{ledger[-1]['at'][:7]}" in capsys.readouterr().err


@pytest.mark.parametrize("day", ["1990-01-01", "2031-01-01"])
def test_explain_member_as_of_a_date_outside_the_run_is_an_error(whole, capsys, day):
    ledger = entries(whole / "ledger")
    member = next(e["key"] for e in ledger if e["type"] == "attribution.assigned")
    assert main(["audit", "explain", "member", str(whole), member, "--as-of", day]) == 2
    assert capsys.readouterr().err.strip() == (f"claimsim: error: --as-of {day} is outside the"
                                               f" run ({ledger[0]['at']}..{ledger[-1]['at']})")


def test_attribute_as_of_a_date_outside_the_run_is_an_error(whole, capsys):
    assert main(["attribute", str(whole), "--as-of", "1990-01-01"]) == 2
    assert "outside the run" in capsys.readouterr().err


def test_attribute_past_the_ledger_of_a_run_adjudicated_part_way_says_what_it_lacks(
        tmp_path, capsys):
    """A date past the ledger's end gives the payer's lists as of its last entry; for a run
    adjudicated part way that is not the payer's list on that date, and the command says so
    (naming the last input answered). A whole run's lists stand past its end, without a note."""
    partial = simulate(tmp_path / "p")
    assert main(["adjudicate", str(partial), "--until", "2025-02-15", "--no-progress"]) == 0
    ledger, inputs = entries(partial / "ledger"), entries(partial / "input")
    answered = max(e["cause"] for e in ledger if e["cause"] is not None)
    assert answered < inputs[-1]["seq"]
    capsys.readouterr()
    assert main(["attribute", str(partial), "--as-of", "2025-06-01"]) == 0
    assert (f"note: the run is adjudicated through input seq {answered:,} of"
            f" 0..{inputs[-1]['seq']:,} (its ledger ends on {ledger[-1]['at']})"
            in capsys.readouterr().out)
    assert main(["attribute", str(partial), "--as-of", ledger[-1]["at"]]) == 0  # not past it
    assert "note:" not in capsys.readouterr().out
    assert main(["adjudicate", str(partial), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["attribute", str(partial), "--as-of", "2025-06-01"]) == 0
    assert "note:" not in capsys.readouterr().out


def test_attribute_by_default_on_a_killed_run_says_its_lists_lack_the_inputs_after_it(
        whole, tmp_path, capsys):
    """With no --as-of, `attribute` takes the run clock's last paid boundary; a run killed before
    it gives the lists as of its ledger's end, and says so as for an asked date past it."""
    assert main(["attribute", str(whole)]) == 0
    out = capsys.readouterr().out
    assert "note:" not in out
    as_of = out.splitlines()[0].removeprefix("attribution as of ")
    killed = copy(whole, tmp_path / "killed", skip=("projections", "reports"))
    cut_log(killed / "ledger", sum(e["at"] < as_of for e in entries(whole / "ledger")))
    ledger, inputs = entries(killed / "ledger"), entries(killed / "input")
    answered = max(e["cause"] for e in ledger if e["type"] in ("claim.adjudicated",
                                                             "claim.rejected", "no_effect"))
    assert main(["attribute", str(killed)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"attribution as of {as_of}" and as_of > ledger[-1]["at"]
    assert (f"note: the run is adjudicated through input seq {answered:,} of"
            f" 0..{inputs[-1]['seq']:,} (its ledger ends on {ledger[-1]['at']})") in out


@pytest.mark.parametrize("position, message", [
    ("-1", "ledger seq -1 is outside the run"), ("\u0663", "not a YYYY-MM-DD date")])
def test_as_of_a_negative_seq_is_named_and_non_ascii_digits_are_no_seq(whole, capsys, position,
                                                                       message):
    assert main(["audit", "as-of", str(whole), position]) == 2
    assert message in capsys.readouterr().err


def test_a_file_given_as_the_run_directory_is_named_as_not_one(whole, capsys):
    assert main(["audit", "verify", str(whole / "reference.json")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"claimsim: error: {whole / 'reference.json'}: not a directory (give the run directory"
        " itself)")
