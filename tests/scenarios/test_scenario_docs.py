"""The scenario file reference in docs/ is generated from the models: it must be current, and
every built-in scenario file's keys must be documented in it."""

from __future__ import annotations

import tomllib
from pathlib import Path

from claimsim.scenarios.reference_doc import reference_markdown
from claimsim.scenarios.spec import builtin_names, builtin_text
from claimsim.scenarios.vary import check_path

DOC = Path(__file__).resolve().parents[2] / "docs" / "scenario-reference.md"


def test_committed_reference_is_what_the_models_generate():
    assert DOC.read_text() == reference_markdown(), (
        "docs/scenario-reference.md is stale: claimsim scenarios --reference > docs/scenario-reference.md")


def test_every_key_the_builtins_use_is_a_documented_vary_path():
    """Each value a built-in sets is reachable by `--vary` at its dotted path (checked against
    the model), and the table it sits in has a section in the reference."""
    text = reference_markdown()
    for name in builtin_names():
        for path in _leaf_paths(tomllib.loads(builtin_text(name))):
            check_path(path)
            if "." in path:
                head = path.split(".")[0]
                assert f"### `{head}" in text, (name, path)


def _leaf_paths(data: dict, parent: str = ""):
    for k, v in data.items():
        path = f"{parent}.{k}" if parent else k
        if isinstance(v, dict):
            yield from _leaf_paths(v, path)
        else:
            yield path
