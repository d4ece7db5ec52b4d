"""The scenarios package's commands (DESIGN.md "CLI"): `claimsim run [SCENARIO]`, `claimsim
scenarios` and `claimsim whatif`, defined in `scenario_cli` (`claimsim demo` is in `demo`)."""

from __future__ import annotations

import argparse

from claimsim.scenarios import scenario_cli


def register(sub: argparse._SubParsersAction) -> None:
    scenario_cli.add_run(sub)
    scenario_cli.add_scenarios(sub)
    scenario_cli.add_whatif(sub)
