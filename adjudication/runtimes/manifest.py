"""The run manifest: the first entry of every ledger (scenario, seed, code version, reference
data digest, engine settings), written and checked here for every runtime and the benchmarks,
so the embedded and Kafka runtimes start byte-identical ledgers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from claimsim import __version__
from claimsim.events.envelope import new_event
from claimsim.events.errors import UserError
from claimsim.events.ledger import RunManifest
from claimsim.events.input_reader import read_checked
from claimsim.events.log import LogWriter, read
from claimsim.events.reference import ReferenceData
from claimsim.events.signing import Signer, sign_head

from claimsim.adjudication.engine.context import Settings, sequestration_rates

RUN_FILE = "run.json"  # optional: {"scenario": ..., "seed": ...} for the manifest
MANIFEST_KEY = "run"
NO_INPUT_AT = "0001-01-01"  # the manifest's date when the input log is still empty


def run_info(run_dir: Path) -> tuple[str, int]:
    """(scenario, seed) from the run's run.json; ("unknown", 0) without one."""
    path = run_dir / RUN_FILE
    if not path.exists():
        return "unknown", 0
    try:
        info = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as e:
        raise UserError(f"{path}: not JSON ({e})") from None
    if not isinstance(info, dict):
        raise UserError(f"{path}: expected a JSON object")
    scenario, seed = info.get("scenario", "unknown"), info.get("seed", 0)
    if not isinstance(scenario, str) or type(seed) is not int:
        raise UserError(f"{path}: scenario must be a string and seed an integer")
    return scenario, seed


def manifest_envelope(reference: ReferenceData, settings: Settings | dict[str, Any], *,
                      scenario: str, seed: int, at: str,
                      signing_key_id: str | None = None) -> dict[str, Any]:
    """A run manifest event, dated `at` (the first input's date); `signing_key_id` names the key
    that signs the ledger's heads (events.signing), None for an unsigned run. It records the
    sequestration rate each payer's plan paid gets (the payers' reference data unless the settings
    override it explicitly), so an auditor reads it without recomputing the rule."""
    settings = settings if isinstance(settings, Settings) else Settings.from_dict(settings)
    manifest = RunManifest(scenario=scenario, seed=seed, code_version=__version__,
                           reference_digest=reference.digest(), settings=settings.to_dict(),
                           sequestration_bp=sequestration_rates(reference, settings),
                           signing_key_id=signing_key_id)
    return new_event(manifest, at=at, key=MANIFEST_KEY)


def manifest_event(run_dir: Path, reference: ReferenceData, settings: Settings,
                   signer: Signer | None = None) -> dict[str, Any]:
    """The manifest a new ledger of `run_dir` starts with."""
    scenario, seed = run_info(run_dir)
    first = next(read_checked(run_dir / "input"), None)
    return manifest_envelope(reference, settings, scenario=scenario, seed=seed,
                             at=first["at"] if first is not None else NO_INPUT_AT,
                             signing_key_id=signer.key_id if signer else None)


def recorded_signing_key(run_dir: Path) -> str | None:
    """The key id the run's ledger manifest names: None for an unsigned ledger, or one with no
    manifest yet."""
    manifest = next(read(Path(run_dir) / "ledger"), None)
    data = manifest.get("data") if isinstance(manifest, dict) else None
    return data.get("signing_key_id") if isinstance(data, dict) else None


def check_signing_key(run_dir: Path, signer: Signer | None) -> None:
    """A resumed ledger keeps the key it was started with: the same key, or none for an
    unsigned ledger (a signature chain with a gap, or a second key, proves nothing)."""
    recorded = recorded_signing_key(run_dir)
    given = signer.key_id if signer else None
    if recorded == given:
        return
    if recorded is None:
        raise UserError(f"{run_dir / 'ledger'}: the ledger was started unsigned; it cannot be"
                        " signed part-way (start a fresh run with --signing-key)")
    if given is None:
        raise UserError(f"{run_dir / 'ledger'}: the ledger is signed with key {recorded}; give"
                        " that key's private file with --signing-key to continue it")
    raise UserError(f"{run_dir / 'ledger'}: the ledger is signed with key {recorded}, not"
                    f" {given}")


def sign_ledger_head(run_dir: Path, signer: Signer | None) -> None:
    """Sign the head of a ledger no writer holds (after a Kafka sink closed it): the close of a
    `claimsim adjudicate` run. A no-op for an unsigned run."""
    if signer is None:
        return
    with LogWriter(run_dir / "ledger") as writer:
        last = next(read(run_dir / "ledger", writer.next_seq - 1), None)
        if last is not None and last["type"] != "ledger.signed":
            sign_head(writer, signer, last["at"])


def recorded_settings(run_dir: Path, reference: ReferenceData) -> Settings:
    """The settings in the ledger's run manifest, after checking it matches the reference data."""
    ledger = run_dir / "ledger"
    manifest = next(read(ledger), None) if ledger.is_dir() else None
    if manifest is None or manifest["type"] != "run.manifest":
        raise UserError(f"{ledger}: the ledger does not start with a run manifest (a runtime writes"
                        " it when it first opens the ledger)")
    recorded = manifest["data"]
    digest = reference.digest()
    if recorded["reference_digest"] != digest:
        raise UserError(
            f"{run_dir / 'reference.json'}: reference data differs from the one the ledger"
            f" was written with (digest {recorded['reference_digest'][:12]}..., now {digest[:12]}...)"
        )
    try:
        return Settings.from_dict(recorded.get("settings") or {})
    except (TypeError, ValueError) as e:
        raise UserError(f"{ledger}: run manifest settings: {e}") from None


def open_manifest(run_dir: Path, writer: LogWriter, reference: ReferenceData,
                  settings: Settings | None, signer: Signer | None = None, *,
                  check_key: bool = True) -> Settings:
    """Start a new ledger with its manifest (signed right after it when `signer` is given), or
    check an existing one's; returns the run's settings. `settings` None means: the recorded
    ones (defaults for a new ledger); given, they must equal the recorded ones (a run does not
    change settings midway), and so must the signing key (`check_key` False: a writer that never
    signs, the Kafka sink, whose driver signs)."""
    if writer.next_seq == 0:
        settings = settings or Settings()
        manifest = writer.append(manifest_event(run_dir, reference, settings, signer))
        writer.commit()
        sign_head(writer, signer, manifest["at"])
        return settings
    if check_key:
        check_signing_key(run_dir, signer)
    kept = recorded_settings(run_dir, reference)
    if settings is not None and settings != kept:
        raise UserError(
            f"{writer.directory}: the ledger was written with settings {kept.to_dict()};"
            f" cannot resume with {settings.to_dict()}"
        )
    return kept
