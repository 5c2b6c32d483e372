"""The hybrid knowledge index: BM25 over Russian-aware stems plus e5 embeddings, fused.

An index is built once from a list of records and never changes afterwards; a running service
builds a new one and swaps the reference. Searching is synchronous CPU work (`search_vector`)
once the query is embedded; `search` embeds the query in a worker thread and calls it. The
keyword side is `keyword_side.KeywordSide`; the arithmetic of fusing both sides is in `fusion.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from talkme_consultant.knowledge.cache import EmbeddingCache, text_hash
from talkme_consultant.knowledge.confidence import (
    CONFIDENCE_THRESHOLD,
    DENSE_MODEL,
    KEYWORD_MODEL,
    Features,
)
from talkme_consultant.knowledge.coverage import Term, missing_terms, question_heads, thing_terms
from talkme_consultant.knowledge.embedders import Embedder
from talkme_consultant.knowledge.fusion import (
    KeywordMatch,
    Ranked,
    best_two_contents,
    dense_margin,
    distinct_top,
    fusion_candidates,
    group_starts,
    inverse_frequency,
    minmax,
)
from talkme_consultant.knowledge.keyword_side import KeywordSide
from talkme_consultant.knowledge.query import strip_pleasantries
from talkme_consultant.knowledge.records import Record
from talkme_consultant.knowledge.representations import (
    content_key,
    phrasing_texts,
    question_titles,
    representations,
)
from talkme_consultant.knowledge.search import Hit
from talkme_consultant.knowledge.text import tokenize

# Fusion is a weighted sum of both sides' scores, each min-max normalised over the candidates:
# dense + KEYWORD_WEIGHT × keyword. Measured on the eval sets (227 questions, see the room's
# report) it beat reciprocal-rank fusion at every k tried (R@1 0.86 vs 0.82), because RRF throws
# away how far ahead the winner of each side is; 0.2-0.25 was best, from the 0.1-0.5 tried.
KEYWORD_WEIGHT = 0.2
EMBED_BATCH = 64
# A taught phrasing counts only for near-identical questions: question-to-question cosines run
# higher than question-to-record ones, so a looser phrasing would outrank other records' text.
PHRASING_MIN_COSINE = 0.92
# A record titled by a question (`question_title`) is scored by its best cosine over its
# representations, moved by TITLE_WEIGHT / (1 + TITLE_WEIGHT) of how far its question alone
# leads it (question cosine minus best cosine), less the mean of that lead over all such records
# for the query: real visitors ask in an FAQ question's words more than in its answer's, and the
# centring keeps short questions, which read closer to any short message, from lifting every FAQ
# row above price rows and prose. R@1, the five fitted bases together 439 → 442 of 550 (salon
# equal, shop 0.705 → 0.722, support 0.909 → 0.864), RUTUBE's real users' questions 0.530 →
# 0.593. Without the centring salon answers fell 75 → 71 right. Centred, 0.3 / 0.6 / 0.8 / 1.0 /
# 1.5 read 441 / 443 / 442 / 444 / 442 on the fitted bases (bench/title_weight.py), within three
# questions of each other; 0.8 answered more of the shop's cases end to end than 1.0 (130 / 127)
# with RUTUBE's equal (168 / 39 against 169 / 39 right / wrong), and more of the salon's than 0.6.
TITLE_WEIGHT = 0.8


class KnowledgeIndex:
    """An immutable searchable snapshot of the knowledge base (implements `Retriever`)."""

    def __init__(
        self,
        records: Sequence[Record],
        embedder: Embedder | None,
        rep_vectors: np.ndarray | None,
        rep_owner: np.ndarray,
        phrasings: Mapping[str, Sequence[str]] | None = None,
        phrasing_vectors: np.ndarray | None = None,
        title_vectors: np.ndarray | None = None,
    ) -> None:
        """`phrasings` maps a record id to the owner's extra ways to ask for it;
        `phrasing_vectors` holds their embeddings in the order `phrasing_texts` gives, and
        `title_vectors` those of the records' questions in the order `question_titles` gives."""
        self._records: tuple[Record, ...] = tuple(records)
        self._ids = [r.record_id for r in self._records]
        # Records saying the same thing share a number, so a ranking shows each content once.
        keys: dict[str, int] = {}
        self._content = np.asarray(
            [keys.setdefault(content_key(r), len(keys)) for r in self._records], dtype=np.int64
        )
        self._embedder = embedder
        # Every representation's vector, grouped by record in record order: a record's cosine is
        # the maximum over its group (`np.maximum.reduceat` from each group's first row).
        self._vectors: np.ndarray | None = None
        self._rep_starts = np.zeros(0, dtype=np.int64)
        if rep_vectors is not None and len(self._records):
            self._vectors = np.ascontiguousarray(rep_vectors, np.float32)
            self._rep_starts = group_starts(rep_owner, len(self._records))
        # The records titled by a question, and their questions' vectors (`TITLE_WEIGHT`).
        self._titled = np.asarray([i for i, _ in question_titles(self._records)], dtype=np.int64)
        self._title_vectors: np.ndarray | None = None
        if self._vectors is not None and title_vectors is not None and len(self._titled):
            if len(title_vectors) != len(self._titled):
                raise ValueError(
                    f"{len(title_vectors)} question vectors for {len(self._titled)} questions"
                )
            self._title_vectors = np.ascontiguousarray(title_vectors, np.float32)
        taught = phrasings or {}
        # Extra phrasings are more representations of their record: each is scored on its own
        # and the record keeps its best cosine, as with its built-in ones.
        owners = [idx for _, idx in phrasing_texts(self._records, taught)]
        self._extra_owner = np.asarray(owners, dtype=np.int64)
        self._extra_vectors: np.ndarray | None = None
        if self._vectors is not None and phrasing_vectors is not None and len(owners):
            self._extra_vectors = np.ascontiguousarray(phrasing_vectors, np.float32)
        # With an embedder, taught words stay out of BM25: words like «сколько» or «можно» added
        # to one record lifted it for unrelated questions (a salon answer case was handed over).
        # Without one, the keyword side is the only place they can count.
        self._keyword = KeywordSide(self._records, taught if embedder is None else {})
        # What each record speaks of, its taught wordings included: a question's thing-naming
        # word outside this set is evidence that the record does not answer it.
        self._stems = [
            frozenset(
                tokenize(f"{r.title or ''} {r.text}")
                + [s for phrasing in taught.get(r.record_id, ()) for s in tokenize(phrasing)]
            )
            for r in self._records
        ]
        # The heads of each owner's answer's taught question and linked wordings, one list per
        # wording (`_about_something_else`); a question without a head is never about else.
        self._owner_heads = {
            i: [question_heads(w) for w in (r.title, *taught.get(r.record_id, ()))]
            for i, r in enumerate(self._records)
            if r.by_owner and r.title
        }
        self._stem_records: dict[str, int] = {}
        for record_stems in self._stems:
            for record_stem in record_stems:
                self._stem_records[record_stem] = self._stem_records.get(record_stem, 0) + 1

    @property
    def records(self) -> tuple[Record, ...]:
        """The indexed records, in ingestion order."""
        return self._records

    @property
    def embedder(self) -> Embedder | None:
        """The embedder queries are embedded with (None: keyword-only index)."""
        return self._embedder

    @property
    def embeds_queries(self) -> bool:
        """True when a search embeds its query (an embedder and vectors to compare with)."""
        return self._embedder is not None and self._vectors is not None

    def __len__(self) -> int:
        return len(self._records)

    def embed_query(self, query: str) -> np.ndarray | None:
        """Embed a query for `search_vector` (blocking; None for a keyword-only index)."""
        if self._embedder is None or self._vectors is None:
            return None
        vectors = self._embedder.embed_queries([strip_pleasantries(query)])
        return np.asarray(vectors[0], dtype=np.float32)

    async def search(self, query: str, k: int = 5) -> list[Hit]:
        """Embed the query and rank in a worker thread (the `Retriever` protocol): both are CPU
        work of milliseconds that would otherwise delay the webhooks sharing the event loop."""
        return await asyncio.to_thread(self.search_blocking, query, k)

    def search_blocking(self, query: str, k: int = 5) -> list[Hit]:
        """Embed the query (when the index has vectors) and search; blocking, CPU only."""
        return self.search_vector(query, self.embed_query(query), k)

    def keyword_scores(self, query: str) -> KeywordMatch:
        """The keyword side's scores of every record for `query` (`KeywordSide.scores`)."""
        return self._keyword.scores(query)

    def dense_scores(self, query_vector: np.ndarray) -> np.ndarray:
        """Per record, the best cosine over its representations, moved by its question's own
        cosine for a record titled by a question (`TITLE_WEIGHT`), or a taught phrasing's cosine
        when that is higher (`PHRASING_MIN_COSINE`).

        The move is centred on the query's mean over the question titles, so an index with one
        such record leaves it unmoved, and with a handful the mean is that of a few."""
        assert self._vectors is not None
        vector = query_vector.astype(np.float32)
        scores = self._vectors @ vector
        best: np.ndarray = np.maximum.reduceat(scores, self._rep_starts)
        if self._title_vectors is not None:
            own = best[self._titled]
            lead = self._title_vectors @ vector - own
            best[self._titled] = own + TITLE_WEIGHT / (1 + TITLE_WEIGHT) * (lead - lead.mean())
        if self._extra_vectors is not None:
            taught = self._extra_vectors @ vector
            taught[taught < PHRASING_MIN_COSINE] = -1.0
            np.maximum.at(best, self._extra_owner, taught)
        return best

    def rank(self, query: str, query_vector: np.ndarray | None, k: int) -> list[Ranked]:
        """The top `k` records with their fused scores and confidence features (no `Hit`s)."""
        if not self._records or k <= 0:
            return []
        return self._rank(self._scores(query, query_vector), k)

    def _scores(self, query: str, query_vector: np.ndarray | None) -> _Scores:
        """Both sides' scores of every record for one query, ready to rank (more than once)."""
        query = strip_pleasantries(query)
        dense = None
        if query_vector is not None and self._vectors is not None:
            dense = self.dense_scores(query_vector)
        return _Scores(self.keyword_scores(query), dense, thing_terms(query))

    def _rank(self, scores: _Scores, k: int, *, without: int | None = None) -> list[Ranked]:
        """`rank` from scores already computed; `without` is a record position left out, as if
        it were not in the index."""
        match, dense, terms = scores.keyword, scores.dense, scores.terms
        keyword = match.scores
        candidates = fusion_candidates(keyword, dense)
        if without is not None:
            candidates = candidates[candidates != without]
            if not len(candidates):
                return []
        keyword_norm = minmax(keyword[candidates])
        if dense is None:
            fused = keyword_norm
        else:
            fused = minmax(dense[candidates]) + KEYWORD_WEIGHT * keyword_norm
        # At least two, so the top hit's margin (and so its confidence) does not depend on k.
        order = distinct_top(fused, self._content[candidates], max(k, 2))
        dense_sorted = (
            best_two_contents(dense[candidates], self._content[candidates])
            if dense is not None
            else None
        )
        ranked: list[Ranked] = []
        for position in order:
            idx = int(candidates[position])
            missing = missing_terms(terms, self._stems[idx], self._keyword.fuzzy.close_matches)
            best_other = (
                fused[order[1]] if position == order[0] and len(order) > 1 else fused[order[0]]
            )
            features = Features(
                fused=float(fused[position]),
                dense=float(dense[idx]) if dense is not None else 0.0,
                dense_margin=dense_margin(float(dense[idx]), dense_sorted)
                if dense is not None and dense_sorted is not None
                else 0.0,
                keyword=float(keyword_norm[position]),
                coverage=match.coverage,
                matched=float(match.matched[idx]),
                margin=float(fused[position] - best_other) if len(order) > 1 else 1.0,
                missing=self._missing_share(terms, missing),
            )
            ranked.append(
                Ranked(idx, float(fused[position]), features, tuple(t.word for t in missing))
            )
        return ranked[:k]

    def _missing_share(self, terms: list[Term], missing: list[Term]) -> float:
        """The idf-weighted share of the question's thing-naming words a record does not speak
        of: a word no record uses weighs most, one every record uses almost nothing."""
        if not missing:
            return 0.0
        n = len(self._records)
        weight = {t.stem: inverse_frequency(self._stem_records.get(t.stem, 0), n) for t in terms}
        total = sum(weight.values())
        return sum(weight[t.stem] for t in missing) / total if total else 0.0

    def search_vector(self, query: str, query_vector: np.ndarray | None, k: int = 5) -> list[Hit]:
        """Search with an already embedded query (None: keyword side only). CPU only."""
        model = (
            DENSE_MODEL if query_vector is not None and self._vectors is not None else KEYWORD_MODEL
        )
        if not self._records or k <= 0:
            return []
        scores = self._scores(query, query_vector)
        ranked = self._rank(scores, k)
        if ranked and self._about_something_else(query, ranked[0].index):
            without = self._rank(scores, k, without=ranked[0].index)
            if (
                without
                and not self._records[without[0].index].by_owner
                and not without[0].missing
                and model.confidence(without[0].features) >= CONFIDENCE_THRESHOLD
            ):
                ranked = without
        return [
            Hit(
                record_id=self._ids[r.index],
                record=self._records[r.index],
                score=r.score,
                confidence=model.confidence(r.features),
                missing=list(r.missing),
            )
            for r in ranked
        ]

    def _about_something_else(self, query: str, index: int) -> bool:
        """Whether the record is an owner's answer whose taught question, and each wording the
        owner linked to it, is about a thing the query does not speak of: «снятие» of «Сколько
        стоит снятие брекетов?» for «брекеты сколько стоят».

        Such an answer first is searched again without it, and a files' record is served when
        it answers at the default threshold (`CONFIDENCE_THRESHOLD`) and speaks of everything
        asked (the braces' row): teaching one question must not take away an answer the files
        gave to another. A business whose own threshold is higher then hands the question over,
        as it did before the lesson. When nothing answers that way, the owner's answer stays
        first, as a paraphrase of the taught question may name its subject in other words
        («раздевалка» for «гардероб»).
        """
        heads = self._owner_heads.get(index)
        if heads is None:
            return False
        stems = frozenset(tokenize(query))
        return all(missing_terms(wording, stems) for wording in heads)


