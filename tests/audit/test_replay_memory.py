"""`audit replay` over a bounded family cache, as it replays a payer-sized run: the cache goes back
to the scratch store before each boundary's steps and before the closing snapshots (as the run
clock rests its runtime), the snapshots are computed one at a time, and every entry is still
reproduced; a ledger cut inside the snapshots still fails the replay the same way."""

from __future__ import annotations

import importlib
import shutil

import orjson
import pytest

from claimsim.cli import main
from claimsim.events.log import read, segments
from claimsim.events.signing import SIGNATURE_TYPE

from claimsim.adjudication.engine.core import ANSWER_TYPES
from claimsim.adjudication.projections.snapshots import snapshot_batches
from claimsim import native
from claimsim.adjudication.runtimes.processor import PartitionProcessor
from claimsim.adjudication.runtimes.replay import REPLAY_PIECE

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
    if native.runtimes_kind() == "native":  # CLAIMSIM_PURE=0: a compiled class is not subclassed
        pytest.skip("subclasses the partition processor, whose compiled class takes no subclass")
    seen: dict[str, list[int]] = {"released": [], "cached_at_steps": [], "cached_at_snapshots": [],
                                  "given_back": []}
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
    monkeypatch.setattr(replay_module, "give_back_free_memory",
                        lambda: seen["given_back"].append(len(seen["released"])))
    monkeypatch.setattr(replay_module, "auto_cache_families", lambda input_dir: CACHE)
    monkeypatch.setattr(replay_module, "epoch_steps",
                        watched(replay_module.epoch_steps, "cached_at_steps"))
    monkeypatch.setattr(replay_module, "snapshot_batches",
                        watched(replay_module.snapshot_batches, "cached_at_snapshots"))
    return seen


def test_replay_rests_a_full_cache_before_each_boundary_and_the_snapshots_and_reproduces_every_entry(
        run_dir, bounded):
    entries = list(read(run_dir / "ledger"))
    boundaries = sum(e["type"] == "epoch.boundary" for e in entries)
    assert boundaries >= 2 and any(e["type"] == "snapshot.taken" for e in entries)
    result = replay_module.replay(run_dir)
    assert result.ok and result.events == len(entries)
    # Each boundary's rest writes back a full cache; the first answer after a boundary's steps
    # settles them (the families just decoded to answer its piece, the inputs re-adjudicated
    # with it, go back too); the last boundary is followed by the snapshots, whose rest finds
    # nothing decoded since ...
    settled = [min(CACHE, n) for n in _families_of_first_pieces(entries)]
    assert len(settled) == boundaries - 1 and all(settled)
    assert bounded["released"] == [x for n in settled for x in (CACHE, n)] + [CACHE, 0]
    # (after each, the C heap's free pages go back to the system)
    assert bounded["given_back"] == list(range(1, len(bounded["released"]) + 1))
    # ... so each boundary's steps and the snapshots start with no family state decoded.
    assert bounded["cached_at_steps"] == [0] * boundaries
    assert bounded["cached_at_snapshots"] == [0]


def _families_of_first_pieces(entries: list[dict]) -> list[int]:
    """After each boundary, the families of the first piece of answers the replay computes at
    once (`runtimes.replay.REPLAY_PIECE` answers in a row, or fewer before another entry)."""
    out, after = [], False
    for i, e in enumerate(entries):
        if e["type"] == "epoch.boundary":
            after = True
        elif after and e["type"] in ANSWER_TYPES:
            piece = []
            for f in entries[i:i + REPLAY_PIECE]:
                if f["type"] not in ANSWER_TYPES:
                    break
                piece.append(f)
            out.append(len({f["key"] for f in piece if isinstance(f["key"], str)}))
            after = False
    return out


def test_replay_draws_the_closing_snapshots_a_batch_at_a_time_as_the_ledger_reaches_them(
        run_dir, monkeypatch):
    drawn, checked, size = [0], [], 100

    def counting(*args, **kwargs):
        for batch in snapshot_batches(*args, size=size, **kwargs):
            drawn[0] += len(batch)
            yield batch

    def on_event(env):
        if env["type"] == "snapshot.taken":
            checked.append(drawn[0])

    monkeypatch.setattr(replay_module, "snapshot_batches", counting)
    assert replay_module.replay(run_dir, on_event=on_event).ok
    # The k-th snapshot entry is checked once the batch holding it was computed, not all of them.
    total = len(checked)
    assert total > 2 * size
    assert checked == [min(total, (k // size + 1) * size) for k in range(total)]


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


def test_a_boundarys_steps_are_settled_and_dropped_when_the_ledger_answers_again(run_dir, monkeypatch):
    """The steps' generator (it holds the last payer's attribution run) does not live through the
    next epoch: it is gone by the first answer after its boundary."""
    clocks, open_at_answers = [], []

    class Watched(replay_module.ClockSteps):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            clocks.append(self)

    def on_event(env):
        if env["type"].startswith("claim."):
            open_at_answers.append(clocks[0].batches is not None)

    monkeypatch.setattr(replay_module, "ClockSteps", Watched)
    assert replay_module.replay(run_dir, on_event=on_event).ok
    assert len(open_at_answers) > 100 and not any(open_at_answers)


def test_a_ledger_missing_the_last_entry_of_a_boundarys_steps_fails_at_the_next_boundary(run_dir, tmp_path):
    copy = tmp_path / "short"
    shutil.copytree(run_dir, copy)
    (_, path), = segments(copy / "ledger")
    lines = path.read_bytes().splitlines(keepends=True)
    kinds = [orjson.loads(line)["type"] for line in lines]
    first, second = (i for i, k in enumerate(kinds) if k == "epoch.boundary")
    answer = next(i for i in range(first + 1, second) if kinds[i] in ANSWER_TYPES)
    last = max(i for i in range(first, answer) if kinds[i] not in ("epoch.boundary", SIGNATURE_TYPE))
    kept = [line for i, line in enumerate(lines) if i != last]  # the boundary's last entry
    path.write_bytes(b"".join(kept))
    result = replay_module.replay(copy)
    assert result.difference == (f"seq {second}: the ledger lacks events the previous boundary"
                                 " should have written")


@pytest.mark.skipif(native.runtimes_kind() == "native",
                    reason="subclasses the partition processor, whose compiled class takes no"
                           " subclass (the Python sources, the suite's default, run it)")
@pytest.mark.parametrize(("runtime_cache", "replay_cache"), [
    (32_768, replay_module.REPLAY_CACHE), (1_000, 1_000), (None, None)])
def test_replay_decodes_at_most_a_quarter_of_the_runtimes_family_cache(
        run_dir, monkeypatch, runtime_cache, replay_cache):
    """Where the runtime keeps 32,768 family states decoded, the replay keeps 8,192 (its payer
    state grows between the cache's evictions); a smaller bound is kept; every family in memory
    (a small run) stays so."""
    caches = []

    class Watched(PartitionProcessor):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            caches.append(self.cache_families)

    monkeypatch.setattr(replay_module, "PartitionProcessor", Watched)
    monkeypatch.setattr(replay_module, "auto_cache_families", lambda input_dir: runtime_cache)
    assert replay_module.REPLAY_CACHE == 8_192
    assert replay_module.replay(run_dir).ok and caches == [replay_cache]
