"""The code stays in rooms a newcomer can read: no module grows past `MAX_LINES`.

A module that outgrows it holds more than one job; split it along what it holds (as the offline
answerer's refusals, its leading hit and its price rows were split off) and name the new
module in docs/ARCHITECTURE.md.
"""

from __future__ import annotations

from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "talkme_consultant"
MAX_LINES = 500


def test_no_module_is_longer_than_the_limit() -> None:
    modules = sorted(SRC.rglob("*.py"))
    assert len(modules) > 100, "the package was not found"
    lengths = {path: len(path.read_text(encoding="utf-8").splitlines()) for path in modules}
    too_long = [f"{p.relative_to(SRC)}: {n}" for p, n in lengths.items() if n > MAX_LINES]
    assert not too_long, f"modules over {MAX_LINES} lines: {', '.join(too_long)}"
