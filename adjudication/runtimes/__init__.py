"""Runtimes: the engine run over a run directory's input log into its ledger.

- `embedded`: in process (`EmbeddedAdjudicator`, `adjudicate_run`), resumable after kill -9.
- `streaming/`: the same engine as a faust-streaming agent on Kafka, with a sink that writes the
  ledger in cause order (imported only when used: faust is slow to import).
- `cli`: `claimsim adjudicate`.
Imports `engine` and `events` (DESIGN.md "The two runtimes share one core").
"""

from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator, RunStats, adjudicate_run

__all__ = ["EmbeddedAdjudicator", "RunStats", "adjudicate_run"]
