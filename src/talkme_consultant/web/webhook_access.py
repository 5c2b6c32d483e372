"""Who may call the webhook: a shared secret, closed by default in production.

TalkMe signs nothing, so the secret in the webhook URL (or a header) is the only thing that keeps
strangers from writing into a visitor's conversation: replacing their name, phone and reply token.
In production (``TALKME_TEST_MODE=false``) the service therefore refuses to start without
``WEBHOOK_SECRET``; ``WEBHOOK_SECRET=off`` opens the webhook knowingly, and the start-up log and
health then say so.
"""

from __future__ import annotations

import enum
import hmac
import logging

from talkme_consultant.config import WEBHOOK_OPEN_WORD, Settings
from talkme_consultant.talkme.payloads import SECRET_HEADER, SECRET_QUERY_PARAM, WEBHOOK_PATH

log = logging.getLogger(__name__)

OPEN_WORD = WEBHOOK_OPEN_WORD


class WebhookAccess(enum.StrEnum):
    """How the webhook decides who may post to it."""

    SECRET = "secret"
    """Only callers presenting WEBHOOK_SECRET."""
    OPEN = "open"
    """Anyone who knows the URL."""


class WebhookSecretMissing(RuntimeError):
    """Production settings without WEBHOOK_SECRET: the service must not start."""


MISSING_SECRET_MESSAGE = f"""\
WEBHOOK_SECRET не задан, а TALKME_TEST_MODE=false: сервис не запущен, потому что без секрета \
любой, кто знает адрес вебхука, может писать от имени посетителей.
Задайте секрет, например WEBHOOK_SECRET=$(openssl rand -hex 16), и укажите в кабинете TalkMe \
адрес вебхука вида https://ваш-сервер{WEBHOOK_PATH}?{SECRET_QUERY_PARAM}=<секрет> \
(или передавайте секрет в заголовке {SECRET_HEADER}).
Если открытый вебхук нужен сознательно, задайте WEBHOOK_SECRET={OPEN_WORD}.

WEBHOOK_SECRET is not set and TALKME_TEST_MODE=false: the service did not start, because without \
a secret anyone who knows the webhook URL can write on behalf of visitors.
Set a secret, e.g. WEBHOOK_SECRET=$(openssl rand -hex 16), and enter the webhook URL in the \
TalkMe cabinet as https://your-host{WEBHOOK_PATH}?{SECRET_QUERY_PARAM}=<secret> \
(or send the secret in the {SECRET_HEADER} header).
To accept anonymous webhooks on purpose, set WEBHOOK_SECRET={OPEN_WORD}."""


def _configured(settings: Settings) -> str | None:
    if settings.webhook_secret is None:
        return None
    value = settings.webhook_secret.get_secret_value().strip()
    return value or None


def webhook_access(settings: Settings) -> WebhookAccess:
    """SECRET when a secret is configured; OPEN for ``off`` (or no secret in test mode)."""
    value = _configured(settings)
    if value is None or value.lower() == OPEN_WORD:
        return WebhookAccess.OPEN
    return WebhookAccess.SECRET


def webhook_secret(settings: Settings) -> str | None:
    """WEBHOOK_SECRET in clear when it guards the webhook (for the signed-in owner's
    connection page, which shows the URL to paste into TalkMe); None when the webhook is open."""
    if webhook_access(settings) is WebhookAccess.OPEN:
        return None
    return _configured(settings)


def require_webhook_secret(settings: Settings) -> None:
    """Refuse production settings that leave the webhook open by omission.

    Raises :class:`WebhookSecretMissing` (its message says, in Russian and English, how to set
    the secret in TalkMe) when TALKME_TEST_MODE is false and WEBHOOK_SECRET is unset or empty.
    """
    if not settings.talkme_test_mode and _configured(settings) is None:
        raise WebhookSecretMissing(MISSING_SECRET_MESSAGE)


def announce_webhook_access(settings: Settings) -> WebhookAccess:
    """Log at start-up whether the webhook is guarded; an open one is a warning."""
    access = webhook_access(settings)
    if access is WebhookAccess.OPEN:
        # Worded without "=": the log redactor would mask whatever follows "SECRET=".
        reason = "test mode" if _configured(settings) is None else "WEBHOOK_SECRET is off"
        log.warning(
            "the webhook is open (%s): anyone who knows its URL can post visitor messages",
            reason,
        )
    else:
        log.info("the webhook requires WEBHOOK_SECRET")
    return access


def secret_matches(settings: Settings, supplied: str) -> bool:
    """True when the webhook is open or `supplied` equals WEBHOOK_SECRET (constant time)."""
    if webhook_access(settings) is WebhookAccess.OPEN:
        return True
    expected = _configured(settings) or ""
    return hmac.compare_digest(supplied.encode(), expected.encode())
