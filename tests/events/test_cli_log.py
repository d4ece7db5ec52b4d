"""`claimsim log verify|tail|stats`: readable output, one-line errors, meaningful exit codes."""

from __future__ import annotations

import orjson

from claimsim.cli import main

from .test_log import lines_of, rewrite, write_log


def test_verify_ok_says_how_many(tmp_path, capsys):
    write_log(tmp_path, 3)
    assert main(["log", "verify", str(tmp_path)]) == 0
    assert "OK, 3 events, chain intact" in capsys.readouterr().out


def test_verify_broken_names_the_seq_and_exits_1(tmp_path, capsys):
    write_log(tmp_path, 4)
    lines = lines_of(tmp_path)
    del lines[1]
    rewrite(tmp_path, lines)
    assert main(["log", "verify", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "BROKEN at seq 1: missing" in err


def test_missing_and_wrong_paths_give_one_line_errors(tmp_path, capsys):
    assert main(["log", "verify", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such log directory" in err
    (tmp_path / "file").write_text("x")
    assert main(["log", "stats", str(tmp_path / "file")]) == 2
    assert "not a directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["log", "tail", str(tmp_path / "empty")]) == 2
    assert "no log segments" in capsys.readouterr().err


def test_tail_prints_the_last_n_envelopes(tmp_path, capsys):
    write_log(tmp_path, 5)
    assert main(["log", "tail", str(tmp_path), "-n", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [orjson.loads(line)["seq"] for line in out] == [3, 4]


def test_stats_counts_by_type_and_dates(tmp_path, capsys):
    write_log(tmp_path, 5)
    assert main(["log", "stats", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "claim.submitted" in out and "5" in out
    assert "first date 2025-03-10, last date 2025-03-10" in out


def test_tail_shows_a_line_it_cannot_read_as_it_is_stored(tmp_path, capsys):
    """A line with a list as its type, one with v as text, one newer than the code, and one not
    JSON: `tail` prints each as stored (it stopped with a traceback), the readable ones as
    `read` gives them."""
    write_log(tmp_path, 5)
    lines = lines_of(tmp_path)
    odd = [lines[1].replace(b'"type":"claim.submitted"', b'"type":["claim.submitted"]'),
           lines[2].replace(b'"v":1', b'"v":"1"'), lines[3].replace(b'"v":1', b'"v":99'),
           b'{"not json\n']
    rewrite(tmp_path, [lines[0], *odd, lines[4]])
    assert main(["log", "tail", str(tmp_path), "-n", "6"]) == 0
    out = capsys.readouterr().out.encode().splitlines(keepends=True)
    assert out[1:5] == odd
    assert orjson.loads(out[0])["seq"] == 0 and orjson.loads(out[5])["seq"] == 4


def test_an_empty_segment_is_an_empty_log_not_none_dates(tmp_path, capsys):
    (tmp_path / "000000000000.jsonl").write_bytes(b"")
    assert main(["log", "verify", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == f"{tmp_path}: OK, 0 events, chain intact (empty)"
    assert main(["log", "stats", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "None" not in out and out.splitlines()[-1] == "no events, 1 segment(s)"


def test_a_string_seq_is_named_as_not_an_integer(tmp_path, capsys):
    write_log(tmp_path, 3)
    lines = lines_of(tmp_path)
    lines[1] = lines[1].replace(b'"seq":1,', b'"seq":"1",')
    rewrite(tmp_path, lines)
    assert main(["log", "verify", str(tmp_path)]) == 1
    assert "BROKEN at seq 1: bad_json: seq '1' is not an integer" in capsys.readouterr().err
