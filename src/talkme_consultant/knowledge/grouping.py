"""Near-duplicate questions grouped together: by meaning with an embedder, by words without one.

Both ways are "leader" grouping in the order given: a question joins the most similar earlier
group leader when it is close enough, or leads a group of its own. So a group's leader is its
first question, and questions added later never move earlier ones between groups.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from talkme_consultant.knowledge.query import strip_pleasantries
from talkme_consultant.knowledge.text import tokenize

# Cosine of e5 query vectors at which two questions count as the same question. Measured on
# salon-style pairs: paraphrases ("Можно ли прийти с собакой?" / "а с собакой к вам можно?")
# score 0.91-0.96, different questions on one topic ("сколько стоит стрижка" / "… окрашивание")
# 0.89, unrelated ones 0.76-0.85.
SAME_QUESTION_COSINE = 0.9
# Without an embedder: the share of stems two questions must share (Jaccard).
SAME_QUESTION_WORDS = 0.5
_BLOCK = 512


def group_by_vectors(vectors: np.ndarray, threshold: float = SAME_QUESTION_COSINE) -> list[int]:
    """For each row of L2-normalised `vectors`, the row index of its group's leader."""
    n = len(vectors)
    leader_of = [0] * n
    if not n:
        return leader_of
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    leaders = np.zeros_like(matrix)
    leader_rows: list[int] = []
    for start in range(0, n, _BLOCK):
        block = matrix[start : start + _BLOCK]
        earlier = len(leader_rows)
        if earlier:
            sims = block @ leaders[:earlier].T
            best = sims.argmax(axis=1)
            best_sim = sims[np.arange(len(block)), best]
        else:
            best = np.zeros(len(block), dtype=np.int64)
            best_sim = np.full(len(block), -np.inf, dtype=np.float32)
        inner = block @ block.T
        fresh: list[int] = []  # block positions that became leaders in this block
        for i in range(len(block)):
            choice, score = int(best[i]), float(best_sim[i])
            if fresh:
                local = inner[i, fresh]
                j = int(local.argmax())
                if float(local[j]) > score:
                    choice, score = earlier + j, float(local[j])
            if score >= threshold:
                leader_of[start + i] = leader_rows[choice]
                continue
            leader_of[start + i] = start + i
            leaders[len(leader_rows)] = block[i]
            leader_rows.append(start + i)
            fresh.append(i)
    return leader_of


def question_stems(text: str) -> frozenset[str]:
    """The stems a question is compared by when there is no embedder."""
    return frozenset(tokenize(strip_pleasantries(text)))


def group_by_words(texts: Sequence[str], threshold: float = SAME_QUESTION_WORDS) -> list[int]:
    """For each text, the index of its group's leader, by shared stems (no embedder)."""
    leader_of: list[int] = []
    leader_stems: dict[int, frozenset[str]] = {}
    by_stem: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        stems = question_stems(text)
        best, best_score = i, 0.0
        candidates = {leader for stem in stems for leader in by_stem.get(stem, ())}
        for leader in sorted(candidates):
            other = leader_stems[leader]
            score = len(stems & other) / len(stems | other)
            if score > best_score:
                best, best_score = leader, score
        if stems and best_score >= threshold:
            leader_of.append(best)
            continue
        leader_of.append(i)
        leader_stems[i] = stems
        for stem in stems:
            by_stem.setdefault(stem, []).append(i)
    return leader_of
