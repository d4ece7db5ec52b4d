"""`audit replay` over a bounded family cache, as it replays a payer-sized run: the cache goes back
to the scratch store before each boundary's steps and before the closing snapshots (as the run
clock rests its runtime), the snapshots are computed one at a time, and every entry is still
reproduced; a ledger cut inside the snapshots still fails the replay the same way."""

from __future__ import annotations

import importlib
import shutil

import pytest

from claimsim.cli import main
from claimsim.events.encoding import canonical
from claimsim.events.log import read, segments

from claimsim.adjudication.audit import fold
from claimsim.adjudication.projections.follower import LedgerFollower
from claimsim.adjudication.projections.snapshots import all_snapshots, iter_snapshots
from claimsim.adjudication.runtimes.processor import PartitionProcessor
from claimsim.adjudication.runtimes.replay import body_of

# The module, not the `replay` function the audit package exports under the same name.
replay_module = importlib.import_module("claimsim.adjudication.audit.replay")

ARGS = ["--members", "300", "--months", "6", "--minimum-attributed", "3", "--no-progress"]
CACHE = 8  # far fewer families than the run has: the cache is full at every boundary


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("replay-memory") / "run"
    assert main(["run", *ARGS, "--seed", "7", "--out", str(out)]) == 0
    return out


@pytest.fixture
def bounded(monkeypatch):
    """The replay with a cache of CACHE families; returns what it saw: each `release` (how many
    families it wrote back) and the cache's size whenever a boundary's steps or the snapshots
    start."""
    seen: dict[str, list[int]] = {"released": [], "cached_at_steps": [], "cached_at_snapshots": []}
    processors: list[PartitionProcessor] = []

    class Watched(PartitionProcessor):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            processors.append(self)

        def release(self, store):
            n = super().release(store)
            seen["released"].append(n)
            return n

    def watched(fn, key):
        def call(*args, **kwargs):
            seen[key].append(len(processors[0]._families))
            return fn(*args, **kwargs)
        return call

    monkeypatch.setattr(replay_module, "PartitionProcessor", Watched)
    monkeypatch.setattr(replay_module, "auto_cache_families", lambda input_dir: CACHE)
    monkeypatch.setattr(replay_module, "epoch_steps",
                        watched(replay_module.epoch_steps, "cached_at_steps"))
    monkeypatch.setattr(replay_module, "iter_snapshots",
                        watched(replay_module.iter_snapshots, "cached_at_snapshots"))
    return seen


def test_replay_rests_a_full_cache_before_each_boundary_and_the_snapshots_and_reproduces_every_entry(
        run_dir, bounded):
    entries = list(read(run_dir / "ledger"))
    boundaries = sum(e["type"] == "epoch.boundary" for e in entries)
    assert boundaries >= 2 and any(e["type"] == "snapshot.taken" for e in entries)
    result = replay_module.replay(run_dir)
    assert result.ok and result.events == len(entries)
    # One rest per boundary, each writing back a full cache, and one before the snapshots (no
    # input came after the last boundary here, so nothing was decoded since) ...
    assert bounded["released"] == [CACHE] * boundaries + [0]
    # ... so each boundary's steps and the snapshots start with no family state decoded.
    assert bounded["cached_at_steps"] == [0] * boundaries
    assert bounded["cached_at_snapshots"] == [0]


def test_replay_draws_each_closing_snapshot_only_when_the_ledger_reaches_it(run_dir, monkeypatch):
    drawn, checked = [0], []

    def counting(*args, **kwargs):
        for event in iter_snapshots(*args, **kwargs):
            drawn[0] += 1
            yield event

    def on_event(env):
        if env["type"] == "snapshot.taken":
            checked.append(drawn[0])

    monkeypatch.setattr(replay_module, "iter_snapshots", counting)
    assert replay_module.replay(run_dir, on_event=on_event).ok
    # The k-th snapshot entry is checked once k snapshots were computed, not all of them.
    assert len(checked) > 2 and checked == list(range(1, len(checked) + 1))


def test_snapshots_taken_while_each_is_folded_equal_all_snapshots_at_once(run_dir):
    """Folding a snapshot moves the state's position: the lazy ones stay as of where they began."""
    entries = list(read(run_dir / "ledger"))
    first = next(e["seq"] for e in entries if e["type"] == "snapshot.taken")
    cause = entries[first]["cause"]  # the last input answered, as the run clock gave it
    at_once = all_snapshots(fold(run_dir, until_seq=first - 1), cause=cause)
    state = fold(run_dir, until_seq=first - 1)
    follower, lazy = LedgerFollower(run_dir, state), []
    for event, env in zip(iter_snapshots(state, cause=cause), entries[first:]):
        lazy.append(event)
        follower.apply(env)  # the ledger's own snapshot: same position fields as `event`
    assert len(lazy) == len(at_once) > 2 and state.last_seq > first
    assert canonical(lazy) == canonical(at_once)
    assert canonical(lazy) == canonical([body_of(e) for e in entries[first:first + len(lazy)]])


def test_a_ledger_cut_inside_the_snapshots_fails_the_replay_with_the_snapshot_owed(
        run_dir, tmp_path, bounded):
    copy = tmp_path / "cut"
    shutil.copytree(run_dir, copy)
    (_, path), = segments(copy / "ledger")
    lines = path.read_bytes().splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if b'"type":"snapshot.taken"' in line)
    path.write_bytes(b"".join(lines[:first + 2]))  # two snapshots kept of more
    result = replay_module.replay(copy)
    assert result.difference == ("the ledger ends before events the replay expects"
                                 " (snapshot.taken)")
    assert result.events == first + 2
