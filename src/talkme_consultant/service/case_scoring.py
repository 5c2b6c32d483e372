"""The business's case file: its questions scored against the served index, and the answer
threshold calibrated on them.

The case questions' vectors are kept like visitors' questions (`QuestionVectors`: memory, then the
store's cache), so scoring after a rebuild or a restart embeds only questions that are new.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from talkme_consultant.knowledge.calibration import Calibration, calibrate
from talkme_consultant.knowledge.evaluation import Case, CaseFileError, evaluate, load_cases
from talkme_consultant.knowledge.index import KnowledgeIndex
from talkme_consultant.knowledge.query import strip_pleasantries
from talkme_consultant.knowledge.search import Hit
from talkme_consultant.service.clock import now
from talkme_consultant.service.question_vectors import QuestionVectors
from talkme_consultant.store.knowledge import KnowledgeRepository

CASES_FILENAME = "cases.jsonl"
DEFAULT_PRECISION_TARGET = 0.9


class CaseScoring:
    """Scores `cases.jsonl` after every rebuild and keeps the calibrated answer threshold."""

    def __init__(
        self,
        repository: KnowledgeRepository,
        vectors: QuestionVectors | None,
        *,
        default_threshold: float,
        precision_target: float = DEFAULT_PRECISION_TARGET,
    ) -> None:
        self._repository = repository
        self._vectors = vectors
        self._default_threshold = default_threshold
        self._precision_target = precision_target
        self.evaluation: dict[str, Any] | None = None
        self.calibration = Calibration(
            threshold=default_threshold, source="default", target=precision_target
        )

    def _default(self) -> Calibration:
        return calibrate([], target=self._precision_target, default=self._default_threshold)

    async def score(self, index: KnowledgeIndex, version: int) -> None:
        """Score the case file stored with `version` against `index` (no case file: the
        conservative default threshold) and store the report for every process to show."""
        stored = await self._repository.get_file(CASES_FILENAME)
        if stored is None:
            self.evaluation = None
            self.calibration = self._default()
            return
        try:
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / CASES_FILENAME
                path.write_bytes(stored.content)
                cases = load_cases(path)
            report = await evaluate(await self._prepared(index, cases), cases)
        except CaseFileError as error:
            self.evaluation = {"error": str(error), "at": now()}
            self.calibration = self._default()
        else:
            self.calibration = calibrate(
                report.first_hits, target=self._precision_target, default=self._default_threshold
            )
            self.evaluation = {
                "cases": report.total,
                "recall_at_1": round(report.recall_at_1, 4),
                "recall_at_5": round(report.recall_at_5, 4),
                "mrr_at_10": round(report.mrr_at_10, 4),
                "misses": [asdict(m) for m in report.misses[:50]],
                "version": version,
                "at": now(),
            }
        await self._repository.set_evaluation(self.evaluation)

    async def _prepared(self, index: KnowledgeIndex, cases: list[Case]) -> _PreparedSearch:
        """The index with the case questions' vectors looked up (or embedded) in one batch."""
        vectors: dict[str, np.ndarray] = {}
        if self._vectors is not None and index.embeds_queries:
            # A question of greetings alone is embedded by the index as it would be for a
            # visitor (it embeds the stripped text), so only the others come from the cache.
            questions = [c.question for c in cases if strip_pleasantries(c.question)]
            found = await self._vectors.vectors(questions)
            vectors = dict(zip(questions, found, strict=True))
        return _PreparedSearch(index, vectors)


class _PreparedSearch:
    """A `Retriever` over one index whose query vectors are already at hand."""

    def __init__(self, index: KnowledgeIndex, vectors: dict[str, np.ndarray]) -> None:
        self._index = index
        self._vectors = vectors

    async def search(self, query: str, k: int = 5) -> list[Hit]:
        """Search with the prepared vector, or embed the query as the index would."""
        vector = self._vectors.get(query)
        if vector is None:
            return await self._index.search(query, k)
        return self._index.search_vector(query, vector, k)
