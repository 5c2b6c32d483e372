"""The warm sample store every service spec copies: built once per test run, in the background.

Embedding the shipped sample takes most of a minute on two cores. The run's first worker starts
a builder process as soon as it has collected the tests, and runs the specs that need no sample
store meanwhile; whoever needs the template first waits on the lock the builder holds (or builds
it, if no builder got there first). `python -m tests.support.template FOLDER` is the builder.
"""

from __future__ import annotations

import asyncio
import fcntl
import subprocess
import sys
from pathlib import Path

from talkme_consultant.config import SAMPLE_KNOWLEDGE_DIR, Settings
from talkme_consultant.service.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]


def _build(folder: Path) -> None:
    async def build() -> None:
        runtime = await Runtime.open(
            Settings(
                data_dir=folder,
                knowledge_dir=SAMPLE_KNOWLEDGE_DIR,
                admin_token="unused-admin-token-24-chars",
            )
        )
        await runtime.close()

    asyncio.run(build())


def sample_template(shared: Path) -> Path:
    """The data dir of the warm sample store under `shared`, built now unless it is there."""
    folder = shared / "sample-template" / "data"
    shared.mkdir(parents=True, exist_ok=True)
    with (shared / "sample-template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ready = folder.parent / "ready"
        if not ready.exists():
            if folder.parent.exists():
                # A builder that died half-way left this: start over.
                subprocess.run(["rm", "-rf", str(folder.parent)], check=True)
            _build(folder)
            ready.touch()
    return folder


def start_builder(shared: Path) -> subprocess.Popen[bytes]:
    """Build the template in a process of its own while tests run."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.template", str(shared)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


if __name__ == "__main__":
    sample_template(Path(sys.argv[1]))
