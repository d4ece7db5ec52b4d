"""The reports read a run's ledger once (`scenarios.tables.ledger_scan`): the leakage report,
the practice table and the checks ask for the same or fewer claims of the same ledger head, and
the figures they get are the ones a fresh read gives; a changed ledger is read again."""

from __future__ import annotations

from claimsim.events.log import LogWriter, read
from claimsim.scenarios import tables
from claimsim.scenarios.run import run_scenario

from .test_builtin_scenarios import small


def test_one_read_serves_the_same_or_fewer_claims_until_the_ledger_changes(tmp_path, monkeypatch):
    run = run_scenario(small("pcf", members=150, months=6), tmp_path / "run", charts_too=False).run_dir
    adjudicated = [e["data"] for e in read(run / "ledger") if e["type"] == "claim.adjudicated"]
    claims = {d["claim_id"] for d in adjudicated[:40]}
    fresh = tables._scan(run / "ledger", claims)
    # By hand: plan paid on each claim's last adjudication; totals over every line.
    last = {}
    for d in adjudicated:
        if d["claim_id"] in claims:
            last[d["claim_id"]] = sum(x["plan_paid"] for x in d["lines"])
    assert fresh.last_paid == last and len(last) == 40
    assert fresh.totals["plan_paid"] == sum(
        x["plan_paid"] for e in read(run / "ledger") if e["type"] in ("claim.adjudicated", "claim.reversed")
        for x in (*e["data"].get("lines", ()), *e["data"].get("reversed_lines", ())))

    reads = []
    monkeypatch.setattr(tables, "_scan", lambda ledger, ids: reads.append(ids) or fresh)
    tables._LAST_SCAN.clear()
    assert tables.ledger_scan(run, claims) is fresh
    assert tables.ledger_scan(run, set(list(claims)[:5])) is fresh
    assert tables.ledger_scan(run, set()) is fresh
    assert len(reads) == 1
    tables.ledger_scan(run, claims | {"another claim"})
    assert len(reads) == 2
    with LogWriter(run / "ledger") as writer:  # a new head: the ledger is read again
        writer.append({"type": "note", "v": 1, "at": "2030-01-01", "key": "", "cause": None, "data": {}})
        writer.commit()
    tables.ledger_scan(run, set())
    assert len(reads) == 3
