"""The payer-state fold by concern: membership (input log), claims (visits and FFS), money,
timelines (attribution, status, risk facts at boundaries), payments, PCF's flat-fee lines
between boundaries and, when the quality score
comes from claims, claims-based quality (`QUALITY_HANDLERS`). Each module names the
state keys it owns (`KEYS`), resets them (`reset`) and handles its event types; `PayerState`
puts them behind one apply/state/restore. `packed` is how the per-member rows are stored (packed
bytes per member, read back as the lists a checkpoint holds).
"""

from __future__ import annotations

from claimsim.adjudication.projections.fold import (claims, flat_fees, membership, money, payments,
                                                   quality, timelines)

CONCERNS = (membership, claims, money, timelines, payments, quality, flat_fees)
INPUT_HANDLERS = membership.INPUT_HANDLERS
HANDLERS = {**membership.INPUT_HANDLERS, **claims.LEDGER_HANDLERS, **timelines.LEDGER_HANDLERS,
            **payments.LEDGER_HANDLERS}
# The same, with the claims-based quality concern folded too (its state stays empty otherwise).
QUALITY_HANDLERS = quality.with_quality(HANDLERS)
