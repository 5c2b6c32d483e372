"""Deterministic test doubles for the knowledge tests."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from talkme_consultant.knowledge.embedders import l2_normalize
from talkme_consultant.knowledge.text import tokenize


class BagOfStemsEmbedder:
    """A tiny deterministic "meaning" model: hashed stems plus a synonym table.

    It knows synonyms BM25 cannot (so fusion tests can show the dense side finding what the
    keyword side misses) and counts every text it embeds (so cache tests can prove reuse).
    """

    name = "test/bag-of-stems"
    dim = 64

    def __init__(self, synonyms: dict[str, str] | None = None) -> None:
        self.synonyms = synonyms or {}
        self.passages_embedded = 0
        self.queries_embedded = 0
        self.queries: list[str] = []  # the texts queries were embedded from, in order

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float32)
        for stem in tokenize(text):
            stem = self.synonyms.get(stem, stem)
            slot = int(hashlib.md5(stem.encode()).hexdigest(), 16) % self.dim
            vector[slot] += 1.0
        vector[0] += 0.1  # no all-zero vectors
        return vector

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.queries_embedded += len(texts)
        self.queries.extend(texts)
        return l2_normalize(np.stack([self._vector(t) for t in texts]))

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.passages_embedded += len(texts)
        return l2_normalize(np.stack([self._vector(t) for t in texts]))


class ConceptEmbedder:
    """A "meaning" model with a small fixed vocabulary of concepts, like a real one that knows
    paraphrases but not rare codes: stems listed in `concepts` map to a concept axis, every other
    stem is invisible to it. So it finds synonyms BM25 misses and misses codes BM25 finds."""

    name = "test/concepts"

    def __init__(self, concepts: dict[str, str]) -> None:
        self.concepts = concepts
        self.axes = sorted(set(concepts.values()))
        self.dim = len(self.axes) + 1

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float32)
        vector[-1] = 0.3  # every text shares a little of one axis, as real embeddings do
        for stem in tokenize(text):
            concept = self.concepts.get(stem)
            if concept is not None:
                vector[self.axes.index(concept)] += 1.0
        return vector

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return l2_normalize(np.stack([self._vector(t) for t in texts]))

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return l2_normalize(np.stack([self._vector(t) for t in texts]))
