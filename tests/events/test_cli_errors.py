"""User errors print one line and exit 2, never a traceback: an empty or corrupt
reference.json, a binary scenario file; a TOML file with a byte-order mark is read like any
other; `claimsim log stats DIR | head` ends quietly when the reader goes away."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from claimsim.cli import main
from claimsim.scenarios.spec import load

from ..fixtures.damaged_runs import copy, simulate


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return simulate(tmp_path_factory.mktemp("cli") / "s", members=60, months=2)


@pytest.mark.parametrize("content", [b"", b"{\"payers\": [", b"\x00\x01\x02\xff", b"[]"])
@pytest.mark.parametrize("command", [["adjudicate"], ["audit", "verify"], ["attribute"]])
def test_bad_reference_json_is_one_line(sim, tmp_path, capsys, content, command):
    run_dir = copy(sim, tmp_path / "r")
    if command != ["adjudicate"]:
        assert main(["adjudicate", str(run_dir), "--no-progress"]) == 0
        capsys.readouterr()
    (run_dir / "reference.json").write_bytes(content)
    assert main([*command, str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("claimsim: error: ") and "reference.json" in err
    assert len(err.strip().splitlines()) == 1


def test_binary_scenario_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "region.toml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "region.toml" in err and "UTF-8" in err and len(err.strip().splitlines()) == 1


def test_scenario_file_with_a_byte_order_mark_reads_like_one_without(tmp_path):
    text = 'description = "bom"\nmembers = 500\n[region.programs.cpcplus_t2]\nhybrid_bp = 5000\n'
    plain, bom = tmp_path / "plain.toml", tmp_path / "bom.toml"
    plain.write_text(text)
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode())
    a, b = load(str(plain))[0], load(str(bom))[0]
    assert b.members == 500 and b.description == "bom"
    assert a.model_dump(exclude={"scenario"}) == b.model_dump(exclude={"scenario"})


def test_log_stats_into_a_closed_pipe_ends_quietly(sim):
    proc = subprocess.Popen([sys.executable, "-m", "claimsim", "log", "stats", str(sim / "input")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # `| head -0`: the reader is gone before the first line
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_bench_without_the_test_extras_is_one_line_naming_them(monkeypatch, capsys):
    """`claimsim bench` runs pytest-benchmark suites; an install without the test extras (the
    README's first command) gets one line saying how to add them, not an ImportError."""
    monkeypatch.setitem(sys.modules, "pytest_benchmark", None)  # import fails as if absent
    assert main(["bench", "log"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("claimsim: error: ") and "'pytest_benchmark'" in err
    assert '.[test]' in err and len(err.strip().splitlines()) == 1


def test_bench_stopped_exits_130_and_writes_no_json_that_looks_whole(monkeypatch, tmp_path,
                                                                    capsys):
    """pytest catches a Ctrl-C (or kill) itself and returns INTERRUPTED, and pytest-benchmark
    still writes `--json` for the suites that ran: the command exits 130 and FILE is written only
    when every suite ran."""
    import pytest as pytest_module

    def suites(code):
        def fake_main(argv):
            json_file = next(a.split("=", 1)[1] for a in argv if a.startswith("--benchmark-json="))
            Path(json_file).write_text('{"benchmarks": []}')
            return code
        return fake_main

    out = tmp_path / "b.json"
    monkeypatch.setattr(pytest_module, "main", suites(pytest_module.ExitCode.INTERRUPTED))
    assert main(["bench", "log", "--json", str(out)]) == 130
    assert not out.exists()
    monkeypatch.setattr(pytest_module, "main", suites(pytest_module.ExitCode.TESTS_FAILED))
    assert main(["bench", "log", "--json", str(out)]) == 1
    assert not out.exists() and "not written" in capsys.readouterr().err
    monkeypatch.setattr(pytest_module, "main", suites(pytest_module.ExitCode.OK))
    assert main(["bench", "log", "--json", str(out)]) == 0
    assert out.read_text() == '{"benchmarks": []}'


def test_a_stop_while_the_commands_load_is_said_as_a_stop(monkeypatch, capsys):
    """A Ctrl-C in the first second (the commands' modules loading) is `claimsim: interrupted`
    and exit 130, not a traceback."""
    import claimsim.cli as cli

    def loading():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", loading)
    assert main(["demo"]) == 130
    assert capsys.readouterr().err == "claimsim: interrupted\n"
