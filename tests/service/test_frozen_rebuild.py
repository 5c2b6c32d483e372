"""`serve` and `worker` freeze start-up objects out of the garbage collector
(`helpers/collector.py`), the served index among them. A rebuild replaces that index: it must go
by reference counting alone, since frozen cyclic garbage is never collected. Run in a child
interpreter, as freezing is process-wide."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CHILD = """
import asyncio, gc, sys
from pathlib import Path
from talkme_consultant.config import Settings
from talkme_consultant.helpers.collector import freeze_startup_objects
from talkme_consultant.service.runtime import Runtime

async def main():
    settings = Settings(
        data_dir=Path(sys.argv[1]), embedder="none", admin_token="test-admin-token-24-chars-long"
    )
    runtime = await Runtime.open(settings)
    try:
        await runtime.knowledge.wait_idle()
        freeze_startup_objects()
        for _ in range(2):
            assert await runtime.knowledge.refresh(force=True)
            await runtime.knowledge.wait_idle()
        gc.unfreeze()
        print(gc.collect())
    finally:
        await runtime.close()

asyncio.run(main())
"""


def test_an_index_replaced_by_a_rebuild_leaves_no_cyclic_garbage(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.split()[-1] == "0", done.stdout
