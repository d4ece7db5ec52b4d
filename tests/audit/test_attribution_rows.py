"""The reports' attribution list is written one payer's attribution run at a time."""

from __future__ import annotations

import gc
import weakref
from types import SimpleNamespace

from claimsim.adjudication.audit.tables import iter_attribution_rows


class _Run:
    """What `iter_attribution_rows` reads of an `AttributionRun`, and weak-referenceable."""

    def __init__(self, payer_id: str, members: list[str]):
        self.payer_id = payer_id
        self._members = members

    def practice_lists(self):
        return {"P1": [SimpleNamespace(member_id=m, basis="plurality", visits=2, last_visit=None)
                       for m in self._members]}


def test_rows_in_payer_order_and_each_run_freed_before_the_next_is_made():
    alive_when_next_made: list[bool] = []

    def runs():
        previous = None
        for payer, members in (("A", ["m1", "m2"]), ("B", ["m3"]), ("C", ["m4"])):
            gc.collect()
            alive_when_next_made.append(previous is not None and previous() is not None)
            run = _Run(payer, members)
            previous = weakref.ref(run)
            yield run
            del run

    rows = list(iter_attribution_rows(runs()))
    assert [(r["payer_id"], r["member_id"], r["last_visit"]) for r in rows] == [
        ("A", "m1", ""), ("A", "m2", ""), ("B", "m3", ""), ("C", "m4", "")]
    assert alive_when_next_made == [False, False, False]
