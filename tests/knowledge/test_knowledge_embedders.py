"""Embedders: the bundled local model and an OpenAI-compatible endpoint over real HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from talkme_consultant.knowledge.embedders import (
    EmbedderError,
    LocalE5Embedder,
    OpenAIEmbedder,
    _E5Model,
)


def _vector(text: str) -> list[float]:
    """Deterministic 3-d vector from the text, not normalised (the client must normalise)."""
    return [float(len(text)), float(sum(map(ord, text)) % 97), 2.0]


class _Server:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.mode = "ok"
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                server.headers.append(dict(self.headers))
                if self.path != "/v1/embeddings":
                    self._send(404, {"error": "not found"})
                elif server.mode == "error":
                    self._send(500, {"error": {"message": "model overloaded"}})
                elif server.mode == "short":
                    self._send(200, {"data": [{"index": 0, "embedding": [1.0, 0.0, 0.0]}]})
                else:
                    # Reversed on purpose: clients must order by "index", not by position.
                    data = [
                        {"index": i, "embedding": _vector(t), "object": "embedding"}
                        for i, t in enumerate(body["input"])
                    ][::-1]
                    self._send(200, {"object": "list", "data": data, "model": body["model"]})

            def _send(self, status: int, payload: object) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[_Server]:
    running = _Server()
    yield running
    running.close()


def test_openai_embedder_batches_orders_and_normalises(server: _Server) -> None:
    embedder = OpenAIEmbedder(server.url, "text-embedding-3-small", "sk-secret", batch_size=2)
    texts = ["маникюр", "стрижка", "окрашивание волос", "педикюр", "массаж"]

    vectors = embedder.embed_passages(texts)

    assert vectors.shape == (5, 3)
    assert vectors.dtype == np.float32
    expected = np.asarray([_vector(t) for t in texts], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, expected, rtol=1e-6)
    assert [len(r["input"]) for r in server.requests] == [2, 2, 1]
    assert all(r["model"] == "text-embedding-3-small" for r in server.requests)
    assert server.headers[0]["Authorization"] == "Bearer sk-secret"
    assert embedder.dim == 3
    assert "text-embedding-3-small" in embedder.name
    assert "sk-secret" not in embedder.name
    embedder.close()


def test_openai_embedder_prefixes_queries(server: _Server) -> None:
    embedder = OpenAIEmbedder(
        server.url, "e5", None, query_prefix="query: ", passage_prefix="passage: "
    )
    embedder.embed_queries(["цена"])
    embedder.embed_passages(["прайс"])
    assert server.requests[0]["input"] == ["query: цена"]
    assert server.requests[1]["input"] == ["passage: прайс"]
    assert "Authorization" not in server.headers[0]


def test_openai_embedder_errors_are_clear_and_keep_the_key_secret(server: _Server) -> None:
    embedder = OpenAIEmbedder(server.url, "m", "sk-secret")
    server.mode = "error"
    with pytest.raises(EmbedderError, match="HTTP 500") as info:
        embedder.embed_queries(["x"])
    assert "sk-secret" not in str(info.value)
    server.mode = "short"
    with pytest.raises(EmbedderError, match="1 vectors for 2 inputs"):
        embedder.embed_passages(["a", "b"])
    wrong_path = OpenAIEmbedder(server.url + "/nope", "m", "sk-secret")
    with pytest.raises(EmbedderError, match="404"):
        wrong_path.embed_queries(["x"])


def test_openai_embedder_unreachable_and_timeout() -> None:
    closed = OpenAIEmbedder("http://127.0.0.1:9", "m", "k", timeout=1.0)
    with pytest.raises(EmbedderError, match="failed"):
        closed.embed_queries(["x"])

    silent = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            silent.wait(3)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        slow = OpenAIEmbedder(f"http://127.0.0.1:{httpd.server_address[1]}", "m", None, timeout=0.3)
        with pytest.raises(EmbedderError, match="timed out"):
            slow.embed_queries(["x"])
    finally:
        silent.set()
        httpd.shutdown()
        httpd.server_close()


def test_local_e5_is_lazy_shared_normalised_and_thread_safe() -> None:
    assert _E5Model()._model is None  # constructing the handle loads nothing
    embedder = LocalE5Embedder()
    assert LocalE5Embedder()._shared is embedder._shared  # one model per process

    queries = embedder.embed_queries(["сколько стоит маникюр", "где вы находитесь"])
    passages = embedder.embed_passages(["Маникюр стоит 1500 рублей.", "Адрес: Тверская, 7."])

    assert queries.shape == (2, 384) and passages.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(queries, axis=1), 1.0, rtol=1e-4)
    similarity = queries @ passages.T
    assert similarity[0, 0] > similarity[0, 1]
    assert similarity[1, 1] > similarity[1, 0]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda t: embedder.embed_queries([t]), ["маникюр"] * 4))
    for result in results:
        np.testing.assert_allclose(result, results[0], rtol=1e-5)
    assert embedder.embed_passages([]).shape == (0, 384)


def test_a_repeated_local_query_gets_the_vector_it_got_the_first_time() -> None:
    embedder = LocalE5Embedder()
    question = "до скольки вы работаете в субботу"
    batch = embedder.embed_queries([question, "есть ли парковка"])
    first = embedder.embed_queries([question])
    again = embedder.embed_queries([question])

    np.testing.assert_array_equal(first[0], batch[0])
    np.testing.assert_array_equal(again, first)
    with pytest.raises(ValueError):
        again[0][0] = 1.0  # a remembered vector cannot be changed by a caller
