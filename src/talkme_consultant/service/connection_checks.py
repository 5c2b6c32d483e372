"""Trying the outside services the bot depends on, once, when the owner asks.

The console's connection page has a «Проверить» button for TalkMe's account API
(TALKME_ACCOUNT_API_KEY) and for the language model (OPENAI_API_KEY). Each check makes one cheap
call with the configured key — the operators list; a one-word chat request, the same kind of call
the answerer makes, so a model that passes here answers visitors too — and reports what happened
as a `Verdict`, never with the key or the server's own words in it: the console turns the verdict
into Russian for the owner.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

import httpx

from talkme_consultant.answer.llm import model_client
from talkme_consultant.config import Settings
from talkme_consultant.talkme.account import AccountClient
from talkme_consultant.talkme.client import TalkMeClient, TalkMeError

log = logging.getLogger(__name__)

# The owner waits for the answer with the button pressed: longer than this is "too slow" anyway.
CHECK_TIMEOUT_SECONDS = 10.0
# What the model is asked: short, so the check costs a few tokens.
PING_PROMPT = "Ответь одним словом: да."
_REFUSED_STATUS = frozenset({401, 403})


class Verdict(enum.StrEnum):
    """What one check found."""

    WORKS = "works"
    NOT_SET = "not_set"
    """No key configured: nothing was called."""
    REFUSED = "refused"
    """The server refused the key (401/403, or a key that cannot be sent at all)."""
    NOT_FOUND = "not_found"
    """404: the address is not the API's, or (for a model) the model name is unknown there."""
    LIMITED = "limited"
    """429: the key works but is over its rate limit or out of money."""
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    """No answer at all: the address is wrong, the server down, or the network closed."""
    FAILED = "failed"
    """Any other answer: a server error or one that cannot be read."""


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict, the HTTP status when there was one, and for the account API how
    many operators it lists and how many of them are online."""

    verdict: Verdict
    status: int | None = None
    operators: int | None = None
    online: int | None = None


async def check_account(settings: Settings) -> CheckResult:
    """Ask TalkMe's account API for the operators list with TALKME_ACCOUNT_API_KEY."""
    key = settings.account_api_key
    if key is None:
        return CheckResult(Verdict.NOT_SET)
    timeout = min(settings.talkme_timeout_seconds, CHECK_TIMEOUT_SECONDS)
    async with TalkMeClient(settings.account_api_url, timeout=timeout) as talkme:
        try:
            listed = await AccountClient(talkme, key).operators()
        except TalkMeError as error:
            log.warning("account API check failed: %s", error)
            return CheckResult(_talkme_verdict(error), error.status)
    online = sum(1 for operator in listed.items if operator.online)
    return CheckResult(Verdict.WORKS, 200, operators=len(listed.items), online=online)


def _talkme_verdict(error: TalkMeError) -> Verdict:
    cause = error.__cause__
    if isinstance(cause, httpx.TimeoutException):
        return Verdict.TIMEOUT
    if isinstance(cause, httpx.TransportError):
        return Verdict.UNREACHABLE
    if error.status is None:
        return Verdict.REFUSED  # the key cannot be sent as a header: it is not a key
    # TalkMe may also answer 200 with its error envelope carrying the code.
    if error.status in _REFUSED_STATUS or error.code in _REFUSED_STATUS:
        return Verdict.REFUSED
    if error.status == 404:
        return Verdict.NOT_FOUND
    if error.status == 429:
        return Verdict.LIMITED
    return Verdict.FAILED


async def check_model(settings: Settings) -> CheckResult:
    """Ask the configured model for one word with OPENAI_API_KEY, at OPENAI_BASE_URL."""
    import openai  # imported here so a service without a model never pays for the SDK

    if not settings.llm_enabled:
        return CheckResult(Verdict.NOT_SET)
    client = model_client(settings)
    try:
        await client.chat.completions.create(
            model=settings.llm_model,
            messages=[{"role": "user", "content": PING_PROMPT}],
            timeout=min(settings.llm_timeout_seconds, CHECK_TIMEOUT_SECONDS),
        )
    except openai.APITimeoutError:
        return _model_failed(Verdict.TIMEOUT, None)
    except openai.APIConnectionError:
        return _model_failed(Verdict.UNREACHABLE, None)
    except openai.APIStatusError as error:
        return _model_failed(_model_verdict(error.status_code), error.status_code)
    except openai.OpenAIError:
        return _model_failed(Verdict.FAILED, None)
    finally:
        await client.close()
    return CheckResult(Verdict.WORKS, 200)


def _model_verdict(status: int) -> Verdict:
    if status in _REFUSED_STATUS:
        return Verdict.REFUSED
    if status == 404:
        return Verdict.NOT_FOUND
    if status == 429:
        return Verdict.LIMITED
    return Verdict.FAILED


def _model_failed(verdict: Verdict, status: int | None) -> CheckResult:
    # The SDK's message may quote the server, which may quote the key: only the verdict is logged.
    log.warning("model check failed: %s (HTTP %s)", verdict.value, status or "none")
    return CheckResult(verdict, status)
