"""Audit: prove a run's payments from its events. `verify_run` (chains and projection
checkpoints), `replay` (re-adjudicate and re-fold everything, compare byte for byte), `fold`
(projections as of a seq or date), `ledger_diff`, and the explain commands. May import every
other room of `adjudication`. Modules: `run_dir` (require_run, fold), `verify`, `replay`, `diff`,
`explain`, `tables`, `cli`.
"""

from claimsim.adjudication.audit.explain import explain_claim, explain_payment
from claimsim.adjudication.audit.diff import ledger_diff
from claimsim.adjudication.audit.replay import replay
from claimsim.adjudication.audit.run_dir import fold
from claimsim.adjudication.audit.verify import verify_run

__all__ = ["explain_claim", "explain_payment", "fold", "ledger_diff", "replay", "verify_run"]
