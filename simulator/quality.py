"""Yearly quality and utilization scores per primary-care practice and payer (input events).

The payer receives each practice's score for a performance year early the next year: the
practice's true quality (a simulator-only fact) plus reporting noise, clamped to the valid range.
"""

from __future__ import annotations

import datetime as dt

from claimsim.events.envelope import new_event
from claimsim.events.input import PracticeQualityReported
from claimsim.events.providers import PracticeKind
from claimsim.simulator.config import SimConfig
from claimsim.simulator.region import Region
from claimsim.simulator.streams import py_stream
from claimsim.simulator.submission import PRIORITY_QUALITY, SubmissionQueue


def report_date(config: SimConfig, year: int) -> dt.date:
    return dt.date(year + 1, 1, 1) + dt.timedelta(days=config.quality.report_day - 1)


def queue_quality_reports(config: SimConfig, region: Region, year: int, queue: SubmissionQueue,
                          day_no: int) -> int:
    """Queue every practice x payer score for `year`, received on `day_no`; how many queued."""
    rng = py_stream(config.seed, "quality", year)
    noise = config.quality.noise_bp
    day = report_date(config, year).isoformat()
    n = 0
    for practice in region.of_kind(PracticeKind.PRIMARY_CARE):
        for payer in region.reference.payers:
            quality = max(0, min(10_000, practice.quality_bp + rng.randint(-noise, noise)))
            utilization = max(0, min(20_000, practice.utilization_bp + rng.randint(-noise, noise)))
            event = new_event(
                {"practice_id": practice.practice_id, "payer_id": payer.payer_id,
                 "performance_year": year, "quality_bp": quality, "utilization_bp": utilization},
                at=day, key=practice.practice_id, type=PracticeQualityReported.TYPE,
                v=PracticeQualityReported.V,
            )
            n += queue.push(day_no, PRIORITY_QUALITY, event)
    return n
