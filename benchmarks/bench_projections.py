"""Replay a 1M-event ledger into all the payer-side projections (PayerState through the
LedgerFollower, which also pulls the run's input log along), beside a raw baseline in the same
run: an orjson read of every line of the same ledger. The target: >= 100k events/s and >= 0.4x.

The run directory is built synthetically with the log writer (fast, deterministic): 20,000
members of one Medicare payer, 20 primary-care practices under CPC+ Track 2, PCF and FFS, claims
of one to three lines with diagnoses (on the input claims and on the ledger lines, as v2 claim
entries carry them) over two years, a few voids, quarterly boundaries with attribution, practice
status and monthly payments.

    .venv/bin/pytest benchmarks/bench_projections.py --benchmark-enable -p no:cacheprovider
"""

from __future__ import annotations

import datetime as dt
import os
import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from claimsim.events import vocabulary  # noqa: F401
from claimsim.events.codes import CONDITION_ICD10
from claimsim.events.envelope import new_event
from claimsim.events.fee_schedule import default_fee_schedule
from claimsim.events.log import Fsync, LogWriter, segment_files, segments
from claimsim.events.plans import LineOfBusiness, Payer, part_b_plan
from claimsim.events.programs import Contract, ProgramKind, ProgramSettings
from claimsim.events.providers import Clinician, ClinicianRole, Practice, PracticeKind
from claimsim.events.reference import ReferenceData

from claimsim.adjudication.runtimes.manifest import manifest_envelope
from claimsim.events.acyclic import cycle_gc_paused
from claimsim.adjudication.projections.follower import (LedgerFollower,
                                                      ledger_envelopes)
from claimsim.adjudication.projections.state import PayerState

LEDGER_EVENTS = int(os.environ.get("CLAIMSIM_BENCH_LEDGER_EVENTS", 1_000_000))
MEMBERS = 20_000
PRACTICES = 20
PAYER = "MCR"
CODES = ("99213", "99214", "99203", "G0439", "80053", "85025", "99243", "93000")
DX = [codes[0] for codes in CONDITION_ICD10.values()] + ["J06.9", "Z00.00", "R05.9"]


def _reference() -> ReferenceData:
    practices, contracts = [], []
    kinds = (ProgramKind.CPCP_T2, ProgramKind.PCF, ProgramKind.FFS, ProgramKind.MCP_T2)
    for i in range(PRACTICES):
        pid = f"PC{i:03d}"
        practices.append(Practice(practice_id=pid, name=pid, kind=PracticeKind.PRIMARY_CARE,
                                  clinicians=(Clinician(npi=f"N{i:03d}", role=ClinicianRole.PRIMARY_CARE),)))
        contracts.append(Contract(payer_id=PAYER, practice_id=pid, start=dt.date(2024, 1, 1),
                                  program=ProgramSettings(kind=kinds[i % len(kinds)],
                                                          minimum_attributed=100)))
    practices.append(Practice(practice_id="SP000", name="Specialists", kind=PracticeKind.SPECIALIST,
                              clinicians=(Clinician(npi="S000", role=ClinicianRole.SPECIALIST),)))
    return ReferenceData(
        payers=(Payer(payer_id=PAYER, name="Medicare", lob=LineOfBusiness.MEDICARE_FFS),),
        plans=(part_b_plan("MCR-B", PAYER),),
        fee_schedules=(default_fee_schedule(),), payer_fee_schedule={PAYER: "pfs-national"},
        practices=tuple(practices), contracts=tuple(contracts))


def _line(no: int, member: str, day: str, code: str, allowed: int, dx: list[str]) -> dict:
    cost_share = allowed // 5
    return {"adjustments": [], "allowed": allowed, "attributed": False, "billed": allowed,
            "cap_offset": 0, "capitated": False, "coinsurance": cost_share, "copay": 0,
            "cost_share": cost_share, "deductible": 0, "diagnoses": dx, "line_no": no,
            "medicaid_cost_share": 0, "member_id": member, "plan_paid": allowed - cost_share,
            "procedure": code, "program": "ffs", "remarks": [], "sequestration": 0,
            "service_date": day, "shadow_allowed": 0, "status": "paid", "units": 1}


