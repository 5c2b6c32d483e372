"""Near-duplicate questions grouped together: by meaning with an embedder, by words without one.

Both ways are "leader" grouping in the order given: a question joins an earlier group leader
it is close enough to, or leads a group of its own. So a group's leader is its first question,
and questions added later never move earlier ones between groups. The leaders of groups formed
before (`known`) may be given: new questions join them as they would join an earlier leader,
which is how questions are grouped as they come without grouping the old ones again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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
# Without an embedder, `pause` is called after this many questions.
_PAUSE_EVERY = 64


def _no_pause() -> None:
    """Go on at once."""


def group_by_vectors(
    vectors: np.ndarray,
    threshold: float = SAME_QUESTION_COSINE,
    known: np.ndarray | None = None,
    pause: Callable[[], None] = _no_pause,
) -> list[int]:
    """For each row of L2-normalised `vectors`, the index of its group's leader.

    Indices count the `known` leaders (L2-normalised rows too) first: below `len(known)` a row
    joined one of them, `len(known) + i` is row `i` of `vectors`. Rows are taken in blocks: a row
    close enough to an earlier leader (known, or of an earlier block) joins the most similar
    one; the rest of the block is grouped among itself, each new leader taking every free row
    close to it. Both steps are matrix products, so 5,000 questions take milliseconds.
    `pause` is called after each block (a caller in a worker thread lets other threads run).
    """
    n = len(vectors)
    first = 0 if known is None else len(known)
    leader_of = np.arange(first, first + n, dtype=np.int64)
    if not n:
        return []
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    leaders = np.zeros((first + n, matrix.shape[1]), dtype=np.float32)
    if known is not None:
        leaders[:first] = known
    leader_rows: list[int] = list(range(first))
    for start in range(0, n, _BLOCK):
        if start:
            pause()
        block = matrix[start : start + _BLOCK]
        pending = np.arange(len(block))
        if leader_rows:
            sims = block @ leaders[: len(leader_rows)].T
            best = sims.argmax(axis=1)
            close = sims[np.arange(len(block)), best] >= threshold
            rows = np.asarray(leader_rows, dtype=np.int64)
            leader_of[start + pending[close]] = rows[best[close]]
            pending = pending[~close]
        if not len(pending):
            continue
        inner = block[pending] @ block[pending].T
        free = np.ones(len(pending), dtype=bool)
        for j in range(len(pending)):
            if not free[j]:
                continue
            members = free & (inner[j] >= threshold)
            members[j] = True
            free &= ~members
            row = first + start + int(pending[j])
            leader_of[start + pending[members]] = row
            leaders[len(leader_rows)] = block[pending[j]]
            leader_rows.append(row)
    return [int(x) for x in leader_of]


def question_stems(text: str) -> frozenset[str]:
    """The stems a question is compared by when there is no embedder."""
    return frozenset(tokenize(strip_pleasantries(text)))


def stem_overlap(first: frozenset[str], second: frozenset[str]) -> float:
    """How alike two questions' stems are (Jaccard): `SAME_QUESTION_WORDS` or more is the same
    question."""
    union = first | second
    return len(first & second) / len(union) if union else 0.0


def group_by_words(
    texts: Sequence[str],
    threshold: float = SAME_QUESTION_WORDS,
    stems_cache: dict[str, frozenset[str]] | None = None,
    known: Sequence[str] = (),
    pause: Callable[[], None] = _no_pause,
) -> list[int]:
    """For each text, the index of its group's leader, by shared stems (no embedder).

    Indices count the `known` leaders' texts first, as in `group_by_vectors`. Stemming is most
    of the cost, so each distinct text is stemmed once; `stems_cache` keeps the stems between
    calls. `pause` is called every few dozen texts, as in `group_by_vectors`."""
    cache = stems_cache if stems_cache is not None else {}

    def stems_of(text: str) -> frozenset[str]:
        stems = cache.get(text)
        if stems is None:
            stems = cache[text] = question_stems(text)
        return stems

    leader_of: list[int] = []
    leader_stems: dict[int, frozenset[str]] = {}
    by_stem: dict[str, list[int]] = {}
    for leader, text in enumerate(known):
        leader_stems[leader] = stems_of(text)
        for stem in leader_stems[leader]:
            by_stem.setdefault(stem, []).append(leader)
    for i, text in enumerate(texts, start=len(known)):
        if i % _PAUSE_EVERY == 0:
            pause()
        stems = stems_of(text)
        best, best_score = i, 0.0
        candidates = {leader for stem in stems for leader in by_stem.get(stem, ())}
        for leader in sorted(candidates):
            score = stem_overlap(stems, leader_stems[leader])
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
