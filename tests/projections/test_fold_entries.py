"""The ledger as the fold reads it (`projections.entries.fold_envelopes`): claim entries decoded
into only the fields the fold reads give the fold exactly what full entries give it (every
checkpoint byte, on whole runs with voids, rejections, boundaries and several programs, with
either quality source), the fold reads no field the decoder drops, and every entry it does not
decode partly is `events.log.read`'s own."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import given, strategies as st

from claimsim.events.log import LogWriter, read
from claimsim.events.reference import ReferenceData

from claimsim.adjudication.projections import claim_entry
from claimsim.adjudication.projections.claim_entry import (ClaimData, ClaimLine, claim_data,
                                                           claim_line)
from claimsim.adjudication.projections.entries import CHAIN, ENVELOPE, fold_envelopes
from claimsim.adjudication.projections.fold.claims import FIELDS
from claimsim.adjudication.projections.fold.stream import _ends_with
from claimsim.adjudication.projections.follower import LedgerFollower, ledger_envelopes
from claimsim.adjudication.projections.settings import ProjectionSettings
from claimsim.adjudication.projections.state import PayerState

from claimsim.cli import main

from ..fixtures.damaged_runs import RUN_ARGS, run

CLAIMS = ("claim.adjudicated", "claim.reversed")


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory) -> Path:
    return run(tmp_path_factory.mktemp("entries") / "run")


@pytest.fixture(scope="module")
def multipayer_run(tmp_path_factory) -> Path:
    """Four payers (Medicare FFS with sequestration, Medicare Advantage, Medicaid, commercial)
    under CPC+ T2, PCF, MCP T2 and full capitation."""
    out = tmp_path_factory.mktemp("entries") / "multipayer"
    assert main(["run", "multipayer", *RUN_ARGS, "--members", "400", "--seed", "5",
                 "--out", str(out)]) == 0
    return out


def _checkpoints(run_dir: Path, envelopes, settings: ProjectionSettings) -> list[str]:
    """The sha256 of the state's checkpoint bytes after each boundary and at the end."""
    state = PayerState(ReferenceData.load(run_dir), settings)
    follower = LedgerFollower(run_dir, state)
    out = []
    for env in envelopes(run_dir / "ledger"):
        follower.apply(env)
        if env["type"] == "epoch.boundary":
            out.append(hashlib.sha256(b"".join(state.state_pieces())).hexdigest())
    return out + [hashlib.sha256(b"".join(state.state_pieces())).hexdigest()]


def _kinds(run_dir: Path) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for env in read(run_dir / "ledger"):
        kinds[env["type"]] = kinds.get(env["type"], 0) + 1
    return kinds


@pytest.mark.parametrize("source", ["drawn", "claims"])
@pytest.mark.parametrize("which", ["whole_run", "multipayer_run"])
def test_the_fold_gives_the_same_checkpoints_from_partial_and_full_entries(which, source, request):
    run_dir = request.getfixturevalue(which)
    kinds = _kinds(run_dir)
    assert kinds["claim.adjudicated"] > 500 and kinds["claim.reversed"] > 0
    assert kinds["claim.rejected"] > 0 and kinds["payment.prospective"] > 0
    assert kinds["epoch.boundary"] >= 2
    settings = ProjectionSettings(quality_source=source)
    full = _checkpoints(run_dir, read, settings)
    assert _checkpoints(run_dir, fold_envelopes, settings) == full
    assert len(set(full)) == len(full)  # every boundary changed the state


def test_a_claim_entry_holds_the_named_fields_of_the_full_entry_with_the_folds_keys(whole_run):
    ledger = whole_run / "ledger"
    seen = 0
    for partial, full in zip(fold_envelopes(ledger), read(ledger), strict=True):
        if full["type"] not in CLAIMS:
            assert partial == full
            continue
        seen += 1
        assert partial == _named(full)
        assert all(any(k is getattr(FIELDS, n) for n in dir(FIELDS)) for k in partial
                   if k not in CHAIN)
        assert type(partial["data"]) is ClaimData
    assert seen > 500


