"""Every ledger reader over both versions of one run: v2 claim entries carry each line's
diagnoses as submitted; the v1 ledger of the same run (the same entries without them, rewritten
by `fixtures.ledger_versions`) must give the same projections (read from the input log's claims
instead), replay and verify, explain, as-of, diff and export exactly as the v2 ledger does."""

from __future__ import annotations

import shutil

import orjson
import pytest

from claimsim.cli import main
from claimsim.events.codes import ICD10_CONDITION
from claimsim.events.encoding import canonical
from claimsim.events.log import LogWriter, raw_lines, read, segments

from claimsim.events.reference import ReferenceData
from claimsim.events.registry import EventError

from claimsim.adjudication.audit import fold
from claimsim.adjudication.projections.follower import LedgerFollower, ledger_records_diagnoses
from claimsim.adjudication.projections.snapshots import all_snapshots
from claimsim.adjudication.projections.state import PayerState

from ..fixtures.ledger_versions import downgrade_run

ARGS = ["--members", "300", "--months", "6", "--minimum-attributed", "3", "--no-progress"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("versions")
    assert main(["run", *ARGS, "--seed", "7", "--out", str(base / "v2")]) == 0
    return {"v2": base / "v2", "v1": downgrade_run(base / "v2", base / "v1")}


def test_v2_claim_lines_carry_the_diagnoses_submitted_on_them(runs):
    submitted = {e["seq"]: e["data"]["claim"] for e in read(runs["v2"] / "input")
                 if e["type"] == "claim.submitted"}
    checked = 0
    for env in read(runs["v2"] / "ledger"):
        if env["type"] == "claim.adjudicated":
            assert env["v"] == 2
            sent = {ln["line_no"]: ln.get("diagnoses", []) for ln in submitted[env["cause"]]["lines"]}
            for line in env["data"]["lines"]:
                assert line["diagnoses"] == sent[line["line_no"]]
                checked += bool(line["diagnoses"])
    assert checked > 100


def test_a_v1_ledger_reads_upcast_with_its_diagnoses_unknown(runs):
    v1 = next(line for line in raw_lines(runs["v1"] / "ledger") if b'"claim.adjudicated"' in line)
    assert b'"diagnoses"' not in v1 and b',"type":"claim.adjudicated","v":1,' in v1
    env = next(e for e in read(runs["v1"] / "ledger") if e["type"] == "claim.adjudicated")
    assert env["v"] == 2 and all(line["diagnoses"] is None for line in env["data"]["lines"])
    assert (ledger_records_diagnoses(runs["v1"] / "ledger"),
            ledger_records_diagnoses(runs["v2"] / "ledger")) == (False, True)


def test_projections_are_the_same_from_either_version(runs):
    """v1: conditions from the input log's claims; v2: from the ledger lines; the whole state
    (risk facts at every boundary, snapshots, reconciliation) is the same, and the run has
    chronic conditions to count."""
    v1, v2 = fold(runs["v1"]), fold(runs["v2"])
    assert canonical(v1.state()) == canonical(v2.state())
    assert canonical(all_snapshots(v1)) == canonical(all_snapshots(v2))
    conditions = {c.value for c in ICD10_CONDITION.values()}
    assert sum(1 for m in v2.dx.values() for c in m if c in conditions) > 20
    assert v1.pending_dx == {} == v2.pending_dx


def test_a_v2_ledger_is_followed_without_parsing_claims_in_the_input(runs, monkeypatch):
    import claimsim.adjudication.projections.follower as follower
    calls = []
    real = follower.claim_conditions
    monkeypatch.setattr(follower, "claim_conditions", lambda raw: calls.append(1) or real(raw))
    for name, parsed in (("v2", False), ("v1", True)):
        calls.clear()
        f = LedgerFollower(runs[name], PayerState(ReferenceData.load(runs[name])))
        for env in read(runs[name] / "ledger"):
            f.apply(env)
        assert bool(calls) is parsed, name


def test_a_ledger_upgraded_mid_run_folds_as_either_version(runs, tmp_path):
    """Written by the old code up to a point, then by this code (v1 claim entries, then v2):
    the claims before the switch take their diagnoses from the input, the rest from the lines."""
    half = sum(1 for _ in read(runs["v2"] / "ledger")) // 2
    mixed = downgrade_run(runs["v2"], tmp_path / "mixed", range(half))
    assert not ledger_records_diagnoses(mixed / "ledger")
    assert canonical(fold(mixed).state()) == canonical(fold(runs["v2"]).state())


def test_a_claim_entry_without_diagnoses_after_entries_with_them_is_refused(runs, tmp_path):
    """Ledger versions only go up; once the input's claims are skipped, a v1 entry's diagnoses
    are nowhere to be had, so the fold names it rather than under-count risk."""
    n = sum(1 for _ in read(runs["v2"] / "ledger"))
    odd = downgrade_run(runs["v2"], tmp_path / "odd", range(n // 2, n))
    first_v1 = next(e["seq"] for e in read(odd / "ledger", n // 2)
                    if e["type"] == "claim.adjudicated")
    with pytest.raises(EventError, match=f"seq {first_v1}: a claim entry without"):
        fold(odd)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_audit_verify_and_replay_pass_on_either_version(runs, version, capsys):
    assert main(["audit", "verify", str(runs[version])]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out and "reproduced by replay" in out
    assert main(["audit", "replay", str(runs[version])]) == 0
    assert "reproduces all" in capsys.readouterr().out


def test_replay_of_a_v1_ledger_still_finds_a_changed_amount(runs, tmp_path, capsys):
    """The amount edited and the chain re-hashed over the raw (v1) entries: only replay finds
    it (an edit left un-hashed stops the replay at the broken chain instead)."""
    copy = tmp_path / "edited"
    shutil.copytree(runs["v1"], copy)
    (_, path), = segments(copy / "ledger")
    raw = path.read_bytes()
    i = raw.index(b'"plan_paid":') + len(b'"plan_paid":')
    bodies = [{k: e[k] for k in ("type", "v", "at", "key", "cause", "data")}
              for e in map(orjson.loads, (raw[:i] + b"9" + raw[i:]).splitlines())]
    shutil.rmtree(copy / "ledger")
    with LogWriter(copy / "ledger") as w:
        w.extend(bodies)
    assert main(["audit", "replay", str(copy)]) == 1
    assert "(claim.adjudicated, input 330): data.lines[0].plan_paid: 912816 vs 12816" in (
        capsys.readouterr().err)


def test_explain_and_as_of_say_the_same_from_either_version(runs, capsys):
    env = next(e for e in read(runs["v2"] / "ledger") if e["type"] == "claim.adjudicated")
    seq = next(e["seq"] for e in read(runs["v2"] / "ledger") if e["type"] == "epoch.boundary")
    outs = {}
    for version in ("v1", "v2"):
        assert main(["audit", "explain", "claim", str(runs[version]), env["data"]["claim_id"]]) == 0
        assert main(["audit", "explain", "member", str(runs[version]), env["data"]["member_id"]]) == 0
        assert main(["audit", "as-of", str(runs[version]), str(seq)]) == 0
        outs[version] = capsys.readouterr().out.replace(str(runs[version]), "RUN")
    assert outs["v1"] == outs["v2"] and "plan paid" in outs["v2"]


def test_diff_names_the_diagnoses_and_finds_no_snapshot_changed(runs, capsys):
    assert main(["audit", "diff", str(runs["v1"]), str(runs["v2"])]) == 1
    out = capsys.readouterr().out
    assert "diagnoses: null vs" in out and "0 of" in out and "snapshots differ" in out


@pytest.mark.parametrize("fmt", ["835", "eob", "tuva"])
def test_exports_are_byte_identical_from_either_version(runs, fmt, tmp_path, capsys):
    files = {}
    for version in ("v1", "v2"):
        out = tmp_path / version
        assert main(["export", str(runs[version]), "--format", fmt, "--out", str(out),
                     "--no-progress"]) == 0
        files[version] = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*"))
                          if p.is_file()}
    capsys.readouterr()
    assert files["v1"] == files["v2"] and files["v2"]
