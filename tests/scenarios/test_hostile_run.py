"""A run whose input log holds hostile lines (a key that is not text, an unreadable header, an
enrollment, termination or alignment that is not its event's fields) is paid and reported exactly
as the run without them: the adjudication rejects or ignores each, and the run clock, the
projections and every report leave them out as it did. Before, the aligned reports' fold stopped
`run` on the unreadable header (TypeError: unhashable type)."""

from __future__ import annotations

import shutil

from claimsim.cli import main

from ..fixtures.damaged_runs import RUN_ARGS, entries, rewrite_log, run

K = 200  # where the hostile lines go


def test_a_run_with_hostile_input_lines_pays_and_reports_as_the_run_without_them(tmp_path):
    clean = run(tmp_path / "clean")
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    for name in ("input", "truth"):
        shutil.copytree(clean / name, hostile / name)
    for name in ("reference.json", "run.json", "scenario.json"):
        shutil.copy(clean / name, hostile / name)
    bodies = entries(clean / "input")
    first = {kind: next(e for e in bodies if e["type"] == kind) for kind in (
        "claim.submitted", "member.enrolled", "member.terminated", "alignment.declared")}
    at = bodies[K - 1]["at"]

    def line(kind, **change):
        e = first[kind]
        return {"type": e["type"], "v": e["v"], "at": at, "key": e["key"], "cause": None,
                "data": e["data"], **change}

    bad = [line("claim.submitted", key=[1]), line("member.enrolled", key={"a": 1}),
           line("claim.submitted", type=["x"]), line("claim.submitted", at=20250301),
           line("member.enrolled", data=[1]), line("alignment.declared", data="x"),
           line("member.terminated", data=None), line("alignment.declared", key=7)]
    rewrite_log(hostile / "input", lambda b: [*b[:K], *bad, *b[K:]])
    assert main(["run", *RUN_ARGS, "--seed", "7", "--out", str(hostile), "--resume"]) == 0
    answers = {e["cause"]: e for e in entries(hostile / "ledger") if e.get("cause") is not None
               and e["type"] in ("claim.rejected", "no_effect")}
    assert [answers[K + i]["type"] for i in range(len(bad))] == [
        "claim.rejected", "no_effect", "claim.rejected", "claim.rejected", "no_effect", "no_effect",
        "no_effect", "no_effect"]
    assert all(answers[K + i]["data"]["note"].startswith("ignored: ") for i in (1, 4, 5, 6, 7))
    reports = sorted(p.name for p in (clean / "reports").glob("*.csv"))
    assert "primary_care_spend.csv" in reports and "snapshots.csv" in reports
    for name in reports:
        assert (hostile / "reports" / name).read_bytes() == (clean / "reports" / name).read_bytes(), name
    assert main(["audit", "replay", str(hostile)]) == 0
