"""Engine specs over the shipped sample: a runtime on a private copy of the warm sample store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from talkme_consultant.config import SAMPLE_KNOWLEDGE_DIR, Settings
from talkme_consultant.service.runtime import Runtime


@pytest.fixture
async def runtime(data_dir: Path) -> AsyncIterator[Runtime]:
    """The sample salon's runtime (offline answerer, no background work)."""
    settings = Settings(
        data_dir=data_dir,
        knowledge_dir=SAMPLE_KNOWLEDGE_DIR,
        admin_token="unused-admin-token-24-chars",
    )
    opened = await Runtime.open(settings)
    try:
        yield opened
    finally:
        await opened.close()
