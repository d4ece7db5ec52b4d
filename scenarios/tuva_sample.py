"""A generated Tuva Input Layer sample (`medical_claim` and `eligibility` CSVs) for benchmarks,
tests and trying `claimsim ingest`: professional claims of two lines in 2025, half Medicare and
half commercial members, each with a home practice (TIN) that bills most of their claims.
Deterministic in its seed; vectorised with numpy, so a million lines take seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

CODES = np.array(["99213", "99214", "36415", "80053", "85025", "99215", "G0439", "83036"])
PAYERS = np.array(["medicare", "acme"])
PLANS = np.array(["part b", "Acme Silver PPO"])


def write_tuva_sample(directory: Path, lines: int, *, seed: int = 7, tins: int = 200,
             away_bp: int = 2000) -> tuple[Path, Path]:
    """A Tuva medical_claim CSV of `lines` lines (two per claim, service dates in 2025) and its
    eligibility CSV: one member per 20 lines, half Medicare and half commercial, each with a home
    practice (TIN) that bills `10_000 - away_bp` basis points of their claims."""
    rng = np.random.default_rng(seed)
    claims = (lines + 1) // 2
    members = max(1, lines // 20)
    claim_no = np.arange(lines) // 2
    member = rng.integers(0, members, claims)
    away = rng.integers(0, 10_000, claims) < away_bp
    tin = np.where(away, rng.integers(0, tins, claims), member % tins)[claim_no]
    member = member[claim_no]
    lob = member % 2
    day = (np.datetime64("2025-01-01") + rng.integers(0, 365, claims)[claim_no])
    paid = day + 14
    claim_ids = np.char.add("C", claim_no.astype(str))
    member_ids = np.char.add("M", member.astype(str))
    table = pa.table({
        "claim_id": claim_ids, "claim_line_number": (np.arange(lines) % 2 + 1).astype(str),
        "claim_type": np.full(lines, "professional"), "member_id": member_ids,
        "payer": PAYERS[lob], "plan": PLANS[lob],
        "claim_start_date": day.astype(str), "claim_end_date": day.astype(str),
        "claim_line_start_date": day.astype(str), "place_of_service_code": np.full(lines, "11"),
        "hcpcs_code": CODES[rng.integers(0, len(CODES), lines)],
        "service_unit_quantity": np.full(lines, "1"),
        "rendering_npi": np.char.add("1", (tin * 4 + rng.integers(0, 4, claims)[claim_no]).astype(str)),
        "billing_tin": np.char.add("9", tin.astype(str)), "paid_date": paid.astype(str),
        "charge_amount": np.char.add(rng.integers(20, 400, lines).astype(str), ".00"),
        "diagnosis_code_1": np.full(lines, "E119"), "diagnosis_code_2": np.full(lines, "I10"),
    })
    claims_path, eligibility_path = directory / "medical_claim.csv", directory / "eligibility.csv"
    pacsv.write_csv(table, claims_path)
    ids = np.arange(members)
    pacsv.write_csv(pa.table({
        "member_id": np.char.add("M", ids.astype(str)), "gender": np.full(members, "female"),
        "birth_date": np.full(members, "1950-01-01"),
        "enrollment_start_date": np.full(members, "2025-01-01"),
        "enrollment_end_date": np.full(members, "2025-12-31"),
        "payer": PAYERS[ids % 2], "payer_type": np.array(["medicare", "commercial"])[ids % 2],
        "plan": PLANS[ids % 2],
    }), eligibility_path)
    return claims_path, eligibility_path
