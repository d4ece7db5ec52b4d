"""A synthetic run directory for throughput work and runtime tests: families under Medicare Part B
and commercial plans, primary-care and specialist visits with labs and imaging, CPC+ Track 2, PCF
and MCP Track 3 practices with attributed members, and a share of replacements, voids, duplicates
and malformed claims. Built directly (no simulator), so its size is exact and it builds fast.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

from claimsim.events.codes import (
    AWV_CODES, E_AND_M_ESTABLISHED, IMAGING_CODES, LAB_CODES, PREVENTIVE_CODES,
    SPECIALIST_EM_CODES,
)
from claimsim.events.envelope import new_event
from claimsim.events.fee_schedule import default_fee_schedule
from claimsim.events.ledger import AttributionAssigned
from claimsim.events.log import LogWriter
from claimsim.events.plans import LineOfBusiness, Payer, commercial_plans, part_b_plan
from claimsim.events.programs import Contract, ProgramKind, ProgramSettings
from claimsim.events.providers import Clinician, ClinicianRole, Practice, PracticeKind
from claimsim.events.reference import ReferenceData

START = dt.date(2025, 1, 1)


def synthetic_reference(n_pcp: int = 40, n_spec: int = 10) -> ReferenceData:
    practices = []
    for i in range(n_pcp):
        practices.append(Practice(
            practice_id=f"P{i:03d}", name=f"Primary {i}", kind=PracticeKind.PRIMARY_CARE,
            clinicians=tuple(Clinician(npi=f"1{i:03d}{j}", role=ClinicianRole.PRIMARY_CARE)
                             for j in range(3)),
            panel_capacity=2000))
    for i in range(n_spec):
        practices.append(Practice(
            practice_id=f"S{i:03d}", name=f"Specialty {i}", kind=PracticeKind.SPECIALIST,
            clinicians=tuple(Clinician(npi=f"2{i:03d}{j}", role=ClinicianRole.SPECIALIST)
                             for j in range(2))))
    programs = (ProgramKind.CPCP_T2, ProgramKind.PCF, ProgramKind.MCP_T3, ProgramKind.FFS)
    contracts = []
    for i in range(n_pcp):
        kind = programs[i % len(programs)]
        if kind is ProgramKind.FFS:
            continue
        for payer in ("MCR", "COM"):
            contracts.append(Contract(payer_id=payer, practice_id=f"P{i:03d}",
                                      program=ProgramSettings(kind=kind), start=START))
    return ReferenceData(
        payers=(
            Payer(payer_id="MCR", name="Medicare FFS", lob=LineOfBusiness.MEDICARE_FFS),
            Payer(payer_id="COM", name="Commercial", lob=LineOfBusiness.COMMERCIAL),
        ),
        plans=(part_b_plan("MCR-B", "MCR"), *commercial_plans("COM")),
        fee_schedules=(default_fee_schedule(),),
        payer_fee_schedule={"MCR": "pfs-national", "COM": "pfs-national"},
        practices=tuple(practices),
        contracts=tuple(contracts),
    )


# The lab codes the synthetic run was written with: a longer code list would change every draw
# after the first lab line (and so the run the runtime tests pin, e.g. its malformed claims).
_LAB_CODES = LAB_CODES[:7]


def _claim_lines(rng: random.Random, fees: dict[str, int], day: str, specialist: bool) -> list[dict]:
    r = rng.random()
    if specialist:
        first = rng.choice(SPECIALIST_EM_CODES)
    elif r < 0.08:
        first = rng.choice(PREVENTIVE_CODES)
    elif r < 0.13:
        first = rng.choice(AWV_CODES)
    else:
        first = rng.choice(E_AND_M_ESTABLISHED)
    codes = [first]
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
        codes.append(rng.choice(_LAB_CODES if rng.random() < 0.75 else IMAGING_CODES))
    lines = []
    for n, code in enumerate(codes, 1):
        billed = fees[code] * rng.randint(110, 220) // 100
        lines.append({"line_no": n, "service_date": day, "procedure": code, "modifiers": [],
                      "units": 1, "billed": billed, "diagnoses": ["I10", "E11.9"][: rng.randint(1, 2)]})
    return lines


def write_synthetic_run(run_dir: Path, n_claims: int, seed: int = 7) -> dict[str, Any]:
    """A run directory (reference.json, input/, run.json) with `n_claims` claims; returns facts
    the caller needs (members and their practices, for attribution events)."""
    rng = random.Random(seed)
    ref = synthetic_reference()
    ref.save(run_dir)
    (run_dir / "run.json").write_text('{"scenario": "bench-synthetic", "seed": %d}' % seed)
    fees = default_fee_schedule().amounts[2025]
    pcps = [p for p in ref.practices if p.kind is PracticeKind.PRIMARY_CARE]
    specs = [p for p in ref.practices if p.kind is PracticeKind.SPECIALIST]
    members, events = _enrollments(rng, max(1, n_claims // 8), pcps)
    claims = _claims(rng, n_claims, members, fees, pcps, specs)
    claims.sort(key=lambda rc: rc[0])
    for received, claim in claims:
        events.append(new_event({"claim": claim}, at=received, key=claim["subscriber_id"],
                                type="claim.submitted"))
    with LogWriter(run_dir / "input") as w:
        w.extend(events)
    return {"members": members, "reference": ref, "inputs": len(events), "claims": n_claims}


def _enrollments(rng: random.Random, n_families: int, pcps: list[Practice]
                 ) -> tuple[list[tuple[str, str, str, Practice]], list[dict[str, Any]]]:
    """`n_families` families (40 % Medicare, one member; the rest commercial, one to four), each
    with a home practice: (member, subscriber, payer, home practice) and their enrollments."""
    members: list[tuple[str, str, str, Practice]] = []
    events = []
    for f in range(n_families):
        sub = f"F{f:06d}"
        medicare = rng.random() < 0.4
        payer, plan = ("MCR", "MCR-B") if medicare else ("COM", rng.choice(
            ("COM-BRONZE", "COM-SILVER", "COM-GOLD")))
        size = 1 if medicare else rng.choice((1, 1, 2, 3, 4))
        home = rng.choice(pcps)
        for m in range(size):
            mid = f"{sub}-{m}"
            members.append((mid, sub, payer, home))
            events.append(new_event({
                "member_id": mid, "subscriber_id": sub, "payer_id": payer, "plan_id": plan,
                "start": "2025-01-01", "end": None, "birth_date": "1955-05-05" if medicare else "1985-05-05",
                "sex": rng.choice("FM"), "relationship": "self" if m == 0 else "child",
                "qmb": medicare and rng.random() < 0.1, "hospice": False,
            }, at="2025-01-01", key=sub, type="member.enrolled"))
    return members, events


def _claims(rng: random.Random, n_claims: int, members: list[tuple[str, str, str, Practice]],
            fees: dict[str, int], pcps: list[Practice], specs: list[Practice]
            ) -> list[tuple[str, dict]]:
    """(received, claim) of `n_claims` claims: originals (a few malformed), and some voids,
    replacements and duplicate submissions of earlier ones."""
    claims: list[tuple[str, dict]] = []
    submitted: list[dict] = []
    for c in range(n_claims):
        r = rng.random()
        if submitted and r < 0.01:  # void
            orig = rng.choice(submitted)
            claim = {**orig, "claim_id": f"V{c:07d}", "frequency": "8", "original_claim_id": orig["claim_id"]}
            claim["received"] = (dt.date.fromisoformat(orig["received"]) + dt.timedelta(days=20)).isoformat()
        elif submitted and r < 0.02:  # replacement with a changed charge
            orig = rng.choice(submitted)
            lines = [{**ln, "billed": ln["billed"] + 100} for ln in orig["lines"]]
            claim = {**orig, "claim_id": f"R{c:07d}", "frequency": "7", "original_claim_id": orig["claim_id"],
                     "lines": lines}
            claim["received"] = (dt.date.fromisoformat(orig["received"]) + dt.timedelta(days=25)).isoformat()
        elif submitted and r < 0.025:  # duplicate submission under a new claim id
            orig = rng.choice(submitted)
            claim = {**orig, "claim_id": f"D{c:07d}"}
        else:
            mid, sub, payer, home = members[rng.randrange(len(members))]
            specialist = rng.random() < 0.2
            practice = rng.choice(specs) if specialist else (home if rng.random() < 0.8 else rng.choice(pcps))
            npi = rng.choice(practice.clinicians).npi
            day = START + dt.timedelta(days=rng.randrange(330))
            received = day + dt.timedelta(days=rng.choice((2, 5, 9, 14, 30, 45)))
            claim = {"claim_id": f"C{c:07d}", "frequency": "1", "original_claim_id": None,
                     "member_id": mid, "subscriber_id": sub, "payer_id": payer,
                     "billing_tin": practice.practice_id, "rendering_npi": npi,
                     "place_of_service": "11", "received": received.isoformat(),
                     "lines": _claim_lines(rng, fees, day.isoformat(), specialist)}
            if rng.random() < 0.005:  # malformed: units 0
                claim["lines"][0]["units"] = 0
            submitted.append(claim)
        claims.append((claim["received"], claim))
    return claims


def attribution_events(members: list[tuple[str, str, str, Practice]], share: float = 0.7,
                       seed: int = 11) -> list[dict]:
    """Attribute a share of members to their home practice from the start of the year."""
    rng = random.Random(seed)
    out = []
    for mid, sub, payer, home in members:
        if rng.random() < share:
            event = AttributionAssigned(member_id=mid, subscriber_id=sub, payer_id=payer,
                                        practice_id=home.practice_id, effective=START, basis="plurality")
            out.append(new_event(event, at=START, key=sub))
    return out
