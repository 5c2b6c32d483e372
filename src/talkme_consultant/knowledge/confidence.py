"""Calibrated confidence: how likely a hit answers the query, comparable across queries."""

from __future__ import annotations

import math
from dataclasses import dataclass

CONFIDENCE_THRESHOLD = 0.5


@dataclass(frozen=True)
class Features:
    """What the index knows about one hit when it scores it."""

    fused: float  # the fused ranking score
    dense: float  # mean cosine over the record's representations (0 without embeddings)
    dense_margin: float  # dense minus the best other record's dense (negative below the best)
    dense_spread: float  # dense minus the mean dense of the best ten candidates
    keyword: float  # BM25 score divided by the query's best BM25 score
    coverage: float  # share of the query's stems known to the index (typo matches count less)
    margin: float  # fused score minus the best other hit's (negative below rank 1)


@dataclass(frozen=True)
class LogisticModel:
    """sigmoid(bias + Σ weight·feature)."""

    bias: float
    fused: float = 0.0
    dense: float = 0.0
    dense_margin: float = 0.0
    dense_spread: float = 0.0
    keyword: float = 0.0
    coverage: float = 0.0
    margin: float = 0.0

    def confidence(self, f: Features) -> float:
        """The probability-like confidence for one hit."""
        z = (
            self.bias
            + self.fused * f.fused
            + self.dense * f.dense
            + self.dense_margin * f.dense_margin
            + self.dense_spread * f.dense_spread
            + self.keyword * f.keyword
            + self.coverage * f.coverage
            + self.margin * f.margin
        )
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


# Fitted by L2-regularised (λ=1 on standardised features) logistic regression of "the top hit
# contains the expected answer" on the top and second hits of every case in faq_school.csv
# (59 paraphrases), tests/knowledge/data/faq_school_messy.jsonl (31), support_messy.jsonl (44),
# plus the 30 off-topic queries of off_topic.txt asked against each knowledge base as negatives.
# Leave-one-set-out refits kept ≥ 0.97 of correct top hits at ≥ 0.5 and put ≥ 0.83 of the
# off-topic queries below 0.5. Refit when the fusion or the representations change.
DENSE_MODEL = LogisticModel(
    bias=-47.425,
    fused=4.202,
    dense=46.688,
    dense_margin=16.87,
    dense_spread=4.233,
    keyword=0.86,
    coverage=1.032,
    margin=2.052,
)
# The same fit for keyword-only indexes (no embedder): the fused score is the keyword score.
KEYWORD_MODEL = LogisticModel(bias=-5.752, keyword=2.54, coverage=4.041, margin=2.953)
