"""Every read path that decodes events upcasts an event stored at an older version, or refuses
one it cannot upcast; none passes it on as if it were current, and none skips it. The paths:
`events.log.read` (the runtimes, their replay, the audit, the sink), the ledger follower's input
pull (its raw-bytes claim fast path included), and the Kafka worker's inbound decoding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from claimsim.adjudication.projections.follower import (LedgerFollower, claim_line_marker,
                                                      is_current_claim_line)
from claimsim.adjudication.runtimes.streaming.wire import Bad, decode_inbound
from claimsim.events import registry
from claimsim.events.envelope import new_event
from claimsim.events.input import ClaimSubmitted, MemberEnrolled
from claimsim.events.log import LogWriter, raw_lines, read, read_decoded
from claimsim.events.registry import UnknownEventVersion

from ..fixtures.events import CLAIM

ENROLLED = {"member_id": "M1", "subscriber_id": "S1", "payer_id": "MCR", "plan_id": "MCR-B",
            "start": "2025-01-01", "end": None, "birth_date": "1950-05-05", "sex": "F",
            "relationship": "self", "qmb": False, "hospice": False}


def bump(monkeypatch, name: str, model, *, with_upcaster: bool = True) -> None:
    """Make `name` v2 the current version (restored after the test); v1 data gains
    `"upcast": true` through its upcaster, when there is one."""
    monkeypatch.setitem(registry._MODELS[name], 2, model)
    monkeypatch.setitem(registry._CURRENT, name, 2)
    if with_upcaster:
        monkeypatch.setitem(registry._UPCASTERS, (name, 1), lambda d: {**d, "upcast": True})


def write_log(directory: Path, events: list[dict[str, Any]]) -> Path:
    with LogWriter(directory) as log:
        log.extend(events)
    return directory


def enrolled(v: int = 1) -> dict[str, Any]:
    return new_event(ENROLLED, type="member.enrolled", v=v, at="2025-01-01", key="S1")


def claim(v: int = 1) -> dict[str, Any]:
    return new_event({"claim": CLAIM}, type="claim.submitted", v=v, at="2025-03-10", key="S1")


# -- events.log.read ------------------------------------------------------------------------

def test_read_upcasts_an_event_stored_at_an_older_version(tmp_path, monkeypatch):
    log = write_log(tmp_path / "log", [enrolled()])
    bump(monkeypatch, "member.enrolled", MemberEnrolled)
    (env,) = read(log)
    assert (env["v"], env["data"]["upcast"], env["data"]["member_id"]) == (2, True, "M1")


def test_read_refuses_an_older_version_it_has_no_upcaster_for(tmp_path, monkeypatch):
    log = write_log(tmp_path / "log", [enrolled()])
    bump(monkeypatch, "member.enrolled", MemberEnrolled, with_upcaster=False)
    with pytest.raises(UnknownEventVersion, match="seq 0"):
        list(read(log))
    with pytest.raises(UnknownEventVersion):
        list(read_decoded(log))


def test_read_refuses_an_event_newer_than_the_code(tmp_path):
    log = write_log(tmp_path / "log", [enrolled(), enrolled(v=2)])
    with pytest.raises(UnknownEventVersion, match="seq 1: .* has no version 2"):
        list(read(log))


# -- the ledger follower's input pull --------------------------------------------------------

class Recording:
    """Just enough of PayerState for the follower: records what it is given."""

    name = "recording"

    def __init__(self):
        self.input_seq = -1
        self.pending_dx: dict[str, list[str]] = {}
        self.applied: list[dict[str, Any]] = []

    def apply(self, env: dict[str, Any]) -> None:
        self.applied.append(env)
        if env.get("cause") is None:
            self.input_seq = env["seq"]


def follow(run_dir: Path) -> Recording:
    state = Recording()
    LedgerFollower(run_dir, state).apply({"seq": 0, "type": "no_effect", "cause": 1, "data": {}})
    return state


def test_the_follower_fast_path_takes_only_current_claims(tmp_path):
    write_log(tmp_path / "input", [enrolled(), claim()])
    lines = list(raw_lines(tmp_path / "input"))
    marker = claim_line_marker()
    assert [is_current_claim_line(line, marker) for line in lines] == [False, True]
    state = follow(tmp_path)
    assert [e["type"] for e in state.applied] == ["member.enrolled", "no_effect"]  # claim: fast path
    assert state.input_seq == 1


def test_the_follower_upcasts_a_claim_stored_at_an_older_version(tmp_path, monkeypatch):
    write_log(tmp_path / "input", [enrolled(), claim()])
    bump(monkeypatch, "claim.submitted", ClaimSubmitted)
    state = follow(tmp_path)
    submitted = [e for e in state.applied if e["type"] == "claim.submitted"]
    assert [(e["v"], e["data"]["upcast"]) for e in submitted] == [(2, True)]


def test_the_follower_refuses_an_input_newer_than_the_code(tmp_path):
    write_log(tmp_path / "input", [enrolled(), claim(v=2)])
    with pytest.raises(UnknownEventVersion, match="seq 1: .* has no version 2"):
        follow(tmp_path)


# -- the Kafka worker's inbound decoding ----------------------------------------------------

def wire_item(env: dict[str, Any], seq: int) -> dict[str, Any]:
    return {**{k: env[k] for k in ("type", "v", "at", "key", "cause", "data")}, "seq": seq}


def test_the_worker_upcasts_an_older_input_and_dead_letters_one_it_cannot_read(monkeypatch):
    bump(monkeypatch, "claim.submitted", ClaimSubmitted)
    _, (item,) = decode_inbound(orjson.dumps([wire_item(claim(), 0)]))
    assert (item["v"], item["data"]["upcast"]) == (2, True)
    _, (bad,) = decode_inbound(orjson.dumps([wire_item(claim(v=3), 1)]))
    assert isinstance(bad, Bad) and bad.reason.endswith("has no version 3")
