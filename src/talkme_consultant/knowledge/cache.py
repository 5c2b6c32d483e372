"""Where embeddings are kept between index builds, keyed by the hash of the embedded text."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np


def text_hash(text: str) -> str:
    """The cache key of one embedded text: the same SHA-256 as `Record.content_hash`."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache(Protocol):
    """Stores vectors per embedding model and text hash.

    `model` is the embedder's `name`, so vectors of different models never mix. The key is the
    hash of the exact text that was embedded (a record has several representations, each with
    its own key).
    """

    async def get_many(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Return the vectors that are cached; missing hashes are simply absent."""
        ...

    async def put_many(self, model: str, items: Mapping[str, np.ndarray]) -> None:
        """Store vectors (overwriting any with the same key)."""
        ...


class MemoryEmbeddingCache:
    """An in-process cache: enough for tests, the CLI and a single short-lived process."""

    def __init__(self) -> None:
        self._data: dict[tuple[str, str], np.ndarray] = {}
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._data)

    async def get_many(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Return the cached vectors among `hashes`."""
        async with self._lock:
            found: dict[str, np.ndarray] = {}
            for h in hashes:
                vector = self._data.get((model, h))
                if vector is not None:
                    found[h] = vector
            return found

    async def put_many(self, model: str, items: Mapping[str, np.ndarray]) -> None:
        """Store copies of `items` so later changes by the caller cannot leak in."""
        async with self._lock:
            for h, vector in items.items():
                self._data[(model, h)] = np.array(vector, dtype=np.float32, copy=True)
