"""The payer side of claimsim, in four rooms (DESIGN.md "Layout"):

- `engine/`: the pure core. `adjudicate(input envelope, family state, context) -> (one ledger
  entry, family state)`: validation, frequency, eligibility, duplicates, pricing, payment model,
  cost share, line results. Imports `events` only.
- `projections/`: folds of the ledger (`PayerState`) and what is computed from them at an epoch
  boundary: attribution, observed risk, practice status, prospective payments, monthly
  snapshots, year-end reconciliation, and the epoch plan the run clock follows. Imports `events`
  only; never `engine` (a projection is a function of ledger events, not of the rules).
- `runtimes/`: shells that run the engine over a run directory: embedded (in process) and
  streaming (faust on Kafka), the run manifest, the `adjudicate` command. Imports `engine` and
  `events`.
- `audit/`: verify, replay, explain, as-of and diff over a run directory, and the `audit` and
  `attribute` commands. May import everything above.

A test (`tests/test_import_graph.py`) reads every import and fails on an edge these rules forbid.
"""
