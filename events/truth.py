"""Truth events: what only the simulator knows (true PCP, conditions and risk, whether a referral
was avoidable, each injected fault). Written to `truth/`, read by reports, never by the payer side.
"""

from __future__ import annotations

import datetime as dt

from claimsim.events.registry import EventData, event_type


@event_type("truth.member")
class TrueMember(EventData):
    member_id: str
    subscriber_id: str
    payer_id: str
    true_pcp: str | None  # practice id
    conditions: tuple[str, ...] = ()
    risk_milli: int  # true risk score x 1000


@event_type("truth.pcp_changed")
class TruePcpChanged(EventData):
    member_id: str
    from_practice: str | None
    to_practice: str | None
    effective: dt.date


@event_type("truth.referral")
class TrueReferral(EventData):
    member_id: str
    from_practice: str
    to_practice: str
    service_date: dt.date
    procedure: str
    avoidable: bool  # the referring PCP could have provided it
    claim_id: str | None = None


@event_type("truth.fault")
class InjectedFault(EventData):
    kind: str  # duplicate | replacement | void | malformed | late
    claim_id: str | None = None
    detail: str = ""