@dataclass(frozen=True)
class _Scores:
    """One query's scores over the index: the keyword side, the meaning side (None without
    vectors) and the question's thing-naming words."""

    keyword: KeywordMatch
    dense: np.ndarray | None
    terms: list[Term]


async def embed_representations(
    texts: Sequence[str],
    embedder: Embedder,
    cache: EmbeddingCache,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Embed passages through the cache: only texts whose hash is not cached reach the model."""
    hashes = [text_hash(t) for t in texts]
    unique = list(dict.fromkeys(hashes))
    cached = await cache.get_many(embedder.name, unique)
    missing = [h for h in unique if h not in cached]
    text_of = dict(zip(hashes, texts, strict=True))
    total = len(unique)
    done = total - len(missing)
    if progress:
        progress(done, total)
    for start in range(0, len(missing), EMBED_BATCH):
        batch = missing[start : start + EMBED_BATCH]
        vectors = await asyncio.to_thread(embedder.embed_passages, [text_of[h] for h in batch])
        fresh = {h: np.asarray(v, dtype=np.float32) for h, v in zip(batch, vectors, strict=True)}
        await cache.put_many(embedder.name, fresh)
        cached.update(fresh)
        done += len(batch)
        if progress:
            progress(done, total)
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return np.stack([cached[h] for h in hashes]).astype(np.float32, copy=False)


async def build_index(
    records: Sequence[Record],
    embedder: Embedder | None,
    cache: EmbeddingCache,
    progress: Callable[[int, int], None] | None = None,
    phrasings: Mapping[str, Sequence[str]] | None = None,
) -> KnowledgeIndex:
    """Build an index over `records`; `embedder=None` builds a keyword-only index.

    `phrasings` (record id → the owner's extra ways to ask) add representations to their
    records. `progress(done, total)` is called as representations get embedded (cached ones
    count as done at once). The BM25 side is built in a worker thread so the event loop stays
    responsive.
    """
    rep_vectors: np.ndarray | None = None
    extra_vectors: np.ndarray | None = None
    title_vectors: np.ndarray | None = None
    owners: list[int] = []
    if embedder is not None:
        texts: list[str] = []
        for idx, record in enumerate(records):
            for rep in representations(record):
                texts.append(rep.text)
                owners.append(idx)
        extra = [text for text, _ in phrasing_texts(records, phrasings or {})]
        titles = [title for _, title in question_titles(records)]
        vectors = await embed_representations(texts + extra + titles, embedder, cache, progress)
        rep_vectors = vectors[: len(texts)]
        extra_vectors = vectors[len(texts) : len(texts) + len(extra)]
        title_vectors = vectors[len(texts) + len(extra) :]
    owner_array = np.asarray(owners, dtype=np.int64)
    return await asyncio.to_thread(
        KnowledgeIndex,
        records,
        embedder,
        rep_vectors,
        owner_array,
        phrasings,
        extra_vectors,
        title_vectors,
    )
