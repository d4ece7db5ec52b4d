"""The run clock on a small `claimsim run` of the default region (DESIGN.md "The run clock"):
offsets only where a program withholds for an attributed member, replay equals the live
projections, snapshots add up to the ledger, and a void or replacement changes only the months it
touches plus the month it is paid in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from claimsim.events.codes import PROCEDURE_GROUPS
from claimsim.events.encoding import canonical
from claimsim.events.log import read
from claimsim.events.programs import ProgramKind, ProgramSettings

from claimsim.adjudication.audit import fold, replay, verify_run
from claimsim.adjudication.projections.snapshots import all_snapshots
from claimsim.adjudication.projections.follower import LedgerFollower
from claimsim.adjudication.projections.state import PayerState
from claimsim.adjudication.projections.status import is_active
from claimsim.scenarios.runclock import ClockSettings, plan_for, run
from claimsim.simulator.config import RegionConfig, SimConfig


@pytest.fixture(scope="module")
def paid_run(tmp_path_factory):
    """600 members, 9 months from 2025-01 (baseline 4 months, boundaries May, Aug, and the
    closing one at the 2026-01-01 horizon); every program's minimum volume lowered to 5 so the
    small practices' programs stay active."""
    run_dir = tmp_path_factory.mktemp("run") / "r"
    region = RegionConfig(programs={k: ProgramSettings(kind=k, minimum_attributed=5)
                                    for k in ProgramKind})
    config = SimConfig(members=600, months=9, seed=5, region=region)
    result = run(config, run_dir, settings=ClockSettings())
    return result


def _ledger(run_dir: Path):
    return list(read(Path(run_dir) / "ledger"))


def test_plan_shrinks_the_baseline_for_short_runs():
    """9 months: baseline min(12, 9 // 2) = 4 -> boundaries May and Aug (quarterly), then the
    horizon; 24 months: the full 12-month baseline."""
    assert plan_for("2025-01-01", 9, "2026-01-01", ClockSettings()).boundaries == (
        "2025-05-01", "2025-08-01", "2026-01-01")
    assert plan_for("2025-01-01", 24, "2027-04-01", ClockSettings()).boundaries[0] == "2026-01-01"


def test_capitation_offsets_only_on_attributed_members_capitated_services_at_contracted_practices(paid_run):
    """Every line with an offset (or a shadow line) is, at the moment the ledger recorded it, for
    a member attributed to the billing practice on the service date, a capitated service of that
    practice's program with the payer, whose hybrid share is > 0 and which is active."""
    run_dir = paid_run.run_dir
    state = PayerState(paid_run.state.reference, paid_run.plan.settings.projections)
    follower = LedgerFollower(run_dir, state)
    ref = state.reference
    offsets = checked = 0
    for env in read(run_dir / "ledger"):
        if env["type"] == "claim.adjudicated":
            d = env["data"]
            for line in d["lines"]:
                if line["cap_offset"] == 0 and line["status"] != "shadow":
                    continue
                day = line["service_date"]
                contract = ref.contract_on(d["payer_id"], d["practice_id"], dt.date.fromisoformat(day))
                assert contract is not None and contract.program.hybrid_bp > 0
                assert PROCEDURE_GROUPS[line["procedure"]] in contract.program.capitated_groups
                assert state.attributed_on(line["member_id"], day) == d["practice_id"]
                assert is_active(state, d["payer_id"], d["practice_id"], day)
                assert line["attributed"] and line["capitated"]
                offsets += line["cap_offset"]
                checked += 1
        follower.apply(env)
    assert checked > 0 and offsets > 0


def test_replay_from_scratch_equals_the_incremental_projections(paid_run):
    run_dir = paid_run.run_dir
    assert canonical(fold(run_dir).state()) == canonical(paid_run.state.state())
    assert replay(run_dir).ok
    assert all(c.ok for c in verify_run(run_dir))


def test_replay_names_the_first_difference_when_the_ledger_was_tampered_with(paid_run, tmp_path):
    """Change one payment's amount (and re-chain, so only the replay can tell): the replay
    names that seq and the field."""
    import shutil

    from claimsim.events.encoding import GENESIS_HASH, chain_hash
    from claimsim.events.log import segments

    copy = tmp_path / "copy"
    shutil.copytree(paid_run.run_dir, copy)
    (_, path), = segments(copy / "ledger")
    entries = [e for e in read(copy / "ledger")]
    target = next(e for e in entries if e["type"] == "payment.prospective")
    target["data"]["amount"] += 1
    prev, lines = GENESIS_HASH, []
    for e in entries:
        body = canonical({k: e[k] for k in ("at", "cause", "data", "key", "seq", "type", "v")})
        e["prev"], e["hash"] = prev, chain_hash(prev, body)
        prev = e["hash"]
        lines.append(body[:-1] + b',"prev":"' + e["prev"].encode() + b'","hash":"' + e["hash"].encode() + b'"}\n')
    path.write_bytes(b"".join(lines))
    result = replay(copy)
    assert not result.ok
    assert result.difference.startswith(f"seq {target['seq']} (payment.prospective): data.amount")


