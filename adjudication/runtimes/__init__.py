"""Runtimes: the engine run over a run directory's input log into its ledger.

- `protocol`: the `Runtime` seam the run clock knows (adjudicate up to a position, progress,
  record epoch facts, close), with `Until` and `Progress`.
- `processor`: the partition processor (core + a family-state `Store` + re-emit on redelivery)
  both runtimes run, and the in-memory store; `diskstore`: the disk-backed store (RocksDB, hot
  family states in a `slotfile` rewritten in place) that keeps the embedded runtime's and
  `audit replay`'s memory flat past their family cache.
- `embedded`: the processor in process (`EmbeddedAdjudicator`, `adjudicate_run`), resumable after
  kill -9, its family states in memory or over the disk store as `family_storage` chooses;
  `replay`: the one loop that replays a ledger beside its input (recovery, `audit replay`).
- `manifest`: the run manifest every ledger starts with, written and checked for every runtime;
  `stats`: what a run did (`RunStats`), counted from its answers.
- `streaming/`: the same processor as a faust-streaming agent on Kafka, with a sink that writes
  the ledger in cause order, and `streaming.runtime.KafkaRuntime` (imported only when used:
  faust is slow to import).
- `cli`: `claimsim adjudicate`.
Imports `engine` and `events` (DESIGN.md "The two runtimes share one core").
"""

from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator, adjudicate_run
from claimsim.adjudication.runtimes.stats import RunStats
from claimsim.adjudication.runtimes.processor import MemoryStore, PartitionProcessor, Store
from claimsim.adjudication.runtimes.protocol import Progress, Runtime, Until

__all__ = ["EmbeddedAdjudicator", "MemoryStore", "PartitionProcessor", "Progress", "RunStats",
           "Runtime", "Store", "Until", "adjudicate_run"]
