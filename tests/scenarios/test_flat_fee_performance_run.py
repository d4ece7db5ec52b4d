"""PCF's performance adjustment on flat visit fees in a whole run (DOMAIN.md §4: the adjustment is
on the total primary care payment, PBP and flat fees): the `pba_flat_fee` payments of a `pcf`
run are recomputed here from the raw ledger alone, independently of the projections (every
flat-fee line between two `epoch.boundary` entries, at the `performance_bp` of the PBP paid for
its practice, payer and service month, one rounding per member, year and rate), the closing
boundary adjusts the flat fees paid in the run-out, and `audit replay` reproduces every entry."""

from __future__ import annotations

import csv

from claimsim.adjudication.audit.replay import replay
from claimsim.events.codes import PROCEDURE_GROUPS, ProcedureGroup
from claimsim.events.log import read
from claimsim.events.money import apply_rate
from claimsim.scenarios.run import run_scenario

from .test_builtin_scenarios import small


def _expected(run_dir) -> tuple[dict, list[int]]:
    """(boundary day -> (payer, practice) -> member -> cents, the boundaries' ledger seqs)."""
    rates: dict[tuple[str, str, str], int] = {}
    window: dict[tuple[str, str], dict[str, dict[tuple[str, int], int]]] = {}
    pending: list[tuple[str, str, str, str, int]] = []  # payer, practice, member, month, paid
    out: dict[str, dict] = {}
    seqs = []
    for env in read(run_dir / "ledger"):
        d = env["data"]
        if env["type"] == "epoch.boundary":
            seqs.append(env["seq"])
            window = {}
            for payer, practice, member, month, paid in pending:
                key = (month[:4], rates.get((payer, practice, month), 0))
                per = window.setdefault((payer, practice), {}).setdefault(member, {})
                per[key] = per.get(key, 0) + paid
            pending = []
            due = {pair: {m: sum(apply_rate(v, k[1]) for k, v in per.items())
                          for m, per in members.items()} for pair, members in window.items()}
            out[str(d["boundary"])] = {pair: {m: c for m, c in members.items() if c}
                                       for pair, members in due.items()
                                       if any(members.values())}
        elif env["type"] == "payment.prospective" and d["kind"] == "pbp" and "basis" in d["detail"]:
            basis = d["detail"]["basis"]
            rates[(d["payer_id"], d["practice_id"], d["month"])] = basis["performance_bp"]
        elif env["type"] in ("claim.adjudicated", "claim.reversed"):
            for line in (*d.get("reversed_lines", ()), *d.get("lines", ())):
                if (line["program"] == "pcf" and line["attributed"] and line["status"] != "denied"
                        and PROCEDURE_GROUPS.get(line["procedure"]) is ProcedureGroup.PC_EM):
                    pending.append((d["payer_id"], d["practice_id"], line["member_id"],
                                    str(line["service_date"])[:7], line["plan_paid"]))
    return out, seqs


def test_pcf_run_pays_the_performance_adjustment_on_flat_fees_as_recomputed_from_the_ledger(
        tmp_path):
    result = run_scenario(small("pcf", members=900, months=18, seed=11), tmp_path / "run",
                          charts_too=False)
    run_dir = result.run_dir
    expected, seqs = _expected(run_dir)
    paid: dict[str, dict] = {}
    for env in read(run_dir / "ledger"):
        d = env["data"]
        if env["type"] == "payment.prospective" and d["kind"] == "pba_flat_fee":
            assert d["amount"] == sum(d["detail"]["members"].values())
            assert d["member_months"] == 0 and d["adjusts_month"] is None
            boundary = d["detail"]["basis"]["boundary"]
            assert d["month"] == boundary[:7]
            paid.setdefault(boundary, {})[(d["payer_id"], d["practice_id"])] = (
                d["detail"]["members"])
    assert paid, "the run paid no performance adjustment on flat fees: the test shows nothing"
    assert paid == {b: e for b, e in expected.items() if e}
    # The closing boundary (at the horizon) adjusts flat fees paid after the last quarterly one.
    closing = max(expected)
    assert paid.get(closing), "no flat fee paid in the run-out was adjusted"
    assert all(b["first_seq"] > seqs[-2] for env in read(run_dir / "ledger")
               if env["type"] == "payment.prospective"
               and env["data"]["kind"] == "pba_flat_fee"
               for b in [env["data"]["detail"]["basis"]] if b["boundary"] == closing)
    # Every report counts all of it: practices.csv (the closing boundary's, paid after the
    # window, too), reconciliation.csv (in the years of the visits), the snapshots by kind.
    total = sum(sum(members.values()) for by_pair in paid.values() for members in by_pair.values())
    window = [r for r in result.rows if r["program"] == "pcf"]
    assert sum(r["prospective"] for r in window) == sum(
        env["data"]["amount"] for env in read(run_dir / "ledger")
        if env["type"] == "payment.prospective" and env["data"]["practice_id"] in
        {r["practice_id"] for r in window})
    reconciled = _csv(run_dir / "reports" / "reconciliation.csv")
    assert sum(int(r["pba_flat_fee_cents"] or 0) for r in reconciled) == total
    snapshots = _csv(run_dir / "reports" / "snapshots.csv")
    assert sum(int(r["pba_flat_fee_cents"]) for r in snapshots) == total
    assert replay(run_dir).ok


def _csv(path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