def test_snapshots_ffs_paid_adds_up_to_plan_paid_over_adjudicated_lines(paid_run):
    ledger = _ledger(paid_run.run_dir)
    plan_paid = sum(line["plan_paid"] for env in ledger
                    if env["type"] in ("claim.adjudicated", "claim.reversed")
                    for f in ("lines", "reversed_lines") for line in env["data"].get(f, ()))
    snaps = [e["data"]["figures"] for e in ledger if e["type"] == "snapshot.taken"]
    assert plan_paid != 0
    assert sum(f["ffs_paid_by_service_date"] for f in snaps) == plan_paid
    assert sum(f["ffs_paid_by_paid_date"] for f in snaps) == plan_paid


def _snapshot_map(state):
    return {(e["data"]["payer_id"], e["data"]["practice_id"], e["data"]["month"]): e["data"]["figures"]
            for e in all_snapshots(state)}


def test_a_void_or_replacement_changes_only_the_months_it_touches_plus_the_paid_month(paid_run):
    """For each void and replacement (up to four of each): the snapshots just before and just
    after its ledger entry differ only in its payer's months of service of the lines it reverses
    or pays, and the month it is paid in."""
    run_dir = paid_run.run_dir
    ledger = _ledger(run_dir)
    picks = [e for e in ledger if e["type"] == "claim.reversed"][:4]
    picks += [e for e in ledger if e["type"] == "claim.adjudicated"
              and e["data"]["frequency"] == "7"][:4]
    assert len(picks) >= 2
    for env in picks:
        before, after = _snapshot_map(fold(run_dir, until_seq=env["seq"] - 1)), \
            _snapshot_map(fold(run_dir, until_seq=env["seq"]))
        d = env["data"]
        touched = {line["service_date"][:7] for f in ("lines", "reversed_lines")
                   for line in d.get(f, ())} | {str(d["paid"])[:7]}
        changed = {k for k in set(before) | set(after)
                   if before.get(k, {}) != after.get(k, {})}
        assert changed, f"seq {env['seq']} changed nothing"
        assert {k[2] for k in changed} <= touched
        assert {k[0] for k in changed} == {d["payer_id"]}


def test_projection_checkpoint_resumes_to_the_same_state_as_a_full_replay(paid_run, tmp_path):
    """The generic ProjectionRunner over the LedgerFollower: stop at the first epoch boundary
    with a checkpoint, resume in a new runner from it, and end with the state of a full replay
    (the input position travels inside the checkpoint)."""
    from claimsim.events.projection import ProjectionRunner

    run_dir = paid_run.run_dir
    ref, settings = paid_run.state.reference, paid_run.plan.settings.projections
    stop = next(e["seq"] for e in read(run_dir / "ledger") if e["type"] == "epoch.boundary")
    checkpoint = tmp_path / "payer-state.json"
    first = ProjectionRunner(run_dir / "ledger", LedgerFollower(run_dir, PayerState(ref, settings)),
                             checkpoint)
    first.run(until_seq=stop)
    resumed_state = PayerState(ref, settings)
    second = ProjectionRunner(run_dir / "ledger", LedgerFollower(run_dir, resumed_state), checkpoint)
    assert second.last_seq == stop and resumed_state.input_seq > 0
    second.run()
    assert canonical(resumed_state.state()) == canonical(fold(run_dir).state())


def test_paying_a_run_twice_is_refused(paid_run):
    from claimsim.events.errors import UserError
    from claimsim.scenarios.runclock import pay

    with pytest.raises(UserError, match="already paid"):
        pay(paid_run.run_dir)


class _Bar:
    """A stand-in for tqdm that keeps what the run clock shows."""

    made: list[_Bar] = []

    def __init__(self, total=None, **kwargs):
        self.total, self.n, self.descriptions, self.closed = total, 0, [], False
        _Bar.made.append(self)

    def update(self, n=1):
        self.n += n

    def set_description(self, text):
        self.descriptions.append((text, self.n))

    def close(self):
        self.closed = True


def test_the_clocks_bar_counts_inputs_as_they_are_answered_not_epochs(tmp_path, monkeypatch):
    from claimsim.scenarios import runclock

    monkeypatch.setattr(runclock, "tqdm", _Bar)
    _Bar.made.clear()
    result = run(SimConfig(members=120, months=6, seed=2), tmp_path / "r",
                 settings=ClockSettings(), progress=True)
    (bar,) = _Bar.made
    received = [env["at"] for env in read(result.run_dir / "input")]
    assert bar.total == bar.n == len(received) and bar.closed
    # When each epoch is paid, the bar stands at the inputs received before its boundary.
    boundaries = result.plan.boundaries
    paying = [n for text, n in bar.descriptions if text.endswith("paying")]
    assert paying == [sum(at < b for at in received) for b in boundaries]
    assert 0 < paying[0] < paying[-1] and len(boundaries) >= 2
