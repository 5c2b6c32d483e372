"""The code stays in rooms a newcomer can read: no module grows past `MAX_LINES` and no class
past `MAX_CLASS_LINES`.

A module or class that outgrows its limit holds more than one job; split it along what it holds
(as the offline answerer's refusals, its leading hit and its price rows were split off, or the
dialog engine's writing of replies) and name the new module in docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "talkme_consultant"
MAX_LINES = 500
MAX_CLASS_LINES = 250
# Classes kept whole past the limit, and why.
WHOLE = {
    # One flat table of environment variables: split into nested groups, every variable would
    # need another name.
    "config.py::Settings",
}


def _modules() -> list[Path]:
    modules = sorted(SRC.rglob("*.py"))
    assert len(modules) > 100, "the package was not found"
    return modules


def test_no_module_is_longer_than_the_limit() -> None:
    lengths = {path: len(path.read_text(encoding="utf-8").splitlines()) for path in _modules()}
    too_long = [f"{p.relative_to(SRC)}: {n}" for p, n in lengths.items() if n > MAX_LINES]
    assert not too_long, f"modules over {MAX_LINES} lines: {', '.join(too_long)}"


def test_no_class_is_longer_than_the_limit() -> None:
    too_long = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef) or node.end_lineno is None:
                continue
            lines = node.end_lineno - node.lineno + 1
            name = f"{path.relative_to(SRC)}::{node.name}"
            if lines > MAX_CLASS_LINES and name not in WHOLE:
                too_long.append(f"{name}: {lines}")
    assert not too_long, f"classes over {MAX_CLASS_LINES} lines: {', '.join(too_long)}"
