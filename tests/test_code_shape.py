"""The shape STYLE.md asks of the source: no module over `MAX_FILE_LINES` lines ("a module over
~400 lines is usually two concepts") and no function over `MAX_FUNCTION_LINES` lines unless a
`# Long:` comment at the top of its body (before its first statement after the docstring) says
why it stays one function: a hot loop compiled by mypyc, or a sequence that reads best whole.

The source files are the import-graph test's (`test_import_graph.source_files`).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .test_import_graph import ROOT, source_files

MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60
REASON = "# Long:"


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def too_long_files(files: list[Path]) -> list[str]:
    """`path: N lines` for every file over `MAX_FILE_LINES`."""
    bad = []
    for path in files:
        n = len(path.read_text().splitlines())
        if n > MAX_FILE_LINES:
            bad.append(f"{_shown(path)}: {n} lines (at most {MAX_FILE_LINES}: split it by concept)")
    return bad


def _says_why(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A `# Long:` comment line between the `def` and the body's first statement after the
    docstring."""
    body = node.body
    has_doc = (isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
               and isinstance(body[0].value.value, str))
    first = body[1] if has_doc and len(body) > 1 else body[0]
    top = lines[node.lineno - 1: first.lineno - 1]
    return any(line.strip().startswith(REASON) for line in top)


def unexplained_long_functions(files: list[Path]) -> list[str]:
    """`path:line: name is N lines` for every function (nested ones too) over
    `MAX_FUNCTION_LINES` whose body does not start by saying why."""
    bad = []
    for path in files:
        text = path.read_text()
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text, filename=str(path))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            n = node.end_lineno - node.lineno + 1
            if n > MAX_FUNCTION_LINES and not _says_why(lines, node):
                bad.append(f"{_shown(path)}:{node.lineno}: {node.name} is {n} lines (at most"
                           f" {MAX_FUNCTION_LINES}, or a `{REASON}` comment at the top of its"
                           " body saying why it stays one function)")
    return bad


def test_no_source_file_is_over_the_limit():
    assert source_files(), "no source files found: the test would pass vacuously"
    assert too_long_files(source_files()) == []


def test_every_long_function_says_why_it_stays_one():
    assert unexplained_long_functions(source_files()) == []


def _function(lines: int, reason: str | None = None, *, docstring: bool = True) -> str:
    """A function of exactly `lines` lines, with `reason` as a comment at the top of its body."""
    head = ["def planted(x):"]
    if docstring:
        head.append('    """A docstring."""')
    if reason is not None:
        head.append(f"    {reason}")
    return "\n".join(head + ["    x += 1"] * (lines - len(head) - 1) + ["    return x"]) + "\n"


@pytest.mark.parametrize("source, flagged", [
    (_function(MAX_FUNCTION_LINES), False),
    (_function(MAX_FUNCTION_LINES + 1), True),
    (_function(MAX_FUNCTION_LINES + 1, "# Long: one hot loop, compiled"), False),
    (_function(MAX_FUNCTION_LINES + 1, "# Long: no docstring", docstring=False), False),
    (_function(MAX_FUNCTION_LINES + 1, "# long because it is"), True),
    (_function(MAX_FUNCTION_LINES + 1).replace("    x += 1\n", "    x += 1\n    # Long: late\n", 1),
     True),  # a comment below the first statement is not at the top of the body
    ("class C:\n" + "".join("    " + line + "\n" for line in
                            _function(MAX_FUNCTION_LINES + 1).splitlines()), True),  # a method
])
def test_the_checker_itself_catches_an_unexplained_long_function(tmp_path, source, flagged):
    """The limit is only as good as the checker: plant a function and see it judged."""
    planted = tmp_path / "planted.py"
    planted.write_text(source)
    assert bool(unexplained_long_functions([planted])) is flagged


@pytest.mark.parametrize("lines, flagged", [(MAX_FILE_LINES, False), (MAX_FILE_LINES + 1, True)])
def test_the_checker_itself_catches_a_too_long_file(tmp_path, lines, flagged):
    planted = tmp_path / "planted.py"
    planted.write_text("x = 1\n" * lines)
    assert bool(too_long_files([planted])) is flagged