def _named(full: dict[str, Any]) -> dict[str, Any]:
    """A full claim entry cut to the fields `entries` names, its data as the fold's handlers
    convert a dict (`claim_entry.claim_data`): what the decoder gives must equal it."""
    out = {k: v for k, v in full.items() if k in ENVELOPE or k in CHAIN}
    out["data"] = claim_data(full["data"], full["type"] == "claim.adjudicated")
    return out


class Recording(dict):
    """A dict that notes the keys read from it (by level) and wraps the dicts it holds."""

    def __init__(self, src: dict, level: str, read_keys: dict[str, set[str]]):
        super().__init__({k: self._wrap(k, v, level, read_keys) for k, v in src.items()})
        self.level, self.read_keys = level, read_keys

    @staticmethod
    def _wrap(key: str, value: Any, level: str, read_keys):
        if level == "envelope" and key == "data":
            return Recording(value, "data", read_keys)
        if level == "data" and key in ("lines", "reversed_lines"):
            return [Recording(line, "line", read_keys) for line in value]
        return value

    def __getitem__(self, key):
        self.read_keys[self.level].add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read_keys[self.level].add(key)
        return super().get(key, default)

    def __contains__(self, key):
        self.read_keys[self.level].add(key)
        return super().__contains__(key)


@pytest.mark.parametrize("source", ["drawn", "claims"])
def test_the_fold_reads_no_field_of_a_claim_entry_that_the_decoder_drops(whole_run, source,
                                                                       monkeypatch):
    """The envelope fields the fold reads, and the data and line fields its conversion of a dict
    reads (`claim_entry.claim_data`, its Python path: msgspec's convert reads no dict's keys
    through the dict's methods), are among those the decoder keeps."""
    def refused(*_):
        raise msgspec.ValidationError("read key by key")
    monkeypatch.setattr(claim_entry, "_convert", refused)
    read_keys: dict[str, set[str]] = {"envelope": set(), "data": set(), "line": set()}
    state = PayerState(ReferenceData.load(whole_run), ProjectionSettings(quality_source=source))
    follower = LedgerFollower(whole_run, state)
    for env in read(whole_run / "ledger"):
        follower.apply(Recording(env, "envelope", read_keys) if env["type"] in CLAIMS else env)
    assert {"data", "cause", "type"} <= read_keys["envelope"] <= {*ENVELOPE, "data"}
    assert {"lines", "paid", "member_id"} <= read_keys["data"] <= set(ClaimData.__struct_fields__)
    assert {"plan_paid", "diagnoses", "service_date"} <= read_keys["line"] <= set(
        ClaimLine.__struct_fields__)


def _write(log_dir: Path, events: list[dict[str, Any]], segment_events: int = 3) -> list[bytes]:
    with LogWriter(log_dir, segment_events=segment_events) as w:
        w.extend(events)
    return [line for p in sorted(log_dir.glob("*.jsonl")) for line in p.read_bytes().splitlines()]


def _claim(seq_cause: int, **line_changes: Any) -> dict[str, Any]:
    line = {"allowed": 100, "billed": 150, "cap_offset": 0, "capitated": False, "cost_share": 20,
            "diagnoses": ["I10"], "line_no": 1, "medicaid_cost_share": 0, "plan_paid": 80,
            "procedure": "99213", "sequestration": 0, "service_date": "2025-01-02",
            "shadow_allowed": 0, "status": "paid", "units": 1, **line_changes}
    data = {"claim_id": f"C{seq_cause}", "frequency": "1", "lines": [line], "member_id": "M1",
            "paid": "2025-01-10", "payer_id": "P", "practice_id": "PC", "received": "2025-01-03",
            "rendering_npi": None, "reversed_lines": []}
    return {"type": "claim.adjudicated", "v": 2, "at": "2025-01-10", "key": "M1",
            "cause": seq_cause, "data": data}


