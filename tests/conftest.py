"""Shared fixtures: a warm embedding cache for the sample knowledge base, built once per run."""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from talkme_consultant.config import SAMPLE_KNOWLEDGE_DIR, Settings
from talkme_consultant.service.runtime import Runtime


def _build_template(folder: Path) -> None:
    async def build() -> None:
        runtime = await Runtime.open(
            Settings(data_dir=folder, knowledge_dir=SAMPLE_KNOWLEDGE_DIR, admin_token="unused")
        )
        await runtime.close()

    asyncio.run(build())


@pytest.fixture(scope="session")
def sample_store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir whose store already holds the sample knowledge base and its embeddings.

    Embedding the sample takes a while on two cores; every test that needs a service copies
    this folder instead of embedding again (the same path a restart takes in production). The
    parallel workers of one run share it: the first to get the lock builds it.
    """
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Each worker's base folder sits in the run's own folder, which they all share.
        shared = shared.parent
    folder = shared / "sample-template" / "data"
    with (shared / "sample-template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder.parent / "ready").exists():
            shutil.rmtree(folder.parent, ignore_errors=True)
            _build_template(folder)
            (folder.parent / "ready").touch()
    return folder


@pytest.fixture
def data_dir(sample_store_template: Path, tmp_path: Path) -> Iterator[Path]:
    """A private copy of the warm data dir."""
    target = tmp_path / "data"
    shutil.copytree(sample_store_template, target)
    yield target
