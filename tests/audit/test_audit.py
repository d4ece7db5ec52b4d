"""`claimsim run`, `claimsim attribute` and `claimsim audit` from the command line: determinism
of a whole run, verify/replay exit codes, explanations whose numbers match the ledger, as-of
reproducibility, diff of two runs, and one-line errors for bad arguments."""

from __future__ import annotations

import shutil

import pytest

from claimsim.cli import main
from claimsim.events.encoding import canonical
from claimsim.events.log import read, segments
from claimsim.events.money import dollars

from claimsim.adjudication.audit import fold
from claimsim.adjudication.audit.diff import first_difference
from claimsim.adjudication.projections.snapshots import all_snapshots, figures

ARGS = ["--members", "300", "--months", "6", "--minimum-attributed", "3", "--no-progress"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli")
    dirs = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        dirs[name] = base / name
        assert main(["run", *ARGS, "--seed", str(seed), "--out", str(dirs[name])]) == 0
    return dirs


def test_same_seed_gives_byte_identical_logs_and_reports(runs):
    for log in ("input", "truth", "ledger"):
        a = b"".join(p.read_bytes() for _, p in segments(runs["a"] / log))
        b = b"".join(p.read_bytes() for _, p in segments(runs["b"] / log))
        assert a == b, log
    assert (runs["a"] / "reports" / "snapshots.csv").read_bytes() == (
        runs["b"] / "reports" / "snapshots.csv").read_bytes()


def test_diff_reports_identical_runs_and_the_first_divergence(runs, capsys):
    assert main(["audit", "diff", str(runs["a"]), str(runs["b"])]) == 0
    assert "ledgers identical" in capsys.readouterr().out
    assert main(["audit", "diff", str(runs["a"]), str(runs["c"])]) == 1
    out = capsys.readouterr().out
    assert "ledgers diverge at seq" in out and "snapshots differ" in out


def test_diff_names_a_ledger_edited_without_rehashing_instead_of_calling_it_identical(
        runs, tmp_path, capsys):
    """One byte changed, the stored hashes left as they were: the entry's hash no longer speaks
    for its content, so diff verifies both chains and names the broken one."""
    copy = tmp_path / "flipped"
    shutil.copytree(runs["a"], copy)
    (_, path), = segments(copy / "ledger")
    lines = path.read_bytes().splitlines(keepends=True)
    seq = next(i for i, line in enumerate(lines) if b'"plan_paid":1' in line)
    lines[seq] = lines[seq].replace(b'"plan_paid":1', b'"plan_paid":2', 1)
    path.write_bytes(b"".join(lines))
    assert main(["audit", "diff", str(runs["a"]), str(copy)]) == 1
    out = capsys.readouterr().out
    assert "ledgers identical" not in out
    assert out.startswith(f"run B's ledger ({copy / 'ledger'}) is broken at seq {seq}: edited:")


def test_diff_says_which_run_holds_a_field_the_other_lacks():
    assert first_difference({"data": {"x": 1, "y": 2}}, {"data": {"x": 1}},
                            names=("run A", "run B")) == "data.y: only in run A"
    assert first_difference({"x": 1}, {"x": 1, "z": 0}) == "z: only in the replay"


def test_verify_passes_and_fails_on_an_edited_ledger(runs, tmp_path, capsys):
    assert main(["audit", "verify", str(runs["a"])]) == 0
    out = capsys.readouterr().out
    # three chains, the signatures, reference.json, the ledger's arithmetic and causes, the run
    # whole, the checkpoint
    assert out.count("OK") == 9 and "OK   ledger signatures: the run is unsigned" in out
    copy = tmp_path / "edited"
    shutil.copytree(runs["a"], copy)
    (_, path), = segments(copy / "ledger")
    raw = path.read_bytes()
    i = raw.index(b'"plan_paid":') + len(b'"plan_paid":')
    path.write_bytes(raw[:i] + b"9" + raw[i:])
    assert main(["audit", "verify", str(copy)]) == 1
    assert "FAIL ledger/" in capsys.readouterr().out


def _checkpoint_line(run_dir, capsys) -> str:
    main(["audit", "verify", str(run_dir)])
    return next(l for l in capsys.readouterr().out.splitlines() if "payer-state.json" in l)


def test_verify_replays_the_checkpoint_and_names_where_an_edited_one_differs(runs, tmp_path, capsys):
    last = max(e["seq"] for e in read(runs["a"] / "ledger"))
    assert _checkpoint_line(runs["a"], capsys).startswith("OK")
    assert f"state at seq {last:,} reproduced by replay" in _checkpoint_line(runs["a"], capsys)
    copy = tmp_path / "edited"
    shutil.copytree(runs["a"], copy)
    path = copy / "projections" / "payer-state.json"
    raw = path.read_bytes()
    i = raw.index(b'"boundaries":[[') + len(b'"boundaries":[[')  # the first boundary's epoch: 1
    assert raw[i:i + 2] == b"1,"
    path.write_bytes(raw[:i] + b"7" + raw[i + 1:])
    line = _checkpoint_line(copy, capsys)
    assert line.startswith("FAIL") and "differs from a replay (boundaries[0][0]" in line
    # Same JSON, other bytes (not canonical): still the replay's state, and said so.
    path.write_bytes(raw[:-1] + b" }")
    assert "reproduced by replay (the file is not in canonical form)" in _checkpoint_line(copy, capsys)
    # A head naming another ledger entry.
    path.write_bytes(raw.replace(b'"last_seq":%d' % last, b'"last_seq":%d' % (last - 1), 1))
    assert f"checkpoint at seq {last - 1} does not match the ledger" in _checkpoint_line(copy, capsys)


def test_replay_succeeds_on_a_run(runs, capsys):
    assert main(["audit", "replay", str(runs["a"])]) == 0
    assert "reproduces all" in capsys.readouterr().out


def test_explain_claim_shows_each_line_adding_up(runs, capsys):
    env = next(e for e in read(runs["a"] / "ledger") if e["type"] == "claim.adjudicated"
               and e["data"]["lines"][0]["cost_share"] > 0)
    line = env["data"]["lines"][0]
    assert main(["audit", "explain", "claim", str(runs["a"]), env["data"]["claim_id"]]) == 0
    out = capsys.readouterr().out
    assert f"ledger seq {env['seq']}: claim.adjudicated" in out
    assert (f"plan paid = {dollars(line['allowed'])} allowed - {dollars(line['cost_share'])} cost share"
            in out) and f"= {dollars(line['plan_paid'])}" in out
    assert f"cost share {dollars(line['cost_share'])}; out of pocket member" in out


def test_explain_payment_net_matches_the_snapshot(runs, capsys):
    state = fold(runs["a"])
    payment = next(e["data"] for e in read(runs["a"] / "ledger") if e["type"] == "payment.prospective")
    payer, practice, month = payment["payer_id"], payment["practice_id"], payment["month"]
    f = figures(state, payer, practice, month)
    assert main(["audit", "explain", "payment", str(runs["a"]), practice, month]) == 0
    out = capsys.readouterr().out
    assert f"{payer} / {practice} / {month}: net {dollars(f['net'])}" in out
    assert f"{payment['kind']} {dollars(payment['amount'])} for {month}" in out
    # plain words for a reader, not Python's: a paying month's program is active
    assert f"member months {f['member_months']}; program active: yes" in out
    assert "True" not in out and "entr(ies)" not in out


def test_as_of_the_same_position_reproduces_the_snapshots(runs, capsys):
    """Rebuilt twice as of one seq: identical bytes; as of that seq the figures are what the
    live run's state held there, so a later seq can only add adjustments."""
    seq = next(e["seq"] for e in read(runs["a"] / "ledger") if e["type"] == "epoch.boundary")
    once, twice = (canonical(all_snapshots(fold(runs["a"], until_seq=seq))) for _ in range(2))
    assert once == twice
    out = runs["a"].parent / f"as_of_seq{seq}.csv"  # read-only: written only where --out says
    assert main(["audit", "as-of", str(runs["a"]), str(seq), "--out", str(out)]) == 0
    assert out.read_text().startswith("payer_id,practice_id,month,")
    capsys.readouterr()


def test_attribute_prints_and_writes_the_practice_lists(runs, capsys):
    path = runs["a"].parent / "attribution_2025-04-01.csv"
    assert main(["attribute", str(runs["a"]), "--as-of", "2025-04-01", "--out", str(path)]) == 0
    out = capsys.readouterr().out
    assert "attribution as of 2025-04-01" in out and "plurality" in out
    csv = path.read_text().splitlines()
    assert csv[0] == "payer_id,practice_id,member_id,basis"
    assert len(csv) > 10


@pytest.mark.parametrize("argv, message", [
    (["audit", "verify", "/nonexistent/run"], "no such run directory"),
    (["audit", "explain", "payment", "RUN", "PC001", "2025-13"], "MONTH"),
    (["attribute", "RUN", "--as-of", "soon"], "--as-of 'soon': not a YYYY-MM-DD date"),
    (["run", "--members", "10", "--months", "30", "--out", "/tmp/never"], "--months"),
])
def test_user_errors_are_one_line(argv, message, runs, capsys):
    argv = [str(runs["a"]) if a == "RUN" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_explain_payment_says_why_a_month_has_no_member_months(runs, capsys):
    """A month before the practice's first attribution (the baseline) has no member months, and
    the explanation says why: the date that first attribution takes effect."""
    state = fold(runs["a"])
    ledger = list(read(runs["a"] / "ledger"))
    first = min(e["data"]["effective"] for e in ledger if e["type"] == "attribution.assigned")
    practice = next(e["data"]["practice_id"] for e in ledger
                    if e["type"] == "attribution.assigned" and e["data"]["effective"] == first)
    claim = next(e["data"] for e in ledger if e["type"] == "claim.adjudicated"
                 and e["data"]["practice_id"] == practice and str(e["data"]["paid"]) < first)
    month = str(claim["paid"])[:7]
    assert figures(state, claim["payer_id"], practice, month)["member_months"] == 0
    assert main(["audit", "explain", "payment", str(runs["a"]), practice, month]) == 0
    out = capsys.readouterr().out
    assert (f"member months 0 (no member attributed yet: the first attribution to {practice}"
            f" takes effect {first}); program active:") in out