def build_run(run_dir: Path, ledger_events: int = LEDGER_EVENTS) -> Path:
    """Write reference.json, input/ and ledger/ (about `ledger_events` ledger entries)."""
    rng = random.Random(2025)
    ref = _reference()
    ref.save(run_dir)
    fees = default_fee_schedule().amounts[2025]
    home = {f"M{i:06d}": f"PC{rng.randrange(PRACTICES):03d}" for i in range(MEMBERS)}
    members = sorted(home)
    with LogWriter(run_dir / "input", fsync=Fsync.NEVER) as inp, \
            LogWriter(run_dir / "ledger", fsync=Fsync.NEVER) as led:
        led.append(manifest_envelope(ref, {}, scenario="bench", seed=0, at="2024-01-01"))
        _enroll(rng, members, inp, led)
        day0 = dt.date(2024, 1, 1)
        boundaries = ["2024-07-01", "2024-10-01", "2025-01-01", "2025-04-01", "2025-07-01",
                      "2025-10-01"]
        per_day = max(1, (ledger_events - MEMBERS) // 730)
        n, recent = 0, []
        for d in range(730):
            day = (day0 + dt.timedelta(days=d)).isoformat()
            if boundaries and day >= boundaries[0]:
                _boundary(boundaries.pop(0), members, home, inp, led)
            for _ in range(per_day):
                m = members[rng.randrange(MEMBERS)]
                practice = home[m] if rng.random() < 0.8 else f"PC{rng.randrange(PRACTICES):03d}"
                service = (day0 + dt.timedelta(days=max(0, d - rng.randrange(20)))).isoformat()
                codes = [CODES[rng.randrange(3)]] + [CODES[rng.randrange(len(CODES))]
                                                     for _ in range(rng.randrange(3))]
                claim_id = f"C{n}"
                n += 1
                dx = [DX[rng.randrange(len(DX))]]
                sub = {"claim_id": claim_id, "member_id": m, "subscriber_id": m, "payer_id": PAYER,
                       "billing_tin": practice, "rendering_npi": "N" + practice[2:],
                       "place_of_service": "11", "received": day, "frequency": "1",
                       "lines": [{"line_no": i + 1, "service_date": service, "procedure": c,
                                  "units": 1, "billed": fees[c] * 2, "diagnoses": dx}
                                 for i, c in enumerate(codes)]}
                s = inp.append(new_event({"claim": sub}, type="claim.submitted", at=day, key=m))
                lines = [_line(i + 1, m, service, c, fees[c], dx) for i, c in enumerate(codes)]
                data = {"claim_id": claim_id, "frequency": "1", "original_claim_id": None,
                        "member_id": m, "subscriber_id": m, "payer_id": PAYER,
                        "practice_id": practice, "rendering_npi": "N" + practice[2:],
                        "received": day, "paid": day, "lines": lines, "reversed_lines": [],
                        "reversed_claim_id": None}
                led.append(new_event(data, type="claim.adjudicated", at=day, key=m, cause=s["seq"]))
                recent.append(data)
                if rng.random() < 0.01 and recent:
                    _void(recent[rng.randrange(len(recent))], f"V{n}", day, inp, led)
                if len(recent) > 5000:
                    recent = recent[-1000:]
    return run_dir


def _enroll(rng: random.Random, members: list[str], inp: LogWriter, led: LogWriter) -> None:
    """Each member's enrollment, answered by a no-effect entry."""
    for m in members:
        s = inp.append(new_event({"member_id": m, "subscriber_id": m, "payer_id": PAYER,
                                  "plan_id": "MCR-B", "start": "2024-01-01", "end": None,
                                  "birth_date": f"19{40 + rng.randrange(40)}-05-05", "sex": "F",
                                  "relationship": "self", "qmb": False, "hospice": False},
                                 type="member.enrolled", at="2024-01-01", key=m))
        led.append(new_event({"input_type": "member.enrolled", "note": ""}, type="no_effect",
                             at="2024-01-01", key=m, cause=s["seq"]))


def _boundary(b: str, members: list[str], home: dict[str, str], inp: LogWriter,
              led: LogWriter) -> None:
    """An epoch boundary and the attribution of every seventh member to their home practice."""
    led.append(new_event({"epoch": 1, "boundary": b, "last_input_seq": inp.next_seq - 1},
                         type="epoch.boundary", at=b, key="epoch", cause=inp.next_seq - 1))
    for m in members[::7]:
        led.append(new_event({"member_id": m, "subscriber_id": m, "payer_id": PAYER,
                              "practice_id": home[m], "effective": b, "basis": "plurality",
                              "visits": 2, "last_visit": None},
                             type="attribution.assigned", at=b, key=m, cause=inp.next_seq - 1))


def _void(orig: dict[str, Any], claim_id: str, day: str, inp: LogWriter, led: LogWriter) -> None:
    """A void of an earlier claim, submitted and its reversal written."""
    s = inp.append(new_event({"claim": {"claim_id": claim_id, "frequency": "8",
                                        "original_claim_id": orig["claim_id"]}},
                             type="claim.submitted", at=day, key=orig["member_id"]))
    rev = [{**ln, **{k: -ln[k] for k in ("allowed", "billed", "coinsurance",
                                         "cost_share", "plan_paid")}}
           for ln in orig["lines"]]
    led.append(new_event({"claim_id": claim_id, "original_claim_id": orig["claim_id"],
                          "reversed_claim_id": orig["claim_id"],
                          "member_id": orig["member_id"],
                          "subscriber_id": orig["member_id"], "payer_id": PAYER,
                          "practice_id": orig["practice_id"], "received": day,
                          "paid": day, "reversed_lines": rev},
                         type="claim.reversed", at=day, key=orig["member_id"],
                         cause=s["seq"]))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return build_run(tmp_path_factory.mktemp("bench") / "run")


def _ledger_events(run_dir: Path) -> int:
    return sum(1 for _, p in segments(run_dir / "ledger") for _ in open(p, "rb"))


def raw_read(run_dir: Path) -> int:
    """The baseline: every ledger line read as the fold's reader reads the files (`segment_files`,
    its buffer) and decoded by orjson, nothing else."""
    n = 0
    loads = orjson.loads
    for f in segment_files(run_dir / "ledger"):
        for line in f:
            loads(line)
            n += 1
    return n


def replay_projections(run_dir: Path) -> int:
    state = PayerState(ReferenceData.load(run_dir))
    follower = LedgerFollower(run_dir, state)
    n = 0
    with cycle_gc_paused():  # as `audit replay` and the run clock do
        for env in ledger_envelopes(run_dir):
            follower.apply(env)
            n += 1
    return n


def test_raw_orjson_read_baseline(benchmark, run_dir):
    n = benchmark.pedantic(raw_read, args=(run_dir,), rounds=3, iterations=1)
    benchmark.extra_info.update(events=n, items=n)
    benchmark.extra_info["events_per_s"] = round(n / benchmark.stats.stats.mean)


def test_replay_ledger_into_all_projections(benchmark, run_dir):
    n = benchmark.pedantic(replay_projections, args=(run_dir,), rounds=3, iterations=1)
    assert n == _ledger_events(run_dir) and n >= LEDGER_EVENTS * 0.95
    benchmark.extra_info.update(events=n, items=n, baseline="test_raw_orjson_read_baseline")
    benchmark.extra_info["events_per_s"] = round(n / benchmark.stats.stats.mean)