def test_entries_it_does_not_decode_partly_are_reads_own(tmp_path):
    """Another type, a claim entry at another version, and a claim entry with a field of another
    JSON type than the engine writes (here a line's status) are decoded in full, upcast as `read`
    upcasts them; a torn last line ends the log; `from_seq` starts mid-segment."""
    events = [_claim(0), {"type": "no_effect", "v": 1, "at": "2025-01-10", "key": "M1",
                          "cause": 1, "data": {"input_type": "x", "note": ""}},
              _claim(2, status=None), {**_claim(3), "v": 1}, _claim(4)]
    events[3]["data"]["lines"][0].pop("diagnoses")  # as v1 wrote them
    _write(tmp_path / "log", events)
    got, want = list(fold_envelopes(tmp_path / "log")), list(read(tmp_path / "log"))
    assert [len(e) for e in got] == [6, 9, 9, 9, 6]  # the partial ones: 5 named fields and hash
    assert got[1:4] == want[1:4] and got[3]["data"]["lines"][0]["diagnoses"] is None
    assert claim_line(got[3]["data"]["lines"][0]).diagnoses is None
    assert got[0] == _named(want[0]) and got[4] == _named(want[4])
    assert [e["seq"] for e in fold_envelopes(tmp_path / "log", 4)] == [4]
    assert [e["seq"] for e in fold_envelopes(tmp_path / "log", 2)] == [2, 3, 4]
    last = sorted((tmp_path / "log").glob("*.jsonl"))[-1]
    last.write_bytes(last.read_bytes()[:-1])  # the last line torn
    assert [e["seq"] for e in fold_envelopes(tmp_path / "log")] == [0, 1, 2, 3]


def test_the_fold_only_reader_gives_claim_entries_without_their_hash_and_nothing_else_changes(
        tmp_path):
    """`ledger_envelopes` feeds the fold alone, which never reads a claim entry's hash: it goes
    undecoded there; `ProjectionRunner`'s reader (`fold_envelopes`, `chain` on) keeps it."""
    events = [_claim(0), {"type": "no_effect", "v": 1, "at": "2025-01-10", "key": "M1",
                          "cause": 1, "data": {"input_type": "x", "note": ""}}, _claim(2)]
    _write(tmp_path / "ledger", events)
    chained = list(fold_envelopes(tmp_path / "ledger"))
    bare = list(ledger_envelopes(tmp_path))
    assert [("hash" in e) for e in chained] == [True, True, True]
    assert [("hash" in e) for e in bare] == [False, True, False]
    assert bare == [e if e["type"] == "no_effect" else {k: v for k, v in e.items() if k != "hash"}
                    for e in chained]


def test_a_refused_value_is_refused_as_orjson_refuses_it(tmp_path):
    """A line that is not JSON at all fails as `read` fails on it (orjson's error), whatever the
    marker at its end says."""
    lines = _write(tmp_path / "log", [_claim(0)], segment_events=10)
    broken = lines[0].replace(b'"paid":"2025-01-10"', b'"paid":2025-01-10') + b"\n"
    (tmp_path / "log" / "000000000000.jsonl").write_bytes(broken)
    with pytest.raises(orjson.JSONDecodeError):
        list(fold_envelopes(tmp_path / "log"))


@given(st.binary(max_size=40), st.lists(st.binary(max_size=8), max_size=3), st.data())
def test_the_decode_loops_marker_test_is_endswith(line, markers, data):
    """`fold.stream._ends_with`, the decode loop's test for a claim entry's marker, answers as
    `bytes.endswith` over the line's first `end` bytes, for every `end` the loop passes it."""
    end = data.draw(st.integers(1, max(1, len(line))))
    assert _ends_with(line, end, tuple(markers)) == line.endswith(tuple(markers), 0, end)


def test_a_claim_entrys_type_is_one_shared_object(whole_run):
    """The decoder hands out each claim type as one str object (a `Literal`): the fold's lookups
    find its hash kept, where a new str per entry was hashed again."""
    held: dict[str, list[str]] = {}  # every entry's type object, kept alive
    for env in ledger_envelopes(whole_run):
        if type(env["data"]) is ClaimData:
            held.setdefault(env["type"], []).append(env["type"])
    assert set(held) == set(CLAIMS)
    assert all(t is objects[0] for objects in held.values() for t in objects)
