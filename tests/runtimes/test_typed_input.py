"""The embedded runtime reads plainly written claim (and enrollment) lines typed (`read_checked(typed=True)`:
`events.typed_input`, checked by `engine.typed_claims`) and everything else as dicts. The typed
reading must change nothing: every input line of a synthetic run, with a copy of a real claim
written each of many hostile ways appended, reads as the same envelope, and the run's ledger is
the same bytes whichever reading the runtime uses."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import orjson
import pytest

from ..fixtures.typed_claims import BYTE_FORMS, CRASHES_THE_RUNTIME, append_hostile_claims
from claimsim.adjudication.runtimes import embedded
from claimsim.adjudication.runtimes.embedded import EmbeddedAdjudicator
from claimsim.events.encoding import chain_hash
from claimsim.events.typed_input import TypedClaim, TypedEnrollment
from claimsim.events.input_reader import ChainBroken, ChainPosition, LineCheck, read_checked
from claimsim.scenarios.synthetic import attribution_events, write_synthetic_run

# Forms the typed reading takes (the rest go to the dict reading): plainly written, of the JSON
# types the engine reads, no unknown field; their values may still be rejected.
TYPED_FORMS = {
    "as written", "line number 2**62", "line number 2**63", "line number 2**64",
    "line number of 30 digits", "line number 0", "line number -1", "billed -0",
    "billed 2**64", "billed at the limit", "billed past the limit", "billed negative", "units 0",
    "units at the limit", "units past the limit", "modifiers absent", "modifier of 3 characters",
    "five modifiers", "two modifiers", "diagnoses null", "diagnoses absent", "diagnoses empty",
    "diagnosis of 9 characters", "13 diagnoses", "12 diagnoses", "frequency absent",
    "frequency 5", "replacement without an original", "original absent",
    "original on a first claim", "claim id empty", "claim id of 64", "claim id of 65",
    "member unknown", "subscriber mismatch", "payer unknown", "billing TIN unknown",
    "rendering NPI unknown", "place of service unknown", "received not a date",
    "received a week date", "service after received", "service date short", "procedure unknown",
    "lines empty", "key empty", "spaces between tokens", "carriage return between tokens",
    "DEL in a string", "duplicate payer, first unknown",
    "51 lines", "50 lines", "a line number twice",
}


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("typed") / "run"
    run.mkdir()
    facts = write_synthetic_run(run, 1500)
    names = append_hostile_claims(run / "input", CRASHES_THE_RUNTIME)
    attribution = attribution_events(facts["members"])
    return run, names, attribution


def _untyped(monkeypatch) -> None:
    """The runtime reads every line as a dict (main's reading), as before the typed one."""
    reader = embedded.read_checked
    monkeypatch.setattr(embedded, "read_checked", lambda d, p=None, typed=False: reader(d, p))


def test_every_line_reads_as_the_same_envelope_typed_or_not(hostile_run):
    run, names, _ = hostile_run
    typed, plain = list(read_checked(run / "input", typed=True)), list(read_checked(run / "input"))
    assert len(typed) == len(plain)
    taken = []
    for t, p in zip(typed, plain):
        if type(t["data"]) in (TypedClaim, TypedEnrollment):
            assert t["data"].as_dict() == p["data"]
            assert {**t, "data": None} == {**p, "data": None}
            taken.append(t["seq"])
        else:
            assert t == p
    first_hostile = len(plain) - len(names)
    assert set(range(first_hostile)) - set(taken) == {  # the synthetic run: typed but for
        p["seq"] for p in plain[:first_hostile]          # what is not a claim or an enrollment
        if p["type"] not in ("claim.submitted", "member.enrolled")}
    assert {names[s - first_hostile] for s in taken if s >= first_hostile} == TYPED_FORMS


def test_the_ledger_is_the_same_bytes_typed_or_not(hostile_run, tmp_path, monkeypatch):
    run, names, attribution = hostile_run
    ledgers = []
    for reading in ("typed", "dicts"):
        target = tmp_path / reading
        target.mkdir()
        for name in ("reference.json", "run.json"):
            (target / name).write_bytes((run / name).read_bytes())
        (target / "input").symlink_to(run / "input")
        if reading == "dicts":
            _untyped(monkeypatch)
        with EmbeddedAdjudicator(target) as rt:
            rt.record(json.loads(json.dumps(attribution)))
            rt.run()
        ledgers.append(b"".join(p.read_bytes() for p in sorted((target / "ledger").glob("*.jsonl"))))
    typed, dicts = ledgers
    answers = typed.splitlines()[-len(names):]
    reasons = {n: json.loads(a)["data"].get("reason") for n, a in zip(names, answers)}
    assert reasons["billed past the limit"] == "over_limit"
    assert reasons["12 diagnoses"] is None  # adjudicated
    assert reasons["as written"] is None and reasons["a line number twice"] == "malformed"
    assert len(set(reasons.values())) > 15
    assert hashlib.sha256(typed).hexdigest() == hashlib.sha256(dicts).hexdigest()


def test_the_forms_are_all_distinct():
    assert len({name for name, _, _ in BYTE_FORMS}) == len(BYTE_FORMS)


def test_a_second_prev_key_in_the_tail_is_left_to_the_dict_reading(hostile_run):
    """The typed reading hashes a claim line cut where its marker puts `,"prev":"`, the dict
    reading at the line's last `,"prev":"`: a line whose prev string hides a second one (its
    `prev` not checked, after an unreadable line), hashed at the marker's cut, is not read
    typed, and the dict reading finds its chain broken."""
    run, _, _ = hostile_run
    path = sorted((run / "input").glob("*.jsonl"))[0]
    line = next(ln for ln in path.read_bytes().splitlines(keepends=True)
                if b'"claim.submitted"' in ln)
    body, seq = line[:line.rfind(b',"prev":"')], orjson.loads(line)["seq"]
    prev = "a" * 27
    hidden = b'%s","prev":"%s' % (b"b" * 27, prev.encode())  # as long as a hash: 64 bytes
    raw = body + b',"prev":"%s","hash":"%s"}\n' % (hidden, chain_hash(prev, body + b"}").encode())
    with pytest.raises(ChainBroken, match="content does not match its hash"):
        LineCheck(run / "input", True).envelope(raw, seq, ChainPosition(seq, None))


@pytest.mark.parametrize("kind", ["claim.submitted", "member.enrolled"])
def test_a_line_shorter_than_its_marker_tail_reads_as_a_dict_would(hostile_run, kind):
    """`LineCheck` looks for a typed line's marker at its place from the line's end; a line too
    short to hold it there (here one that starts with the marker) is read the dict way, as is a
    plain line whose marker sits one byte off its place."""
    run, _, _ = hostile_run
    typed, plain = LineCheck(run / "input", True), LineCheck(run / "input", False)
    marker = typed.marker if kind == "claim.submitted" else typed.e_marker
    path = sorted((run / "input").glob("*.jsonl"))[0]
    line = next(ln for ln in path.read_bytes().splitlines(keepends=True)
                if f'"type":"{kind}"'.encode() in ln)
    seq, prev = orjson.loads(line)["seq"], orjson.loads(line)["prev"]
    moved = line.replace(b'","hash":"', b'","hash": "')  # valid JSON, its marker a byte off
    for raw in (marker + b'"}\n', moved):
        got = typed.envelope(raw, seq, ChainPosition(seq, None))
        assert type(got["data"]) not in (TypedClaim, TypedEnrollment)
        assert got == plain.envelope(raw, seq, ChainPosition(seq, None))
    assert type(typed.envelope(line, seq, ChainPosition(seq, prev))["data"]) in (
        TypedClaim, TypedEnrollment)
