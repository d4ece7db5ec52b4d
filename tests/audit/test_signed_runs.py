"""Signed ledger heads end to end: `claimsim audit keygen`, `claimsim run --signing-key`, and
`claimsim audit verify --public-key` catching an edit that was re-hashed to keep the chain valid,
naming the first seq after the last signature that still holds. A signed Kafka run is
byte-identical to the signed embedded run (Ed25519 is deterministic)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from claimsim.cli import main
from claimsim.events.log import LogWriter, read, segments
from claimsim.events.log_verify import verify

ARGS = ["run", "demo", "--members", "300", "--months", "6", "--seed", "3", "--minimum-attributed",
        "3", "--no-progress"]


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    base = tmp_path_factory.mktemp("signed")
    assert main(["audit", "keygen", str(base / "payer")]) == 0
    assert main([*ARGS, "--signing-key", str(base / "payer.key"), "--out", str(base / "run")]) == 0
    return base


def _signatures(run):
    return [(e["seq"], e["cause"]) for e in read(run / "ledger") if e["type"] == "ledger.signed"]


def test_heads_are_signed_after_the_manifest_each_boundary_and_at_close(signed):
    run = signed / "run"
    sigs = _signatures(run)
    boundaries = [e["seq"] for e in read(run / "ledger") if e["type"] == "epoch.boundary"]
    last = max(e["seq"] for e in read(run / "ledger"))
    assert sigs[0] == (1, 0)  # the manifest, signed right after it
    assert sigs[-1] == (last, last - 1)  # the close: the last entry signs the one before it
    assert len(sigs) == len(boundaries) + 2  # one per epoch between them


def test_verify_with_the_public_key_passes_and_replay_skips_signatures(signed, capsys):
    run = signed / "run"
    assert main(["audit", "verify", str(run), "--public-key", str(signed / "payer.pub")]) == 0
    out = capsys.readouterr().out
    assert f"{len(_signatures(run))} signed heads by key" in out
    assert main(["audit", "replay", str(run)]) == 0


def test_a_rehashed_edit_is_caught_and_located_after_the_last_valid_signature(signed, tmp_path, capsys):
    """Pay one claim line a dollar more, after the second signature, and re-hash every entry
    after it: `log verify` passes (the chain is whole), the signature check names the seq."""
    run = signed / "run"
    sigs = _signatures(run)
    victim = next(e for e in read(run / "ledger") if e["seq"] > sigs[1][0]
                  and e["type"] == "claim.adjudicated")
    forged = tmp_path / "forged"
    forged.mkdir()
    for name in ("input", "truth"):
        (forged / name).symlink_to(run / name)
    for extra in ("reference.json", "run.json", "runclock.json"):
        (forged / extra).write_bytes((run / extra).read_bytes())
    with LogWriter(forged / "ledger") as w:
        for env in read(run / "ledger"):
            body = {k: env[k] for k in ("type", "v", "at", "key", "cause", "data")}
            if env["seq"] == victim["seq"]:
                body["data"]["lines"][0]["plan_paid"] += 100
            w.append(body)
    assert verify(forged / "ledger").ok
    assert main(["audit", "verify", str(forged), "--public-key", str(signed / "payer.pub")]) == 1
    out = capsys.readouterr().out
    assert f"entries from seq {sigs[1][0] + 1:,} on are not proven by a signature" in out


def test_a_forged_snapshot_followed_by_a_copied_closing_signature_fails_verify(signed, tmp_path,
                                                                              capsys):
    """A forged snapshot.taken appended, then a copy of the closing ledger.signed entry, both
    chained on: the copy signs the old head, not the forged entry before it."""
    run = signed / "run"
    forged = tmp_path / "appended"
    shutil.copytree(run, forged)
    ledger = list(read(run / "ledger"))
    last = ledger[-1]["seq"]
    snapshot = next(e for e in reversed(ledger) if e["type"] == "snapshot.taken")
    with LogWriter(forged / "ledger") as w:
        for env in (snapshot, ledger[-1]):
            w.append({k: env[k] for k in ("type", "v", "at", "key", "cause", "data")})
    assert verify(forged / "ledger").ok
    assert main(["audit", "verify", str(forged), "--public-key", str(signed / "payer.pub")]) == 1
    out = capsys.readouterr().out
    assert (f"FAIL ledger signatures: signature at seq {last + 2}: signs seq {last - 1}"
            f" (cause {last - 1}), not the entry right before it (seq {last + 1})") in out
    assert f"entries from seq {last + 1:,} on are not proven" in out


def test_a_signed_ledger_cannot_be_continued_without_its_key(signed, tmp_path, capsys):
    # A run-clock run is refused by `adjudicate` whatever its key (it is `claimsim run`'s) ...
    assert main(["adjudicate", str(signed / "run"), "--no-progress"]) == 2
    assert "runclock.json" in capsys.readouterr().err
    # ... so the key check is shown on a copy without the run clock's plan.
    bare = tmp_path / "bare"
    shutil.copytree(signed / "run", bare)
    (bare / "runclock.json").unlink()
    assert main(["adjudicate", str(bare), "--no-progress"]) == 2
    assert "signed with key" in capsys.readouterr().err


def test_a_signed_run_stopped_while_paying_resumes_only_with_its_key(signed, tmp_path, capsys):
    """`run --resume` pays a stopped run again: without the key it started with (the new ledger
    would be unsigned) or with another key it is refused, leaving the run as it was; with its
    key the ledger is the uninterrupted one's, byte for byte."""
    run, half = signed / "run", tmp_path / "half"
    shutil.copytree(run, half, ignore=lambda d, names: [n for n in names if Path(d) == run
                                                        and n in ("projections", "reports")])
    (_, path), = segments(half / "ledger")
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:200]))
    stopped = path.read_bytes()
    assert main(["audit", "keygen", str(tmp_path / "other")]) == 0
    capsys.readouterr()
    for key in ([], ["--signing-key", str(tmp_path / "other.key")]):
        assert main([*ARGS, *key, "--out", str(half), "--resume"]) == 2
        assert "its payment was signed with key" in capsys.readouterr().err
        assert path.read_bytes() == stopped
    assert main([*ARGS, "--signing-key", str(signed / "payer.key"), "--out", str(half),
                 "--resume"]) == 0
    assert b"".join(p.read_bytes() for _, p in segments(half / "ledger")) == b"".join(
        p.read_bytes() for _, p in segments(run / "ledger"))


def test_an_unsigned_run_verifies_and_says_it_is_unsigned(tmp_path, capsys):
    assert main([*ARGS, "--out", str(tmp_path / "plain")]) == 0
    capsys.readouterr()
    assert main(["audit", "verify", str(tmp_path / "plain")]) == 0
    assert "the run is unsigned" in capsys.readouterr().out
    assert _signatures(tmp_path / "plain") == []


@pytest.mark.kafka
def test_a_signed_kafka_run_is_byte_identical_to_the_signed_embedded_run(signed, tmp_path, kafka_bootstrap):
    out = tmp_path / "kafka"
    assert main([*ARGS, "--signing-key", str(signed / "payer.key"), "--runtime", "kafka",
                 "--bootstrap", kafka_bootstrap, "--out", str(out)]) == 0

    def ledger(run):
        return b"".join(p.read_bytes() for _, p in segments(run / "ledger"))

    assert ledger(out) == ledger(signed / "run")
