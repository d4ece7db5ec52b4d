"""The Tuva round trip, `claimsim export RUN_DIR --format tuva --out DIR --check-roundtrip`: the
exported tables are ingested again (`claimsim ingest --format tuva ... --alignment`), paid under
the run's own scenario on the run clock (`claimsim run SCENARIO --history`), and the new run's
final-action line results are compared with the run's, claim by claim and line by line
(`claimsim.adjudication.audit.line_diff`, the rule on reversal history stated there).

Everything lands under DIR/roundtrip/: `ingested/` (the run directory ingest made), `run/` (the
history run) and `differences.csv` (every differing field, expected ones marked).

Choices where DOMAIN.md is silent: the scenario is the run's `scenario.json` (the validated
scenario as run), and ingest takes its plan and fee-schedule figures from it, as `--scenario`
would; the history run writes no charts (the comparison needs only its ledger).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson

from claimsim.adjudication.audit.line_diff import LineDiff, compare_lines, write_differences
from claimsim.events.errors import UserError
from claimsim.events.interchange.tuva_export import ALIGNMENT_FILE
from claimsim.scenarios.history import run_history
from claimsim.scenarios.ingest import Sources, ingest
from claimsim.scenarios.ingest_claims import IngestSummary
from claimsim.scenarios.region import SCENARIO_FILE, scenario_region
from claimsim.scenarios.spec import Scenario, validate

ROUNDTRIP_DIR = "roundtrip"
DIFFERENCES_FILE = "differences.csv"


@dataclass
class RoundTrip:
    ingest: IngestSummary
    diff: LineDiff
    run_dir: Path  # the history run
    differences: Path


def run_scenario_of(run_dir: Path) -> Scenario:
    path = run_dir / SCENARIO_FILE
    if not path.is_file():
        raise UserError(f"{run_dir}: no {SCENARIO_FILE} (a run made by `claimsim run` or `demo`"
                        " has one): the round trip pays the export under the run's own scenario")
    return validate(orjson.loads(path.read_bytes()), str(path))


def round_trip(run_dir: Path | str, tuva_dir: Path | str, *, progress: bool = False) -> RoundTrip:
    """Ingest `tuva_dir`'s tables, pay them under `run_dir`'s scenario, compare line results."""
    run_dir, tuva_dir = Path(run_dir), Path(tuva_dir)
    scenario = run_scenario_of(run_dir)
    work = tuva_dir / ROUNDTRIP_DIR
    sources = Sources("tuva", [tuva_dir / "medical_claim.csv"], [tuva_dir / "eligibility.csv"],
                      alignment=tuva_dir / ALIGNMENT_FILE)
    summary = ingest(sources, scenario_region(scenario).reference, work / "ingested",
                     scenario=scenario.scenario)
    run_history(scenario, work / "ingested", work / "run", progress=progress, charts_too=False)
    diff = compare_lines(run_dir, work / "run")
    return RoundTrip(summary, diff, work / "run", write_differences(work / DIFFERENCES_FILE, diff))
