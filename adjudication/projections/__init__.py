"""Projections: pure folds of a run's ledger (plus the claims' diagnoses from the input log) and
the epoch-boundary computations made from them. Imports `events` only, never `engine`.

Public API:
- `PayerState`: the fold (`apply` each input and ledger event; `state()`/`restore()` checkpoints),
  its handlers by concern in `projections.fold`.
- `MoneyTotals`, `money_totals`, `money_by_practice`: the money rows by name (payer x practice
  x month sums of FFS, cost share, offsets, shadow FFS, leakage).
- `ProjectionSettings`: lookback, cadence, member-month rule, run-out.
- `attribute(state, payer, as_of) -> AttributionRun` (of `Attribution`s), `correction`.
- `practice_statuses`, `is_active`: minimum volume and risk group per practice and epoch.
- `epoch_payments`, `true_up`: prospective payments for an epoch, and corrections.
- `all_snapshots`: monthly payment snapshots; `reconcile`: year-end reconciliation.
- `Plan`, `epoch_steps`: the epoch plan the run clock and `audit replay` share.
"""

from claimsim.adjudication.projections.attribution import (Attribution, AttributionRun, attribute,
                                                           correction)
from claimsim.adjudication.projections.epochs import Plan, epoch_steps
from claimsim.adjudication.projections.money import MoneyTotals, money_by_practice, money_totals
from claimsim.adjudication.projections.prospective import epoch_payments, true_up
from claimsim.adjudication.projections.reconciliation import reconcile
from claimsim.adjudication.projections.settings import ProjectionSettings
from claimsim.adjudication.projections.snapshots import all_snapshots
from claimsim.adjudication.projections.state import PayerState
from claimsim.adjudication.projections.status import is_active, practice_statuses

__all__ = ["Attribution", "AttributionRun", "MoneyTotals", "PayerState", "Plan",
           "ProjectionSettings", "all_snapshots", "attribute", "correction", "epoch_payments",
           "epoch_steps", "is_active", "money_by_practice", "money_totals", "practice_statuses",
           "reconcile", "true_up"]
