"""Small paid runs for the export tests, built once per session in a temporary folder, and their
exports (each format once per run). Both runs use a minimum volume of 1 so practices receive
prospective payments and year-end PBIP recoupments: the 835's PLB cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from claimsim.cli import main

RUN_ARGS = ("--members", "400", "--months", "12", "--minimum-attributed", "1", "--no-progress")


def _run(tmp_path_factory, scenario: str) -> Path:
    out = tmp_path_factory.mktemp(scenario) / "run"
    assert main(["run", scenario, *RUN_ARGS, "--out", str(out)]) == 0
    return out


def export(run_dir: Path, fmt: str, out: Path) -> int:
    """`claimsim export RUN_DIR --format FMT --out OUT` (its exit status)."""
    return main(["export", str(run_dir), "--format", fmt, "--out", str(out), "--no-progress"])


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    return _run(tmp_path_factory, "demo")


@pytest.fixture(scope="session")
def multipayer_run(tmp_path_factory) -> Path:
    return _run(tmp_path_factory, "multipayer")


@pytest.fixture(scope="session", params=["demo", "multipayer"])
def any_run(request) -> Path:
    return request.getfixturevalue(f"{request.param}_run")


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """exported(run_dir, fmt) -> the folder holding that run's export (made once)."""
    done: dict[tuple[Path, str], Path] = {}

    def get(run_dir: Path, fmt: str) -> Path:
        key = (run_dir, fmt)
        if key not in done:
            out = tmp_path_factory.mktemp(f"export-{fmt}") / "out"
            assert export(run_dir, fmt, out) == 0
            done[key] = out
        return done[key]

    return get


@pytest.fixture
def run_export():
    """The `export` helper, for tests that run the command themselves."""
    return export
