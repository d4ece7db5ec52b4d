"""The scenarios package's commands (DESIGN.md "CLI"): `claimsim run [SCENARIO]`, `claimsim
scenarios` and `claimsim whatif`, defined in `commands` (`claimsim demo` is in `demo`,
`claimsim calibrate` in `calibrate`)."""

from __future__ import annotations

import argparse

from claimsim.scenarios import calibrate, commands


def register(sub: argparse._SubParsersAction) -> None:
    commands.add_run(sub)
    commands.add_scenarios(sub)
    commands.add_whatif(sub)
    calibrate.register(sub)
