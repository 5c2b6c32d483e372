"""Shared fixtures for the knowledge tests."""

from __future__ import annotations

import pytest
from knowledge_fakes import BagOfStemsEmbedder


@pytest.fixture
def bag_embedder() -> BagOfStemsEmbedder:
    return BagOfStemsEmbedder()
