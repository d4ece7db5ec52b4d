"""Signed ledger heads: an Ed25519 signature over a ledger position (its seq and chain hash), so an
auditor holding the public key can tell an edited-and-re-hashed ledger from the one the writer
wrote. The hash chain alone proves only that nobody edited the log without re-hashing it.

The ledger writer signs its head at the run manifest, at every epoch boundary and at close; each
signature is a ledger entry of its own type (`ledger.signed`) whose `cause` is the seq it signs.
Ed25519 signatures are deterministic (RFC 8032), so two runtimes that write the same ledger with
the same key write the same signature bytes. `verify_heads` walks a ledger and checks every
signature against a public key.

Choices where DOMAIN.md is silent:
- The signed message is domain-separated: `b"claimsim ledger head\\0" + b"<seq>:<hash>"`, so a
  signature made for anything else can never pass as a ledger head.
- A key's id is the first 16 hex digits of sha256 of its raw 32-byte public key; the manifest
  records it, so keys can rotate and a verifier can say which key a run expects.
- Keys are PEM files (PKCS#8 private key, SubjectPublicKeyInfo public key), as `openssl` writes.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from claimsim.events.errors import UserError

SIGNATURE_TYPE = "ledger.signed"
_DOMAIN = b"claimsim ledger head\0"


class SigningError(UserError):
    """A key file that cannot be read as an Ed25519 key."""


def _crypto():
    """The `cryptography` primitives, imported when signing is used (not on every log read)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (Ed25519PrivateKey,
                                                                   Ed25519PublicKey)
    return InvalidSignature, serialization, Ed25519PrivateKey, Ed25519PublicKey


def head_message(seq: int, chain_hash: str) -> bytes:
    return _DOMAIN + f"{seq}:{chain_hash}".encode("ascii")


def _raw_public(public_key: Any) -> bytes:
    _, serialization, _, _ = _crypto()
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: Any) -> str:
    return hashlib.sha256(_raw_public(public_key)).hexdigest()[:16]


def generate_keypair(prefix: Path | str) -> tuple[Path, Path, str]:
    """Write `PREFIX.key` (private, mode 0600) and `PREFIX.pub`; return both paths and the key
    id. Refuses to overwrite an existing key file."""
    _, serialization, Ed25519PrivateKey, _ = _crypto()
    text = str(prefix)
    if not text or text.endswith(("/", os.sep)) or Path(text).name in ("", ".", ".."):
        raise UserError(f"PREFIX {text!r} names no file (it would write hidden .key/.pub files):"
                        " give a name, e.g. keys/payer")
    private_path, public_path = Path(f"{prefix}.key"), Path(f"{prefix}.pub")
    for path in (private_path, public_path):
        if path.exists():
            raise UserError(f"{path} exists; a key is never overwritten (choose another prefix)")
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public = private.public_key()
    public_path.write_bytes(public.public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo))
    return private_path, public_path, key_id(public)


