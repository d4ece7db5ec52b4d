"""Signed ledger heads (events.signing): a signature over (seq, chain hash) at chosen positions,
so an edit that was re-hashed to keep the chain valid is still caught, and where it may start is
named: right after the last head whose signature still holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from claimsim.events.envelope import new_event
from claimsim.events.errors import UserError
from claimsim.events.ledger import LedgerSigned, NoEffect, RunManifest
from claimsim.events.log import LogWriter, read
from claimsim.events.log_verify import verify
from claimsim.events.signing import (SigningError, Signer, generate_keypair, load_public_key,
                                     sign_head, verify_heads)


def _write_run(directory: Path, signer: Signer | None, n: int = 10) -> None:
    """Manifest (seq 0), signed; n no-effect answers with a signature after the 5th; signed at
    close. Layout: 0 manifest, 1 sig(0), 2..6 answers, 7 sig(6), 8..(n+2) answers, last sig."""
    with LogWriter(directory) as w:
        w.append(new_event(RunManifest(scenario="t", seed=1, code_version="0", reference_digest="d",
                                       signing_key_id=signer.key_id if signer else None),
                           at="2025-01-01", key="run"))
        sign_head(w, signer, "2025-01-01")
        for i in range(n):
            w.append(new_event(NoEffect(input_type="member.enrolled", note=str(i)),
                               at="2025-01-02", key=f"S{i}", cause=i))
            if i == 4:
                sign_head(w, signer, "2025-01-02")
        sign_head(w, signer, "2025-01-02")


def _rewrite(src: Path, dst: Path, edit_seq: int) -> None:
    """What a forger with write access does: edit one entry and re-hash everything after it."""
    with LogWriter(dst) as w:
        for env in read(src):
            body = {k: env[k] for k in ("type", "v", "at", "key", "cause", "data")}
            if env["seq"] == edit_seq:
                body["data"] = {**body["data"], "note": "forged"}
            w.append(body)


@pytest.fixture
def keys(tmp_path):
    private, public, kid = generate_keypair(tmp_path / "auditor")
    return Signer.from_file(private), load_public_key(public), kid


def test_a_signed_ledger_verifies_every_head(tmp_path, keys):
    signer, public, kid = keys
    _write_run(tmp_path / "ledger", signer)
    check = verify_heads(read(tmp_path / "ledger"), public)
    assert check.ok and check.signed and check.key_id == kid
    assert check.signatures == 3
    assert check.last_valid_seq == 12  # the closing signature (seq 13) signs seq 12
    assert [(e["seq"], e["cause"]) for e in read(tmp_path / "ledger")
            if e["type"] == "ledger.signed"] == [(1, 0), (7, 6), (13, 12)]
    LedgerSigned.model_validate(next(e for e in read(tmp_path / "ledger") if e["seq"] == 1)["data"])


def test_an_edit_rehashed_after_the_middle_signature_is_caught_and_located(tmp_path, keys):
    signer, public, _ = keys
    _write_run(tmp_path / "ledger", signer)
    _rewrite(tmp_path / "ledger", tmp_path / "forged", edit_seq=9)
    assert verify(tmp_path / "forged").ok  # the chain alone cannot see it
    check = verify_heads(read(tmp_path / "forged"), public)
    assert not check.ok
    # The signature entry at seq 7 (over seq 6) still holds; everything after it is unproven.
    assert check.last_valid_seq == 6 and check.first_unproven_seq == 8
    assert "signature at seq 13" in check.problem


def test_an_edit_before_the_first_answer_fails_at_the_first_later_signature(tmp_path, keys):
    signer, public, _ = keys
    _write_run(tmp_path / "ledger", signer)
    _rewrite(tmp_path / "ledger", tmp_path / "forged", edit_seq=3)
    check = verify_heads(read(tmp_path / "forged"), public)
    assert (check.last_valid_seq, check.first_unproven_seq) == (0, 2)


def test_the_same_key_gives_the_same_signature_bytes(tmp_path, keys):
    """Ed25519 is deterministic: two writers of the same ledger with one key agree to the byte."""
    signer = keys[0]
    _write_run(tmp_path / "a", signer)
    _write_run(tmp_path / "b", signer)
    assert (tmp_path / "a").joinpath("000000000000.jsonl").read_bytes() == \
        (tmp_path / "b").joinpath("000000000000.jsonl").read_bytes()


def test_another_public_key_is_refused_by_name(tmp_path, keys):
    signer = keys[0]
    _write_run(tmp_path / "ledger", signer)
    _, other_public, other_id = generate_keypair(tmp_path / "other")
    check = verify_heads(read(tmp_path / "ledger"), load_public_key(other_public))
    assert not check.ok and other_id in check.problem and signer.key_id in check.problem


def test_entries_appended_after_the_closing_signature_are_reported_unsigned(tmp_path, keys):
    signer, public, _ = keys
    _write_run(tmp_path / "ledger", signer)
    with LogWriter(tmp_path / "ledger") as w:
        w.append(new_event(NoEffect(input_type="x"), at="2025-01-03", key="S", cause=99))
    check = verify_heads(read(tmp_path / "ledger"), public)
    assert not check.ok and check.first_unproven_seq == 14 and "not signed" in check.problem


def test_an_unsigned_ledger_says_so_and_passes(tmp_path):
    _write_run(tmp_path / "ledger", None)
    check = verify_heads(read(tmp_path / "ledger"), None)
    assert check.ok and not check.signed and check.signatures == 0


def test_key_files_that_are_not_ed25519_keys_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.key"
    bad.write_text("not a key")
    with pytest.raises(SigningError, match="bad.key"):
        Signer.from_file(bad)
    with pytest.raises(SigningError, match="cannot read"):
        load_public_key(tmp_path / "missing.pub")
    generate_keypair(tmp_path / "k")
    with pytest.raises(UserError, match="never overwritten"):
        generate_keypair(tmp_path / "k")
    assert oct((tmp_path / "k.key").stat().st_mode & 0o777) == "0o600"


def _append_bodies(directory: Path, bodies: list[dict]) -> None:
    with LogWriter(directory) as w:
        for body in bodies:
            w.append(body)


def _body(env: dict) -> dict:
    return {k: env[k] for k in ("type", "v", "at", "key", "cause", "data")}


def test_a_copied_closing_signature_after_forged_entries_does_not_vouch_for_them(tmp_path, keys):
    """A forger appends an entry, then a copy of the closing signature (seq 13 over seq 12), the
    chain continued: the copy at seq 15 still names seq 12, not the entry before it (14)."""
    signer, public, _ = keys
    _write_run(tmp_path / "ledger", signer)
    closing = list(read(tmp_path / "ledger"))[-1]
    forged = {"type": "no_effect", "v": 1, "at": "2025-01-03", "key": "S", "cause": 10,
              "data": {"input_type": "member.enrolled", "note": "forged"}}
    _append_bodies(tmp_path / "ledger", [forged, _body(closing)])
    assert verify(tmp_path / "ledger").ok
    check = verify_heads(read(tmp_path / "ledger"), public)
    assert not check.ok
    assert check.problem.startswith("signature at seq 15: signs seq 12")
    assert "not the entry right before it (seq 14)" in check.problem
    assert (check.last_valid_seq, check.first_unproven_seq) == (12, 14)


def test_a_signature_repeating_an_earlier_head_fails(tmp_path, keys):
    """Signed seqs strictly increase: a copy of the first signature (over seq 0) appended at the
    end fails, and the ledger after the closing signature is unproven."""
    signer, public, _ = keys
    _write_run(tmp_path / "ledger", signer)
    first_sig = next(e for e in read(tmp_path / "ledger") if e["seq"] == 1)
    _append_bodies(tmp_path / "ledger", [_body(first_sig)])
    check = verify_heads(read(tmp_path / "ledger"), public)
    assert not check.ok and check.problem.startswith("signature at seq 14: signs seq 0")
    assert (check.last_valid_seq, check.first_unproven_seq) == (12, 14)


@pytest.mark.parametrize("prefix", ["", "keys/"])
def test_a_prefix_naming_no_file_is_refused_before_writing_hidden_keys(tmp_path, prefix):
    (tmp_path / "keys").mkdir()
    with pytest.raises(UserError, match="names no file"):
        generate_keypair(f"{tmp_path}/{prefix}" if prefix else "")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["keys"]
