"""Run the real service over real HTTP in the test's event loop, with the simulator as TalkMe."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from talkme_consultant.config import SAMPLE_KNOWLEDGE_DIR, Settings
from talkme_consultant.helpers.serving import serve_app
from talkme_consultant.service.runtime import Runtime
from talkme_consultant.talkme.simulator import RunningSimulator
from talkme_consultant.talkme.visitor import Visitor, build_webhook_body, webhook_url
from talkme_consultant.web.app import create_app
from talkme_consultant.web.deps import web_state_of

ADMIN_TOKEN = "test-admin-token-24-chars-long"


def service_settings(data_dir: Path, sim: RunningSimulator | None, **overrides: Any) -> Settings:
    """Settings for a test service: the simulator as TalkMe, fast retries, no debounce."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "knowledge_dir": SAMPLE_KNOWLEDGE_DIR,
        "admin_token": ADMIN_TOKEN,
        "talkme_test_mode": sim is None,
        # Production mode refuses to start without a secret; tests that are about something
        # else open the webhook knowingly (pass webhook_secret=... to guard it).
        "webhook_secret": None if sim is None else "off",
        "talkme_api_url": sim.api_url if sim else "http://127.0.0.1:9/json/v1.0",
        "talkme_timeout_seconds": 2.0,
        "debounce_seconds": 0.0,
        "outbox_backoff_base_seconds": 0.05,
        "outbox_backoff_max_seconds": 0.2,
    }
    values.update(overrides)
    return Settings(**values)


def model_settings(base_url: str, **overrides: Any) -> dict[str, Any]:
    """Settings that point the consultant at a scripted OpenAI-compatible server."""
    return {
        "openai_api_key": "sk-test-not-a-real-key",
        "openai_base_url": base_url,
        "llm_model": "scripted-model",
        **overrides,
    }


@dataclass
class RunningService:
    """A service under test: its URL, app (for the runtime) and an HTTP client."""

    url: str
    app: FastAPI
    http: httpx.AsyncClient

    @property
    def runtime(self) -> Runtime:
        """The service's runtime (store, knowledge base, workers)."""
        return web_state_of(self.app).runtime

    async def post_message(
        self, visitor: Visitor, text: str, message_id: int, **kwargs: Any
    ) -> httpx.Response:
        """POST one webhook as TalkMe would."""
        return await self.http.post(
            webhook_url(self.url), json=build_webhook_body(visitor, text, message_id), **kwargs
        )

    async def admin_get(self, path: str, **kwargs: Any) -> Any:
        """GET an admin endpoint with the admin token and return its JSON."""
        response = await self.http.get(
            self.url + path, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, **kwargs
        )
        response.raise_for_status()
        return response.json()


@contextlib.asynccontextmanager
async def running_service(settings: Settings) -> AsyncIterator[RunningService]:
    """Start the app (lifespan included) on a free port for the duration of the block."""
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        serve_app(app, "127.0.0.1", 0, forwarded_allow_ips=settings.trusted_proxy_list) as url,
        httpx.AsyncClient(timeout=10) as http,
    ):
        yield RunningService(url=url, app=app, http=http)
