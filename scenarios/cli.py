"""The scenarios package's commands (DESIGN.md "CLI"): `claimsim run [SCENARIO]`, `claimsim
scenarios` and `claimsim whatif`, defined in `commands`; `claimsim export` (`export_cli`) and
`claimsim calibrate` (`calibrate`). `claimsim demo` is in `demo`, `claimsim ingest` in `ingest_cli`."""

from __future__ import annotations

import argparse

from claimsim.scenarios import calibrate, commands, export_cli


def register(sub: argparse._SubParsersAction) -> None:
    commands.add_run(sub)
    commands.add_scenarios(sub)
    commands.add_whatif(sub)
    export_cli.register(sub)
    calibrate.register(sub)
