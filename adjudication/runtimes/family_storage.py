"""Where an embedded run keeps its family states (`EmbeddedAdjudicator`'s `cache_families`).

A run of up to `IN_MEMORY_INPUTS` inputs keeps every family's hot state decoded in memory and the
claim records as bytes in a `MemoryStore`; a larger run (`AUTO`, or `LARGE`: `claimsim
adjudicate`'s, a larger cache and the states past it kept encoded in memory up to
`ADJUDICATE_WARM_MB`) or any `cache_families=N` keeps at most N hot states decoded and everything
else in a scratch disk store (`diskstore.RocksStore` in `RUN_DIR/.family-state/`, removed on
close), so memory stays flat in the population. Over several processes (`runtimes.parallel`)
each worker keeps its share of the bound over a scratch store of its own (`worker_store`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from claimsim.events.log_tail import input_count

from claimsim.adjudication.runtimes.diskstore import RocksStore
from claimsim.adjudication.runtimes.processor import MemoryStore

STATE_DIR = ".family-state"  # the scratch store, inside the run directory
# Decoded hot family states kept in memory when the store is on disk: some 6 kB of Python objects
# each by December (1.1 kB as stored), so about 200 MB whatever the population. A family that
# misses the cache costs a read from the store's slot file (a RocksDB lookup of its slot, one
# `pread`), a decode and, on leaving, an encode and a write in place (`diskstore`): timed inside
# whole runs, 33 us at 10,000 members (a cache of 1,024) and 46 us at 300,000, against some
# 41 us to adjudicate an input; what grows with the population is mostly how many inputs miss
# (the cache evicts the family needed last to keep that down: `familycache`).
CACHE_FAMILIES = 32_768
# `claimsim adjudicate`'s bound (`LARGE`): its process holds nothing but the adjudication, where
# `claimsim run` folds a million members' payer state beside it and has under 100 MB of its 2 GB
# to spare (`scenarios.runclock`, which keeps `CACHE_FAMILIES`). Some 7 kB a decoded family by
# December with the cache's own bookkeeping: at 100,000 members (60,221 families) every family
# fits and none is read back. 131,072 was tried first: 1,118 MiB peak at 300,000 members, but at
# 1,000,000 (602,647 families) 1,910,056 KiB, 2 % under the 2 GB target, for 79.9 us of CPU an
# input against 76-81 with 32,768 (2026-12-01, load 1.4; docs/performance.md). Half of it keeps
# the whole of a 100,000-member run decoded with some 450 MB to spare at a million.
ADJUDICATE_CACHE_FAMILIES = 65_536
# ... and keeps this many MB of the states past its cache encoded in memory rather than in the
# slot file (`RocksStore`'s `warm_mb`; 1.1 kB a state by December): every one read back at
# 300,000 members with the cache of 131,072 first tried (not measured with 65,536).
ADJUDICATE_WARM_MB = 256
# Up to this many inputs (about 32,000 members over a year) every family stays in memory
# (measured: 423 MB peak at 30,000 members); past it the disk store keeps memory flat
# (docs/performance.md, "Performance at scale").
IN_MEMORY_INPUTS = 250_000
AUTO = "auto"  # `cache_families`: choose by the input's size (above)
LARGE = "large"  # as AUTO, with `ADJUDICATE_CACHE_FAMILIES` over the disk store
CacheFamilies = int | str | None  # N, `AUTO`, `LARGE`, or None (every family in memory)


def auto_cache_families(input_dir: Path, bound: int | None = None) -> int | None:
    """The default rule: None (every family in memory) for a run of at most `IN_MEMORY_INPUTS`
    inputs, else `bound` (None: `CACHE_FAMILIES`) over the disk store."""
    inputs = input_count(input_dir)
    if inputs <= IN_MEMORY_INPUTS:
        return None
    return CACHE_FAMILIES if bound is None else bound


def open_family_store(run_dir: Path, cache_families: CacheFamilies
                      ) -> tuple[int | None, MemoryStore | RocksStore]:
    """The run's bound on decoded family states (None: every family in memory, `AUTO` and `LARGE`
    resolved by the input's size) and the store the rest live in. The workers' stores a run
    killed outright left behind (`worker_store`) go first: the caller holds the ledger's lock."""
    remove_worker_stores(run_dir)
    warm_mb = 0
    if cache_families == AUTO:
        cache_families = auto_cache_families(run_dir / "input")
    elif cache_families == LARGE:
        cache_families = auto_cache_families(run_dir / "input", ADJUDICATE_CACHE_FAMILIES)
        warm_mb = ADJUDICATE_WARM_MB
    if cache_families is None:
        return None, MemoryStore()
    return cache_families, RocksStore(run_dir / STATE_DIR, scratch=True, cache_mb=32,
                                      warm_mb=warm_mb)


def worker_store(run_dir: Path, worker: int, *, cache_mb: int, warm_mb: float) -> RocksStore:
    """Worker `worker`'s own scratch store, beside the run's (`RUN_DIR/.family-state-<worker>/`):
    given the run's RocksDB cache and its share of the run's warm memory, so the workers
    together keep what one process would (`EmbeddedAdjudicator._start_workers`)."""
    return RocksStore(worker_store_path(run_dir, worker), scratch=True, cache_mb=cache_mb,
                      warm_mb=warm_mb)


def worker_store_path(run_dir: Path, worker: int) -> Path:
    return run_dir / f"{STATE_DIR}-{worker}"


def remove_worker_stores(run_dir: Path) -> None:
    """Remove every worker's store (`worker_store`): a worker removes its own as it stops, a
    killed one leaves it behind."""
    for stale in run_dir.glob(f"{STATE_DIR}-*"):
        shutil.rmtree(stale, ignore_errors=True)
