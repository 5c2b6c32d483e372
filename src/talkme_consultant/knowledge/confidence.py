"""Calibrated confidence: how likely a hit answers the query, comparable across queries."""

from __future__ import annotations

import math
from dataclasses import dataclass

CONFIDENCE_THRESHOLD = 0.5


@dataclass(frozen=True)
class Features:
    """What the index knows about one hit when it scores it."""

    fused: float  # the fused ranking score
    # best cosine over the record's representations, moved by its question's own cosine
    # (`index.TITLE_WEIGHT`); 0 without embeddings
    dense: float
    dense_margin: float  # dense minus the best other record's dense (negative below the best)
    keyword: float  # BM25 score divided by the query's best BM25 score
    coverage: float  # share of the query's stems known to the index (typo matches count less)
    matched: float  # idf-weighted share of the query's stems found in this record
    margin: float  # fused score minus the best other hit's (negative below rank 1)
    # idf-weighted share of the question's thing-naming words the record never uses
    missing: float = 0.0


@dataclass(frozen=True)
class LogisticModel:
    """sigmoid(bias + Σ weight·feature)."""

    bias: float
    fused: float = 0.0
    dense: float = 0.0
    dense_margin: float = 0.0
    keyword: float = 0.0
    coverage: float = 0.0
    matched: float = 0.0
    margin: float = 0.0
    missing: float = 0.0

    def confidence(self, f: Features) -> float:
        """The probability-like confidence for one hit."""
        z = (
            self.bias
            + self.fused * f.fused
            + self.dense * f.dense
            + self.dense_margin * f.dense_margin
            + self.keyword * f.keyword
            + self.coverage * f.coverage
            + self.matched * f.matched
            + self.margin * f.margin
            + self.missing * f.missing
        )
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


# Fitted by bench/fit_confidence.py (run it to reproduce these numbers exactly; --check fails
# when they differ): L2-regularised logistic regression of "this hit holds the expected answer"
# on the first two hits of every question of five knowledge bases kept in the repository (an
# admissions FAQ, a platform support FAQ, the sample salon, a dental clinic and an electronics
# shop's support FAQ; 550 answerable questions), with negatives weighted twice (answering them
# costs more than handing a real question to a person): off-topic questions, the cases that
# expect a handoff, and questions on each business's own topic that its knowledge does not
# answer (unanswerable_fit.jsonl; 262 in all). Leave-one-base-out at 0.5, on the base left out:
# answered 0.53-0.93 of its questions and 0.90-1.00 of those right, answered 0.02-0.17 of the
# questions it has no answer for (all bases: 0.67 answered, 0.93 right, 0.07 of the others;
# before the FAQ question's own cosine (`TITLE_WEIGHT`): 0.69, 0.93, 0.06; before `missing` and
# the unanswerable questions: 0.75, 0.92, 0.10). Variants of `missing`
# (any word missing, every word missing, its product with the cosine) did not move these
# figures. `keyword` fits slightly negative: what it says, `matched` already says. Refit
# whenever fusion, representations or coverage change.
DENSE_MODEL = LogisticModel(
    bias=-28.146,
    dense=30.752,
    dense_margin=42.384,
    keyword=-0.164,
    matched=2.746,
    margin=1.211,
    missing=-0.895,
)
# The same fit for keyword-only indexes (no embedder), where the fused score is the keyword
# score: leave-one-base-out 0.54 answered, 0.81 right, 0.06 of the others answered.
KEYWORD_MODEL = LogisticModel(
    bias=-5.044, keyword=1.552, coverage=3.603, matched=0.282, margin=2.874, missing=-1.775
)
