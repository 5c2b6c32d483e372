"""The arithmetic of the index's ranking: BM25's inverse frequency and the keyword side's view
of a query (`KeywordMatch`), which records enter the fused top, how each side is normalised over
them, one record per content, the cosine margin, the rows of each record's representations, and
what one query's ranking hands to confidence (`Ranked`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkme_consultant.knowledge.confidence import Features

# Candidates per side that enter fusion; the rest cannot reach the top 10 in practice.
CANDIDATES = 50


@dataclass(frozen=True)
class KeywordMatch:
    """The keyword side's view of one query.

    `matched[i]` is the idf-weighted share of the query's stems found in record i: low when the
    record shares only a common word ("Москва") with a question about something else entirely.
    `coverage` is the share of the query's stems the index knows at all.
    """

    scores: np.ndarray
    matched: np.ndarray
    coverage: float


def inverse_frequency(document_frequency: int, documents: int) -> float:
    """BM25's inverse document frequency of a stem found in `document_frequency` records."""
    return float(np.log(1.0 + (documents - document_frequency + 0.5) / (document_frequency + 0.5)))


@dataclass(frozen=True)
class Ranked:
    """A ranked record position with its fused score and the features its confidence uses."""

    index: int
    score: float
    features: Features
    missing: tuple[str, ...] = ()  # the question's thing-naming words the record never uses


def fusion_candidates(keyword: np.ndarray, dense: np.ndarray | None) -> np.ndarray:
    """Records that may enter the fused top: the best `CANDIDATES` of each side.

    Normalising over these rather than the whole collection keeps the scale the same for a
    15-row FAQ and a 100k-row catalogue, where the global minimum is a meaningless outlier.
    """
    parts = [top_indices(keyword, CANDIDATES)]
    if dense is not None:
        parts.append(top_indices(dense, CANDIDATES))
    return np.unique(np.concatenate(parts))


def top_indices(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the `n` highest scores, in no order."""
    if len(scores) <= n:
        return np.arange(len(scores))
    return np.argpartition(-scores, n - 1)[:n]


def minmax(values: np.ndarray) -> np.ndarray:
    """The values scaled to 0–1; all zeros when they are all equal."""
    low = float(values.min())
    span = float(values.max()) - low
    if span <= 0:
        return np.zeros_like(values, dtype=np.float32)
    return ((values - low) / span).astype(np.float32)


def dense_margin(value: float, dense_sorted: np.ndarray) -> float:
    """Cosine minus the best other record's cosine (positive only for the dense winner)."""
    if len(dense_sorted) < 2:
        return 0.0
    best = float(dense_sorted[0])
    return value - float(dense_sorted[1]) if value >= best else value - best


def group_starts(owner: np.ndarray, groups: int) -> np.ndarray:
    """The first row of each owner's group in a sorted owner array (every owner has a row)."""
    starts: np.ndarray = np.searchsorted(owner, np.arange(groups), side="left").astype(np.int64)
    return starts


def top(scores: np.ndarray, k: int) -> list[int]:
    """Positions of the best `k` scores, best first (ties in position order)."""
    k = min(k, len(scores))
    candidates = top_indices(scores, k)
    return [int(i) for i in candidates[np.argsort(-scores[candidates], kind="stable")]]


def distinct_top(fused: np.ndarray, content: np.ndarray, k: int) -> list[int]:
    """Positions of the best `k` candidates by fused score, one per content (the best);
    `content[i]` numbers what candidate i says, equal for records saying the same thing."""
    if len(np.unique(content)) == len(content):
        return top(fused, k)
    seen: set[int] = set()
    order: list[int] = []
    for position in np.argsort(-fused, kind="stable"):
        said = int(content[position])
        if said in seen:
            continue
        seen.add(said)
        order.append(int(position))
        if len(order) == k:
            break
    return order


def best_two_contents(scores: np.ndarray, content: np.ndarray) -> np.ndarray:
    """The two best of the candidates' cosines, counting each content once.

    A twin of the dense winner would otherwise be its closest rival and erase its margin.
    """
    order = np.argsort(-scores, kind="stable")
    best = int(content[order[0]]) if len(order) else -1
    for position in order[1:]:
        if int(content[position]) != best:
            return np.asarray([scores[order[0]], scores[position]], dtype=np.float32)
    alone: np.ndarray = scores[order[:1]]
    return alone
