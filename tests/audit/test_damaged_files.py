"""Damaged run files are findings or one-line errors, never tracebacks: a blank line, a non-JSON
byte or a string seq in the ledger stop `audit verify` (a FAIL naming the seq, the later checks
not run) and `audit replay` (exit 1), and make `audit as-of` a one-line error; an empty ledger
segment is refused by replay; a malformed runclock.json is named; a boundary the plan lacks is a
replay difference."""

from __future__ import annotations

import orjson
import pytest

from claimsim.cli import main
from claimsim.events.log import segments

from ..fixtures.damaged_runs import copy, entries, replace_line, run


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    return run(tmp_path_factory.mktemp("damaged") / "r")


def _segment(run_dir):
    (_, path), = segments(run_dir / "ledger")
    return path


def _blank_line(run_dir):
    path = _segment(run_dir)
    path.write_bytes(path.read_bytes() + b"\n")
    return len(path.read_bytes().splitlines()) - 1  # the blank line's seq


def _bad_byte(run_dir):
    replace_line(run_dir / "ledger", 40, b'{"at":"2025-01-01",\x01}\n')
    return 40


def _string_seq(run_dir):
    path = _segment(run_dir)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[99] = lines[99].replace(b'"seq":99,', b'"seq":"99",')
    path.write_bytes(b"".join(lines))
    return 99


DAMAGE = {"blank line": _blank_line, "non-JSON byte": _bad_byte, "string seq": _string_seq}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_ledger_stops_verify_and_replay_at_its_seq(whole, tmp_path, capsys, damage):
    damaged = copy(whole, tmp_path / "d")
    seq = DAMAGE[damage](damaged)
    assert main(["audit", "verify", str(damaged)]) == 1
    out = capsys.readouterr().out
    assert f"FAIL ledger/: broken at seq {seq}:" in out
    assert f"FAIL later checks: not run: ledger/ broken at seq {seq}" in out
    assert "payer-state.json" not in out and "reproduces" not in out
    assert main(["audit", "replay", str(damaged)]) == 1
    captured = capsys.readouterr()
    assert f"replay not run: ledger/ broken at seq {seq}:" in captured.err
    assert "reproduces" not in captured.out


@pytest.mark.parametrize("damage", DAMAGE)
def test_as_of_a_damaged_ledger_is_a_one_line_error(whole, tmp_path, capsys, damage):
    damaged = copy(whole, tmp_path / "d")
    DAMAGE[damage](damaged)
    last = len(_segment(whole).read_bytes().splitlines()) - 1
    assert main(["audit", "as-of", str(damaged), str(last - 1)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "ledger" in err and "names the damage" in err


def test_the_fold_names_a_string_seq_it_meets(whole, tmp_path, capsys):
    damaged = copy(whole, tmp_path / "d")
    _string_seq(damaged)
    assert main(["audit", "as-of", str(damaged), "200"]) == 2
    assert "cannot fold the ledger (found seq '99' there; folded through seq 98)" in (
        capsys.readouterr().err)


def test_replay_of_an_empty_ledger_segment_says_so(whole, tmp_path, capsys):
    damaged = copy(whole, tmp_path / "d")
    _segment(damaged).write_bytes(b"")
    assert main(["audit", "replay", str(damaged)]) == 1
    assert "replay not run: the ledger holds no entries" in capsys.readouterr().err


@pytest.mark.parametrize("content, why", [
    (b"garbage", "unexpected character"), (b"{}", "no 'start'"), (b"[]", "not a JSON object")])
def test_a_malformed_runclock_json_is_named(whole, tmp_path, capsys, content, why):
    damaged = copy(whole, tmp_path / "d")
    (damaged / "runclock.json").write_bytes(content)
    plan = f"{damaged / 'runclock.json'}: not a run clock plan ({why}"
    code = main(["audit", "verify", str(damaged)])
    captured = capsys.readouterr()
    assert code in (1, 2) and plan in captured.out + captured.err
    assert "Traceback" not in captured.err
    assert main(["audit", "replay", str(damaged)]) == 2
    assert plan in capsys.readouterr().err
    assert main(["audit", "as-of", str(damaged), "5"]) == 2
    assert plan in capsys.readouterr().err


def test_a_boundary_edited_in_runclock_json_is_a_replay_difference(whole, tmp_path, capsys):
    damaged = copy(whole, tmp_path / "d")
    plan = orjson.loads((damaged / "runclock.json").read_bytes())
    first = plan["boundaries"][0]
    plan["boundaries"][0] = first[:5] + "0" + str(int(first[5:7]) + 1)[-1] + first[7:]
    (damaged / "runclock.json").write_bytes(orjson.dumps(plan))
    assert main(["audit", "replay", str(damaged)]) == 1
    err = capsys.readouterr().err
    assert f"boundary {first} is not one of runclock.json's ({plan['boundaries'][0]}" in err


def test_as_of_out_naming_a_directory_is_a_one_line_error_and_leaves_no_part(whole, tmp_path,
                                                                             capsys):
    target = tmp_path / "out"
    target.mkdir()
    assert main(["audit", "as-of", str(whole), "5", "--out", str(target)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"claimsim: error: {target}: is a directory; name a file to write")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert list(target.iterdir()) == []


@pytest.mark.parametrize("damage", ["blank line", "non-JSON byte"])
def test_explain_claim_and_attribute_on_a_damaged_ledger_are_one_line_errors(whole, tmp_path,
                                                                            capsys, damage):
    damaged = copy(whole, tmp_path / "d")
    DAMAGE[damage](damaged)
    claim = next(e["data"]["claim_id"] for e in entries(whole / "ledger")
                 if e["type"] == "claim.adjudicated")
    commands = [["audit", "explain", "claim", str(damaged), claim]]
    if damage == "non-JSON byte":  # (a blank last line lies past the entries attribute folds)
        commands.append(["attribute", str(damaged)])
    for argv in commands:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "names the damage" in err, argv
