"""Sequestration in a run (DOMAIN.md §3.8): the payer's reference data (`sequestration_bp`, 0 =
off) is the one source of truth, recorded in the run manifest; `claimsim run multipayer` carries
it on Medicare FFS lines only, 2 % of plan paid after cost share (CO-253), and `audit replay` and
the Kafka runtime give the same bytes."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from claimsim.cli import main
from claimsim.events.log import read
from claimsim.events.money import apply_rate

SMALL = ["--members", "300", "--months", "6", "--minimum-attributed", "3", "--no-progress"]


def _ledger(run: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted((run / "ledger").glob("*.jsonl")))


def _check_sequestration(run: Path) -> int:
    """Every line's sequestration is 2 % of (plan paid + sequestration) on MEDICARE-FFS and 0
    elsewhere; returns how many lines carry some."""
    reference = orjson.loads((run / "reference.json").read_bytes())
    rates = {p["payer_id"]: p.get("sequestration_bp", 0) for p in reference["payers"]}
    assert rates["MEDICARE-FFS"] == 200 and all(v == 0 for k, v in rates.items() if k != "MEDICARE-FFS")
    ledger = list(read(run / "ledger"))
    manifest = ledger[0]["data"]
    assert manifest["sequestration_bp"] == {"MEDICARE-FFS": 200}
    carried = 0
    for env in ledger:
        if env["type"] != "claim.adjudicated":
            continue
        for line in env["data"]["lines"]:
            if env["data"]["payer_id"] != "MEDICARE-FFS":
                assert line["sequestration"] == 0
                continue
            before = line["plan_paid"] + line["sequestration"]
            assert line["sequestration"] == apply_rate(before, 200)
            if line["sequestration"]:
                carried += 1
                assert {"group": "CO", "carc": "253", "amount": line["sequestration"]} in line["adjustments"]
    return carried


def test_multipayer_run_sequesters_medicare_ffs_lines_only_and_replay_agrees(tmp_path, capsys):
    run = tmp_path / "mp"
    assert main(["run", "multipayer", *SMALL, "--out", str(run)]) == 0
    assert _check_sequestration(run) > 0
    assert main(["audit", "replay", str(run)]) == 0
    assert "reproduces all" in capsys.readouterr().out


@pytest.mark.kafka
def test_multipayer_on_kafka_gives_the_embedded_ledger_bytes(kafka_bootstrap, tmp_path, capsys):
    embedded, kafka = tmp_path / "embedded", tmp_path / "kafka"
    assert main(["run", "multipayer", *SMALL, "--out", str(embedded)]) == 0
    assert main(["run", "multipayer", *SMALL, "--out", str(kafka), "--runtime", "kafka",
                 "--partitions", "2", "--bootstrap", kafka_bootstrap]) == 0
    capsys.readouterr()
    assert _check_sequestration(kafka) > 0
    assert _ledger(embedded) == _ledger(kafka)
