"""The FastAPI application factory; everything long-lived is built in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from talkme_consultant import __version__
from talkme_consultant.config import Settings
from talkme_consultant.helpers.collector import freeze_startup_objects
from talkme_consultant.service.runtime import ProcessRole, Runtime
from talkme_consultant.web import admin_api, monitoring, questions_api, webhook, webhook_schema
from talkme_consultant.web.auth import resolve_admin_token
from talkme_consultant.web.body_gate import BodyGate
from talkme_consultant.web.console.routes import install_console
from talkme_consultant.web.console.state import build_console_state, signing_secret
from talkme_consultant.web.deps import WebState
from talkme_consultant.web.early_answers import CloseAfterEarlyAnswer
from talkme_consultant.web.parameters import refuse_unstorable_parameters
from talkme_consultant.web.schemas import INVALID_REQUEST
from talkme_consultant.web.webhook_access import announce_webhook_access, require_webhook_secret


def create_app(
    settings: Settings | None = None,
    *,
    role: ProcessRole = "all",
    migrate: bool = True,
    freeze_startup: bool = False,
) -> FastAPI:
    """Build the app; the runtime (store, knowledge base, workers) starts with the lifespan.

    `role="web"` serves HTTP only (turns and the outbox run in `worker` processes); `migrate`
    False leaves the schema to `talkme-consultant db upgrade`; `freeze_startup`, for the app
    that is its process's whole life (`serve`), keeps what start-up built out of the garbage
    collector's later passes (see `helpers/collector.py`).

    Raises `WebhookSecretMissing` for production settings without WEBHOOK_SECRET.
    """
    settings = settings or Settings()
    require_webhook_secret(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The token first: a bad one stops the start before anything is opened.
        admin_token = resolve_admin_token(
            settings.admin_token.get_secret_value() if settings.admin_token else None,
            settings.data_dir,
        )
        runtime = await Runtime.open(settings, migrate=migrate)
        try:
            secret = await signing_secret(runtime.store, settings.data_dir)
            # Routes reach these only through the dependencies of web/deps.py.
            app.state.web = WebState(
                runtime=runtime,
                admin_token=admin_token,
                console=build_console_state(admin_token, secret),
            )
            announce_webhook_access(settings)
            await runtime.start_background(role)
            if freeze_startup:
                freeze_startup_objects()
            yield
        finally:
            await runtime.close()

    app = FastAPI(
        title="talkme-consultant",
        version=__version__,
        description="AI consultant for the TalkMe online chat.",
        lifespan=lifespan,
        dependencies=[Depends(refuse_unstorable_parameters)],
        # Any route can answer 422 (see `validation_error` below), in the app's own shape.
        responses={422: INVALID_REQUEST},
    )
    # Credentials and size are checked before a body is read (web/body_gate.py), and a body
    # refused is never read to its end (web/early_answers.py): the gate is added first, so it
    # runs inside the closer.
    app.add_middleware(BodyGate, max_request_bytes=settings.max_request_bytes)
    app.add_middleware(CloseAfterEarlyAnswer)
    app.include_router(webhook.router)
    app.include_router(monitoring.router)
    app.include_router(monitoring.metrics_router)
    app.include_router(admin_api.router)
    app.include_router(questions_api.router)
    install_console(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            # The webhook reads its body itself, so FastAPI does not see its model.
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(webhook_schema.request_schemas())
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            status_code=error.status_code,
            content={"success": False, "error": error.detail},
            headers=getattr(error, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        fields = [
            {"field": ".".join(str(p) for p in item["loc"]), "message": item["msg"]}
            for item in error.errors()
        ]
        names = ", ".join(sorted({f["field"] for f in fields}))
        return JSONResponse(
            status_code=422,
            content={"success": False, "error": f"invalid request: {names}", "fields": fields},
        )

    return app
