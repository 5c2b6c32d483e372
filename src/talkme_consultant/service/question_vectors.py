"""Embeddings of visitors' questions for grouping, kept in memory and in the store's cache.

Questions are embedded as queries (e5's "query:" side), so they are cached under their own
model key and never mix with the passage vectors of the same text in the index.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np

from talkme_consultant.knowledge.cache import EmbeddingCache, text_hash
from talkme_consultant.knowledge.embedders import Embedder
from talkme_consultant.knowledge.query import strip_pleasantries

_BATCH = 64
# Beyond this many vectors (about 80 MB at 384 dimensions) the memory copy starts over.
MAX_IN_MEMORY = 50_000


class QuestionVectors:
    """Embeds questions once: memory first, then the store's cache, then the model."""

    def __init__(self, embedder: Embedder, cache: EmbeddingCache) -> None:
        self._embedder = embedder
        self._cache = cache
        self._model = f"{embedder.name}#question"
        self._memory: dict[str, np.ndarray] = {}
        self._keys: dict[str, tuple[str, str]] = {}

    @property
    def name(self) -> str:
        """Which model the vectors come from."""
        return self._model

    def _keys_of(self, questions: Sequence[str]) -> list[tuple[str, str]]:
        """The text embedded for each question (without greetings and filler) and its hash;
        remembered, since reading a question costs more than looking it up."""
        keys = []
        for question in questions:
            key = self._keys.get(question)
            if key is None:
                if len(self._keys) > MAX_IN_MEMORY:
                    self._keys.clear()
                text = strip_pleasantries(question) or question
                key = self._keys[question] = (text, text_hash(text))
            keys.append(key)
        return keys

    async def vectors(self, questions: Sequence[str]) -> np.ndarray:
        """One L2-normalised row per question, in order.

        Reading the questions and stacking the rows run in a worker thread: for thousands of
        questions they would hold the event loop for tens of milliseconds."""
        keys = await asyncio.to_thread(self._keys_of, questions)
        texts = [text for text, _ in keys]
        hashes = [digest for _, digest in keys]
        missing = list(dict.fromkeys(h for h in hashes if h not in self._memory))
        if missing:
            if len(self._memory) + len(missing) > MAX_IN_MEMORY:
                self._memory.clear()
                missing = list(dict.fromkeys(hashes))
            self._memory.update(await self._cache.get_many(self._model, missing))
            text_of = dict(zip(hashes, texts, strict=True))
            unknown = [h for h in missing if h not in self._memory]
            for start in range(0, len(unknown), _BATCH):
                batch = unknown[start : start + _BATCH]
                embedded = await asyncio.to_thread(
                    self._embedder.embed_queries, [text_of[h] for h in batch]
                )
                fresh = {
                    h: np.asarray(v, dtype=np.float32) for h, v in zip(batch, embedded, strict=True)
                }
                await self._cache.put_many(self._model, fresh)
                self._memory.update(fresh)
        if not hashes:
            return np.zeros((0, self._embedder.dim), dtype=np.float32)
        rows = [self._memory[h] for h in hashes]
        return await asyncio.to_thread(_stacked, rows)


def _stacked(rows: list[np.ndarray]) -> np.ndarray:
    """The rows as one float32 matrix."""
    return np.stack(rows).astype(np.float32, copy=False)