def _read_key_file(path: Path | str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise SigningError(f"cannot read key file {path}: {e.strerror or e}") from None


class Signer:
    """Signs ledger heads with one private key."""

    def __init__(self, private_key: Any):
        self._key = private_key
        self.key_id = key_id(private_key.public_key())

    @classmethod
    def from_file(cls, path: Path | str) -> Signer:
        _, serialization, Ed25519PrivateKey, _ = _crypto()
        try:
            key = serialization.load_pem_private_key(_read_key_file(path), password=None)
        except (ValueError, TypeError) as e:
            raise SigningError(f"{path} is not an unencrypted PEM private key: {e}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningError(f"{path} is not an Ed25519 private key")
        return cls(key)

    def signature_data(self, seq: int, chain_hash: str) -> dict[str, Any]:
        """The `ledger.signed` event's data for the head at (seq, chain_hash)."""
        return {"key_id": self.key_id, "signed_seq": seq, "signed_hash": chain_hash,
                "signature": self._key.sign(head_message(seq, chain_hash)).hex()}


def signature_event(signer: Signer, seq: int, chain_hash: str, at: str) -> dict[str, Any]:
    """The ledger entry signing the head at (seq, chain_hash); `at` is the signed entry's
    simulation date (never the wall clock: the ledger stays a function of its inputs)."""
    return {"type": SIGNATURE_TYPE, "v": 1, "at": at, "key": "ledger", "cause": seq,
            "data": signer.signature_data(seq, chain_hash)}


def sign_head(writer: Any, signer: Signer | None, at: str) -> dict[str, Any] | None:
    """Append a signature over the writer's current head (its last entry) and commit it; a
    no-op for an unsigned run (`signer` None) or an empty log."""
    if signer is None or writer.next_seq == 0:
        return None
    event = writer.append(signature_event(signer, writer.next_seq - 1, writer.last_hash, at))
    writer.commit()
    return event


def load_public_key(path: Path | str) -> Any:
    _, serialization, _, Ed25519PublicKey = _crypto()
    try:
        key = serialization.load_pem_public_key(_read_key_file(path))
    except (ValueError, TypeError) as e:
        raise SigningError(f"{path} is not a PEM public key: {e}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"{path} is not an Ed25519 public key")
    return key


@dataclass
class HeadCheck:
    """What `verify_heads` found: signatures checked, the last position they prove, and the
    first problem (None: every signature holds)."""

    key_id: str | None  # the key the manifest names (None: an unsigned ledger)
    signatures: int = 0
    last_valid_seq: int | None = None  # the last seq a valid signature covers
    problem: str | None = None
    # Where an edit may start: the first seq after the last valid signature entry.
    first_unproven_seq: int | None = None
    last_signature_seq: int = -1
    notes: list[str] = field(default_factory=list)

    @property
    def signed(self) -> bool:
        return self.key_id is not None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_heads(envelopes: Iterable[dict[str, Any]], public_key: Any | None) -> HeadCheck:
    """Check every `ledger.signed` entry of a ledger (raw envelopes in seq order).

    A signature holds when its key id is the manifest's, it signs the entry right before it (its
    `cause` and `signed_seq` are its own seq - 1, so signed seqs strictly increase), the entry at
    that seq has the signed hash, and the Ed25519 signature verifies. The ledger must end in a
    signature that holds: a valid signature copied to the end of a ledger with entries appended
    before it signs an earlier seq, so it fails, and the appended entries are named unproven.
    A ledger edited and re-hashed keeps a valid chain, but the hash at every later signed seq
    changes, so the first signature after the edit fails: the edit lies after `last_valid_seq`.
    """
    hashes: dict[int, str] = {}
    check: HeadCheck | None = None
    expected_id = key_id(public_key) if public_key is not None else None
    for env in envelopes:
        seq = env["seq"]
        if check is None:
            named = env["data"].get("signing_key_id") if env["type"] == "run.manifest" else None
            check = HeadCheck(key_id=named)
            if named is None:
                return check
            if expected_id is not None and named != expected_id:
                check.problem = (f"the manifest names signing key {named}, but the public key "
                                 f"given is {expected_id}")
                check.first_unproven_seq = 0
                return check
        hashes[seq] = env["hash"]
        if env["type"] != SIGNATURE_TYPE:
            continue
        reason = _signature_problem(env, check, hashes, public_key)
        if reason is not None:
            check.problem = f"signature at seq {seq}: {reason}"
            check.first_unproven_seq = check.last_signature_seq + 1
            return check
        check.signatures += 1
        check.last_valid_seq = env["data"]["signed_seq"]
        check.last_signature_seq = seq
    if check is None:
        return HeadCheck(key_id=None)
    last = max(hashes)
    if check.last_signature_seq != last:
        check.problem = (f"the ledger ends at seq {last}, but its last signature is at seq "
                         f"{check.last_signature_seq}: the entries after it are not signed "
                         f"(a run still in progress, or entries appended by someone else)")
        check.first_unproven_seq = check.last_signature_seq + 1
    return check


def _signature_problem(env: dict[str, Any], check: HeadCheck, hashes: dict[int, str],
                       public_key: Any | None) -> str | None:
    """Why the `ledger.signed` entry `env` does not hold (None: it does), given the hashes of
    the entries before it and the signatures that held so far."""
    InvalidSignature, _, _, _ = _crypto()
    seq, data = env["seq"], env["data"]
    signed_seq = data.get("signed_seq")
    if data.get("key_id") != check.key_id:
        return f"signed with key {data.get('key_id')}, not the manifest's {check.key_id}"
    if signed_seq != seq - 1 or env["cause"] != signed_seq:
        # The writer signs its head, the entry right before the signature; a copied
        # signature further on would otherwise vouch for whatever was put between.
        return (f"signs seq {signed_seq} (cause {env['cause']}), not the entry right"
                f" before it (seq {seq - 1})")
    if check.last_valid_seq is not None and signed_seq <= check.last_valid_seq:
        return (f"signs seq {signed_seq}, not after the previous signed head (seq"
                f" {check.last_valid_seq})")
    if hashes.get(signed_seq) != data.get("signed_hash"):
        return (f"signs seq {signed_seq} with hash {str(data.get('signed_hash'))[:12]}..., "
                f"but the ledger's hash there is {str(hashes.get(signed_seq))[:12]}...")
    if public_key is not None:
        try:
            public_key.verify(bytes.fromhex(data["signature"]),
                              head_message(signed_seq, data["signed_hash"]))
        except (InvalidSignature, ValueError, TypeError):
            return "the signature does not verify under the public key"
    return None
