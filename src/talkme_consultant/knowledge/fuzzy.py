"""Typo tolerance for keyword search: map an unknown query stem to known stems one edit away.

Visitors type "пороль", "регистрацыи", "зарегестрировать". Their stems are not in the index, so
BM25 alone scores them zero. A deletion index (the SymSpell idea) finds vocabulary stems within
one insertion, deletion, substitution or transposition in O(len(word)) dictionary look-ups.
"""

from __future__ import annotations

from collections.abc import Iterable

# Short stems are left alone: one edit turns "кот" into "кит", which is not a typo worth fixing.
MIN_FUZZY_LENGTH = 5


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class FuzzyVocabulary:
    """Known stems and their one-deletion variants, for finding close matches of unknown stems."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self._vocabulary = frozenset(vocabulary)
        neighbours: dict[str, list[str]] = {}
        for word in self._vocabulary:
            if len(word) < MIN_FUZZY_LENGTH - 1 or word.isdigit():
                continue
            for variant in _deletes(word):
                neighbours.setdefault(variant, []).append(word)
        self._neighbours = neighbours

    def __contains__(self, word: object) -> bool:
        return word in self._vocabulary

    def close_matches(self, word: str) -> list[str]:
        """Vocabulary stems one edit away from `word` (empty for short words and numbers)."""
        if len(word) < MIN_FUZZY_LENGTH or word.isdigit():
            return []
        found: set[str] = set()
        # `word` with one letter deleted is a known stem: the visitor typed an extra letter.
        found.update(v for v in _deletes(word) if v in self._vocabulary)
        # A known stem with one letter deleted is `word`: the visitor missed a letter.
        found.update(self._neighbours.get(word, ()))
        # Both with one letter deleted agree: a wrong or swapped letter.
        for variant in _deletes(word):
            found.update(self._neighbours.get(variant, ()))
        found.discard(word)
        return sorted(found)
