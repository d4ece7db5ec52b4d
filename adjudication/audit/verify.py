"""`audit verify`: every log's hash chain; then, on an intact ledger, reference.json against the
manifest's digest, every line's arithmetic, every input answered once in order, the run whole
(`completeness`); then the projection checkpoint, which replaying the ledger to its position
must reproduce byte for byte. What only `audit replay` proves: `completeness.ONLY_REPLAY`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson

from claimsim.events.encoding import canonical
from claimsim.events.log import last_envelope, read
from claimsim.events.log_verify import verify
from claimsim.events.projection import checkpoint_head
from claimsim.events.signing import load_public_key, verify_heads

from claimsim.adjudication.audit.completeness import ledger_findings, reference_finding, scan
from claimsim.adjudication.audit.diff import first_difference
from claimsim.adjudication.audit.run_dir import LOGS, fold, require_run
from claimsim.adjudication.projections.epochs import CHECKPOINT


@dataclass
class Check:
    name: str
    ok: bool
    message: str


def signature_check(run_dir: Path, public_key: Path | str | None) -> Check:
    """The ledger's signed heads (events.signing) against a public key: every signature must
    hold, and the ledger must end in one. Without a key, says whether the run is signed."""
    key = load_public_key(public_key) if public_key is not None else None
    heads = verify_heads(read(run_dir / "ledger"), key)
    name = "ledger signatures"
    if not heads.signed:
        return Check(name, key is None, "the run is unsigned (no key in its manifest): the chain"
                     " shows the ledger was not edited without re-hashing, not who wrote it"
                     + ("; a public key was given, so this fails" if key is not None else ""))
    if key is None:
        return Check(name, True, f"signed by key {heads.key_id}: give --public-key to check its"
                     " signatures")
    if heads.ok:
        return Check(name, True, f"{heads.signatures} signed heads by key {heads.key_id} hold, the"
                     f" last at seq {heads.last_valid_seq:,}")
    return Check(name, False, f"{heads.problem}; entries from seq {heads.first_unproven_seq:,} on"
                 " are not proven by a signature (edited and re-hashed, or appended by another"
                 " writer)")


def verify_run(run_dir: Path | str, public_key: Path | str | None = None) -> list[Check]:
    """Every log's hash chain, then the projection checkpoint: its position must be the ledger's
    last entry (a run writes it last), and replaying the ledger to it must give its state byte for byte; then the
    signed heads (checked against `public_key` when given)."""
    run_dir = require_run(run_dir)
    checks = []
    for name in LOGS:
        if not (run_dir / name).is_dir():
            continue
        r = verify(run_dir / name)
        checks.append(Check(f"{name}/", r.ok, f"{r.count:,} events, chain intact" if r.ok else
                            f"broken at seq {r.seq}: {r.problem.value}: {r.message} ({r.location})"))
    broken = [c for c in checks if not c.ok and c.name in ("input/", "ledger/")]
    if broken:  # every later check reads whole chains: a broken one stops them, named
        return [*checks, Check("later checks", False, "not run: " + "; ".join(
            f"{c.name} {c.message.split(':', 1)[0]}" for c in broken))]
    scanned = scan(run_dir)
    findings = [reference_finding(run_dir, scanned), *ledger_findings(run_dir, scanned)]
    checks += [Check(f.name, f.ok, f.message) for f in findings]
    found = checkpoint_check(run_dir)
    if found is not None:
        checks.append(found)
    checks.append(signature_check(run_dir, public_key))
    return checks


def checkpoint_check(run_dir: Path) -> Check | None:
    """The projections' checkpoint against a replay of the ledger to the entry it names: the
    replayed state's canonical bytes, piece by piece (`PayerState.state_pieces`), against the
    file's, so neither the file's state (some 0.6 GB of JSON at a million members, several GB
    decoded) nor the replay's bytes are ever whole in memory. Only a difference decodes the file,
    to say where it is. None: the run has no checkpoint."""
    path = run_dir / CHECKPOINT
    if not path.exists():
        return None
    head, offset = checkpoint_head(path)
    if head is None:
        return Check(str(CHECKPOINT), False, "not a checkpoint (no head before its state)")
    seq, digest = head.get("last_seq"), head.get("last_hash")
    entry = next(read(run_dir / "ledger", seq), None) if isinstance(seq, int) and seq >= 0 else None
    if entry is None or entry["seq"] != seq or entry["hash"] != digest:
        return Check(str(CHECKPOINT), False, f"checkpoint at seq {seq} does not match the ledger")
    last = last_envelope(run_dir / "ledger")["seq"]
    if last != seq:  # the run writes its checkpoint last, after the ledger's final entry
        after = f"entry {last:,} was" if last == seq + 1 else f"entries {seq + 1:,}..{last:,} were"
        return Check(str(CHECKPOINT), False, f"checkpoint at seq {seq:,}, but the ledger goes on"
                     f" to seq {last:,}: {after} appended after the run closed")
    rebuilt = fold(run_dir, until_seq=seq)
    if _same_bytes(path, offset, rebuilt.state_pieces()):
        return Check(str(CHECKPOINT), True, f"state at seq {seq:,} reproduced by replay")
    # Both as JSON values (the state holds tuples where its JSON has lists).
    saved, replayed = orjson.loads(path.read_bytes())["state"], orjson.loads(canonical(rebuilt.state()))
    if saved == replayed:
        return Check(str(CHECKPOINT), True, f"state at seq {seq:,} reproduced by replay"
                     " (the file is not in canonical form)")
    return Check(str(CHECKPOINT), False, f"state at seq {seq} differs from a replay"
                 f" ({first_difference(saved, replayed)})")


def _same_bytes(path: Path, offset: int, pieces) -> bool:
    """The file from `offset` is the pieces' bytes, then the closing brace, then nothing."""
    with open(path, "rb") as f:
        f.seek(offset)
        for piece in pieces:
            if f.read(len(piece)) != piece:
                return False
        return f.read() == b"}"
