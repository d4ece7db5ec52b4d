"""The envelope every logged event travels in: `{seq, type, v, at, key, cause, data, prev, hash}`.

`type` + `v` select the data model; `key` is the partition key (subscriber id for member and claim
events, practice id for payments); `at` is the simulation date, never the wall clock; `cause` is
the input seq (or epoch boundary) a ledger entry answers; `hash = sha256(prev || canonical body)`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict

from claimsim.events.registry import EventData, current_version

BODY_KEYS = ("at", "cause", "data", "key", "seq", "type", "v")


class Envelope(BaseModel):
    """A decoded envelope (the typed view; hot paths use the raw dict)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    type: str
    v: int
    at: dt.date
    key: str
    cause: int | None
    data: EventData
    prev: str
    hash: str


def new_event(
    data: EventData | dict[str, Any],
    *,
    at: dt.date | str,
    key: str,
    cause: int | None = None,
    type: str | None = None,
    v: int | None = None,
) -> dict[str, Any]:
    """An event ready for `LogWriter.append` (the log fills seq, prev and hash).

    Given a model, its type and version come from the model and its data is dumped to JSON form
    here, at the trust boundary. Given a dict (hot paths), `type` is required and the dict is
    taken as already valid.
    """
    if isinstance(data, EventData):
        type, v, payload = data.TYPE, data.V, data.model_dump(mode="json")
    else:
        if type is None:
            raise ValueError("a raw event dict needs its type")
        payload = data
        v = current_version(type) if v is None else v
    return {
        "type": type,
        "v": v,
        "at": at.isoformat() if isinstance(at, dt.date) else at,
        "key": key,
        "cause": cause,
        "data": payload,
    }
