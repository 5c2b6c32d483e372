"""Security headers for the console's pages: a CSP with no inline script, no framing."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Scripts and styles come only from the console's own static files; htmx is configured by a
# <meta> tag and console.js, never by inline code.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


class ConsoleSecurityHeaders:
    """Adds the CSP and friends to every response under /console (plain ASGI, so the webhook
    and streamed uploads pass through untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Mark the console's responses; pass everything else on as it is."""
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not path.startswith("/console"):
            await self.app(scope, receive, send)
            return

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "same-origin"
                if not path.startswith("/console/static"):
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, marked)
