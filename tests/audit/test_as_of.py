""""As of a date D" (DOMAIN.md §7) is the run clock's position on D: the answers to every input
received before D plus the epoch facts of boundaries on or before D, a prefix of the ledger, never
a filter on paid dates. So `claimsim attribute RUN --as-of B` at every epoch boundary B reproduces
the run's own attribution list member for member; and read-only commands never write into a run.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
from pathlib import Path

import pytest

from claimsim.cli import main
from claimsim.events.log import read

from claimsim.adjudication.audit.as_of import ledger_position
from claimsim.adjudication.projections.epochs import Plan
from claimsim.scenarios.run import run_scenario

from ..scenarios.test_builtin_scenarios import small


@pytest.fixture(scope="module")
def cpcplus(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("asof") / "cpcplus"
    run_scenario(small("cpcplus", members=400, months=10), run, charts_too=False)
    return run


def _cli(*argv: str) -> tuple[int, str]:
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")  # `log tail` writes bytes to .buffer
    with contextlib.redirect_stdout(out):
        rc = main(list(argv))
    out.flush()
    return rc, out.buffer.getvalue().decode()


def _members(path: Path) -> set[tuple[str, str, str, str]]:
    with open(path, newline="") as f:
        return {(r["payer_id"], r["practice_id"], r["member_id"], r["basis"]) for r in csv.DictReader(f)}


def test_attribute_as_of_every_boundary_reproduces_the_runs_own_list(cpcplus, tmp_path):
    plan = Plan.load(cpcplus)
    boundaries = [b for b in plan.boundaries if b < plan.service_end]
    assert len(boundaries) >= 2
    for boundary in boundaries:
        out = tmp_path / f"attribution_{boundary}.csv"
        rc, text = _cli("attribute", str(cpcplus), "--as-of", boundary, "--out", str(out))
        assert rc == 0 and f"as of {boundary}" in text
        own = _members(cpcplus / "reports" / f"attribution_{boundary}.csv")
        assert own and _members(out) == own, boundary
        with open(out, newline="") as f:
            assert next(csv.reader(f)) == ["payer_id", "practice_id", "member_id", "basis"]


def test_as_of_a_date_is_a_ledger_prefix_that_keeps_claims_received_before_it_and_paid_after(cpcplus):
    """At a boundary B the prefix holds every claim received before B, even one paid after B
    (paid dates are not in log order), and the epoch facts of B; nothing received on or after B."""
    plan = Plan.load(cpcplus)
    boundary = [b for b in plan.boundaries if b < plan.service_end][0]
    received = {env["seq"]: env["at"] for env in read(cpcplus / "input")}
    position = ledger_position(cpcplus, boundary)
    late_paid = epoch_facts = 0
    for env in read(cpcplus / "ledger"):
        d = env["data"]
        if env["type"] in ("claim.adjudicated", "claim.reversed", "claim.rejected", "no_effect"):
            inside = received[env["cause"]] < boundary
            assert (env["seq"] <= position) == inside, env["seq"]
            late_paid += inside and env["type"] == "claim.adjudicated" and str(d["paid"]) >= boundary
        elif env["type"] == "epoch.boundary" and str(d["boundary"]) == boundary:
            assert env["seq"] <= position
        elif env["type"] == "attribution.assigned" and str(d["effective"]) == boundary:
            epoch_facts += env["seq"] <= position
    assert late_paid > 0 and epoch_facts > 0


def _tree(run: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(run)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(run.rglob("*")) if p.is_file()}


def test_read_only_commands_never_write_into_a_run(cpcplus, tmp_path):
    plan = Plan.load(cpcplus)
    boundary = plan.boundaries[0]
    claim = next(env["data"]["claim_id"] for env in read(cpcplus / "ledger")
                 if env["type"] == "claim.adjudicated")
    before = _tree(cpcplus)
    cwd = os.getcwd()
    os.chdir(tmp_path)  # anything written "here" is not in the run either
    try:
        for argv in (["attribute", str(cpcplus)], ["attribute", str(cpcplus), "--as-of", boundary],
                     ["audit", "as-of", str(cpcplus), boundary], ["audit", "as-of", str(cpcplus), "40"],
                     ["audit", "verify", str(cpcplus)], ["audit", "replay", str(cpcplus)],
                     ["audit", "explain", "claim", str(cpcplus), claim],
                     ["audit", "explain", "payment", str(cpcplus), "PC001", boundary[:7]],
                     ["audit", "diff", str(cpcplus), str(cpcplus)],
                     ["log", "verify", str(cpcplus / "ledger")], ["log", "stats", str(cpcplus / "ledger")],
                     ["log", "tail", str(cpcplus / "ledger")]):
            rc, _ = _cli(*argv)
            assert rc in (0, 1), argv
            assert _tree(cpcplus) == before, argv
    finally:
        os.chdir(cwd)
