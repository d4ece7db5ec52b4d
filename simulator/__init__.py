"""The simulator: a SimPy model of a multi-payer region (members, practices, visits, referrals,
claims with their submission lag and injected faults) whose output is the payer's input log and
a truth log only reports read (DESIGN.md "Layout"). Visit volumes come from care profiles per
line of business and age band, calibrated to `events.calibration`'s public benchmarks
(`care.py` plans a month's visits; `visits.py` has one claim builder per kind of visit).

Public API:
- `SimConfig` (and its parts in `config` and `utilization`): pydantic settings with defaults for
  a sensible run.
- `build_region(config) -> Region`: the default region's `ReferenceData` plus simulator facts.
- `simulate(config, input_sink, truth_sink, progress=False) -> Summary`: sinks are callables
  taking event dicts (the shape `events.envelope.new_event` makes), input in received order; a
  sink that also has `write_encoded` (`run_dir.BatchSink`) is handed each day's events as
  canonical bytes instead (`events.encoding.open_body`), which is how a run directory is written.
- `simulate_to_dir(config, run_dir, progress=False) -> Summary`: writes reference.json, run.json,
  input/ and truth/ into a new or empty run directory.
"""

from claimsim.simulator.config import SimConfig
from claimsim.simulator.model import Summary, simulate
from claimsim.simulator.region import Region, build_region
from claimsim.simulator.run_dir import simulate_to_dir

__all__ = ["Region", "SimConfig", "Summary", "build_region", "simulate", "simulate_to_dir"]
