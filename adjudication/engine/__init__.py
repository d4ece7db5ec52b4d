"""The pure adjudication core: `(input envelope, family state, context) -> (ledger entry, state)`.
No files, no Kafka, no clock: the runtimes are thin shells around `adjudicate`. Imports `events`
only (DESIGN.md "The two runtimes share one core").

Public API:
- `adjudicate(envelope, family, ctx) -> (ledger event dict, FamilyState)`: one input, one answer.
- `Context(reference, settings)`: reference data indexed for the rules, plus epoch facts
  (`Context.apply(ledger event)` for attribution and practice status).
- `Settings`: run settings the manifest records (cost share basis, processing days, ...);
  `sequestration_rates(reference, settings)`: the per-payer rates a run applies and records.
- `FamilyState`: one subscriber's state: a small hot part (accumulators, enrollment, claim ids,
  paid-line fingerprints; `hot_bytes()`) and its claim versions in `ClaimRecords` (read only for
  voids, replacements, possible duplicates and redeliveries);
  `FamilyState.set_opening_balances` loads what a family met before go-live.
- `ANSWER_TYPES`, `CONTEXT_TYPES`: the ledger types that answer an input, and those that carry
  epoch facts the engine reads.
"""

from claimsim.adjudication.engine.context import CONTEXT_TYPES, Context, Settings, sequestration_rates
from claimsim.adjudication.engine.core import ANSWER_TYPES, adjudicate
from claimsim.adjudication.engine.family import FamilyState

__all__ = ["ANSWER_TYPES", "CONTEXT_TYPES", "Context", "FamilyState", "Settings", "adjudicate",
           "sequestration_rates"]
