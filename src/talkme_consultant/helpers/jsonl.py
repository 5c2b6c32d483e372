"""Case files as JSON lines: one object a line, blank lines skipped, a bad line named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def json_objects(path: Path, error: type[Exception]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each non-blank line's object with where it stands («file, line N»).

    A line that is not JSON, or not an object, raises `error` with that place and why.
    """
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path.name}, line {number}"
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise error(f"{where}: not JSON ({exc.msg})") from exc
            if not isinstance(item, dict):
                raise error(f"{where}: expected a JSON object")
            yield where, item
