"""Helpers the ingest tests share: run `claimsim` commands, read a ledger's claim answers and a
run's rejections."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import orjson

from claimsim.cli import main

DATA = Path(__file__).parent / "data"
TUVA_CLAIMS, TUVA_ELIGIBILITY = DATA / "tuva_medical_claim.csv", DATA / "tuva_eligibility.csv"


def claimsim(*argv: str) -> int:
    return main([str(a) for a in argv])


def rejections(run_dir: Path) -> list[tuple[str, int, str, str]]:
    with open(run_dir / "rejections.csv", newline="") as f:
        return sorted((r["file"], int(r["row"]), r["column"], r["reason"]) for r in csv.DictReader(f))


def events(log_dir: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for p in sorted(log_dir.glob("*.jsonl")) for line in p.open("rb")]


def claim_answers(run_dir: Path) -> dict[str, dict[str, Any]]:
    """claim id -> its ledger answer (adjudicated, reversed or rejected) with `type` added."""
    return {e["data"]["claim_id"]: {**e["data"], "type": e["type"]}
            for e in events(run_dir / "ledger") if e["type"].startswith("claim.")}


def lines_by_code(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {line["procedure"]: line for line in answer["lines"]}


def attribution(run_dir: Path, day: str) -> dict[tuple[str, str], str]:
    """(payer, member) -> practice, from `claimsim attribute RUN --as-of DAY`'s file."""
    assert claimsim("attribute", run_dir, "--as-of", day) == 0
    with open(run_dir / "reports" / f"attribution_{day}.csv", newline="") as f:
        return {(r["payer_id"], r["member_id"]): r["practice_id"] for r in csv.DictReader(f)}
