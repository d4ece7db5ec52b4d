"""The writing half of `claimsim ingest`'s staging: the staged claims handed back in received
order with the enrollments and alignments, each claim linked along its adjustment chain (a
cancellation becomes a void, an adjustment a replacement of the version before it). `ingest`
writes them to `input/`.

The choices where DOMAIN.md is silent are listed in `claimsim.scenarios.ingest`.
"""

from __future__ import annotations

import heapq
from collections import Counter
from typing import Iterator

import orjson

from claimsim.events.envelope import new_event
from claimsim.events.input import ClaimSubmitted
from claimsim.events.interchange.ingest_model import Rejection, RowReason

from claimsim.scenarios.ingest_claims import (ALIGNED_TYPE, CLAIM_TYPE, ENROLLED_TYPE,
                                              IngestSummary, Rejections, Stage)


def input_events(stage: Stage, rejections: Rejections, summary: IngestSummary) -> Iterator[tuple]:
    """(at, order, tie, event) for every enrollment and claim, each stream in date order."""
    enrollments = (
        (at, 0, (0, n), new_event(orjson.loads(body), at=at, key=key, type=ENROLLED_TYPE))
        for at, n, key, body in stage.db.execute(
            "SELECT at, n, key, body FROM enrollments ORDER BY at, n"))
    alignments = (  # after the day's enrollments, before its claims
        (at, 0, (1, n), new_event(orjson.loads(body), at=at, key=key, type=ALIGNED_TYPE))
        for at, n, key, body in stage.db.execute(
            "SELECT at, n, key, body FROM alignments ORDER BY at, n"))
    return heapq.merge(enrollments, alignments, _claims(stage, rejections, summary),
                       key=lambda t: t[:3])


def _claims(stage: Stage, rejections: Rejections, summary: IngestSummary) -> Iterator[tuple]:
    """Claims in received order, each linked to the previous version of its adjustment chain:
    a cancellation becomes a void (8), an adjustment a replacement (7). A cancellation that an
    adjustment of the same chain follows on the same day is the first half of that correction
    (CMS sends both): it is folded into the replacement, which replaces the version before it."""
    frequencies: Counter[str] = Counter()
    chained = stage.db.execute("SELECT EXISTS (SELECT 1 FROM claims WHERE adjustment != '0')")
    # Without cancellations or adjustments (every Tuva table) each claim is its chain's only
    # version: the same rows, in the same order, without the window functions' two sorts.
    rows = stage.db.execute(
        "SELECT claim_id, adjustment, at, key, file, row, body, 1, NULL, NULL, NULL, NULL, NULL,"
        " NULL FROM claims ORDER BY at, file, row, claim_id") if not chained.fetchone()[0] else stage.db.execute(
        "SELECT claim_id, adjustment, at, key, file, row, body, version,"
        " prev, prev_adjustment, prev_at, prev2, next_adjustment, next_at FROM ("
        "  SELECT *, ROW_NUMBER() OVER w AS version, LAG(claim_id) OVER w AS prev,"
        "   LAG(adjustment) OVER w AS prev_adjustment, LAG(at) OVER w AS prev_at,"
        "   LAG(claim_id, 2) OVER w AS prev2, LEAD(adjustment) OVER w AS next_adjustment,"
        "   LEAD(at) OVER w AS next_at FROM claims"
        "  WINDOW w AS (PARTITION BY chain ORDER BY at, adjustment, claim_id))"
        " ORDER BY at, version, file, row, claim_id")
    for (claim_id, adjustment, at, key, file, row, body, version, prev, prev_adjustment, prev_at,
         prev2, next_adjustment, next_at) in rows:
        if adjustment == "1" and next_adjustment == "2" and next_at == at and prev is not None:
            frequencies["cancel+adjustment"] += 1
            continue
        claim = orjson.loads(body)
        if adjustment != "0":
            if adjustment == "2" and prev_adjustment == "1" and prev_at == at:
                prev = prev2
            if prev is None:
                kind = "a cancellation" if adjustment == "1" else "an adjustment"
                rejections.add(Rejection(file, row, "CLM_ADJSMT_TYPE_CD", RowReason.ORPHAN_ADJUSTMENT,
                                         f"claim {claim_id} ({len(claim['lines'])} line(s)) is {kind}"
                                         " but no earlier version of its claim (same CLM_CNTL_NUM)"
                                         " is in the file"))
                summary.claim_lines -= len(claim["lines"])
                continue
            claim["frequency"], claim["original_claim_id"] = ("8" if adjustment == "1" else "7"), prev
            if adjustment == "1":
                claim["lines"] = []  # a void reverses the version in force; its lines are not read
        frequencies[claim["frequency"]] += 1
        yield at, 1, (version, claim_id), {
            "type": CLAIM_TYPE, "v": ClaimSubmitted.V, "at": at, "key": key, "cause": None,
            "data": {"claim": claim}}
    summary.claims = sum(v for k, v in frequencies.items() if k in ("1", "7", "8"))
    summary.claims_by_frequency = dict(sorted(frequencies.items()))


