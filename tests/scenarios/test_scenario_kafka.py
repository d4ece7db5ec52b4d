"""`claimsim run SCENARIO --runtime kafka`: the run clock with the streaming runtime adjudicating
each epoch gives the same ledger, byte for byte, and the same reports as the embedded runtime
(DESIGN.md "The two runtimes share one core"). Needs a broker (marked `kafka`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from claimsim.cli import main

SMALL = ["--members", "200", "--months", "6", "--minimum-attributed", "3", "--no-progress"]


def _bytes(run_dir: Path, sub: str) -> bytes:
    return b"".join(p.read_bytes() for p in sorted((run_dir / sub).glob("*.jsonl")))


@pytest.mark.kafka
def test_kafka_run_clock_ledger_and_reports_equal_the_embedded_ones(kafka_bootstrap, tmp_path, capsys):
    embedded, kafka = tmp_path / "embedded", tmp_path / "kafka"
    assert main(["run", "demo", *SMALL, "--out", str(embedded)]) == 0
    assert main(["run", "demo", *SMALL, "--out", str(kafka), "--runtime", "kafka",
                 "--partitions", "2", "--bootstrap", kafka_bootstrap]) == 0
    out = capsys.readouterr().out
    assert "all reconcile" in out
    ledger = _bytes(embedded, "ledger")
    assert ledger and ledger == _bytes(kafka, "ledger")
    for name in ("practices.csv", "snapshots.csv", "checks.csv"):
        assert (embedded / "reports" / name).read_bytes() == (kafka / "reports" / name).read_bytes(), name
    assert main(["audit", "verify", str(kafka)]) == 0


def test_kafka_runtime_without_a_broker_is_a_one_line_error(tmp_path, capsys):
    argv = ["run", "demo", *SMALL, "--out", str(tmp_path / "k"), "--runtime", "kafka",
            "--bootstrap", "127.0.0.1:9"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("claimsim: error: --runtime kafka: no Kafka broker at 127.0.0.1:9")
