"""The keyword side of the index: BM25 over Russian-aware stems, with typo matches.

Each record is one or more keyword documents (`representations.keyword_documents`: its title
weighted up, long prose in sections); a record scores its best document. A query stem the
knowledge never uses is replaced by its one-edit neighbours at `FUZZY_WEIGHT`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from talkme_consultant.knowledge.fusion import KeywordMatch, inverse_frequency
from talkme_consultant.knowledge.fuzzy import FuzzyVocabulary
from talkme_consultant.knowledge.records import Record
from talkme_consultant.knowledge.representations import keyword_documents
from talkme_consultant.knowledge.text import tokenize

# A query stem matched only through a typo correction counts this much of an exact match.
FUZZY_WEIGHT = 0.6


class KeywordSide:
    """BM25 over the records' keyword documents, built once and never changed."""

    def __init__(self, records: Sequence[Record], spoken: Mapping[str, Sequence[str]]) -> None:
        """`spoken` maps a record id to taught wordings whose words count for it here too."""
        import bm25s

        self._count = len(records)
        self._bm25 = bm25s.BM25()
        self._vocab: dict[str, int] = {}
        self._doc_starts = np.zeros(0, dtype=np.int64)
        # Records with one document each (no prose sections) need no reduction.
        self._single_docs = True
        if records:
            documents = [keyword_documents(r, spoken.get(r.record_id, ())) for r in records]
            self._doc_starts = np.cumsum([0] + [len(d) for d in documents[:-1]], dtype=np.int64)
            self._bm25.index([doc for docs in documents for doc in docs], show_progress=False)
            self._vocab = dict(self._bm25.vocab_dict)
            self._single_docs = sum(len(d) for d in documents) == len(records)
        self.fuzzy = FuzzyVocabulary(t for t in self._vocab if t)

    def scores(self, query: str) -> KeywordMatch:
        """BM25 score per record, plus how much of the query each record and the index cover.

        Stems unknown to the index are replaced by their one-edit neighbours at reduced weight.
        """
        n = self._count
        scores = np.zeros(n, dtype=np.float32)
        matched = np.zeros(n, dtype=np.float32)
        stems = list(dict.fromkeys(tokenize(query)))
        if not stems or not n:
            return KeywordMatch(scores, matched, 0.0)
        known = 0.0
        idf_total = 0.0
        for stem in stems:
            token_id = self._vocab.get(stem)
            if token_id is not None:
                ids, weight = [token_id], 1.0
            else:
                ids = [self._vocab[m] for m in self.fuzzy.close_matches(stem)]
                weight = FUZZY_WEIGHT
            if not ids:
                # a word the knowledge base never uses weighs most
                idf_total += inverse_frequency(0, n)
                continue
            known += weight
            stem_scores = self._per_record(self._bm25.get_scores_from_ids(ids) / len(ids))
            present = stem_scores > 0
            idf = inverse_frequency(int(present.sum()), n)
            idf_total += idf
            scores += weight * stem_scores
            matched += (weight * idf) * present
        return KeywordMatch(scores, matched / idf_total, known / len(stems))

    def _per_record(self, doc_scores: np.ndarray) -> np.ndarray:
        """Keyword scores per BM25 document reduced to each record's best."""
        if self._single_docs:
            return doc_scores
        best: np.ndarray = np.maximum.reduceat(doc_scores, self._doc_starts)
        return best
