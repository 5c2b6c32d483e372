"""«Подключение»: what the owner pastes into TalkMe, and whether the keys the bot needs work.

The first page after sign-in until TalkMe has sent a message: the webhook URL with its secret
and a copy button, the steps in TalkMe's cabinet, and the account API key and the model, each
with a «Проверить» button (`service/connection_checks.py`) whose verdict is said here in words.
Keys are never shown; the webhook's secret is, because the owner must paste it into TalkMe.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from talkme_consultant.config import Settings
from talkme_consultant.service.connection_checks import (
    CheckResult,
    Verdict,
    check_account,
    check_model,
)
from talkme_consultant.talkme.payloads import SECRET_QUERY_PARAM, WEBHOOK_PATH
from talkme_consultant.web.console.base import SignedIn, SignedInWithCsrf, render
from talkme_consultant.web.deps import SettingsDep, StoreDep
from talkme_consultant.web.webhook_access import webhook_secret

router = APIRouter(prefix="/console/connection", include_in_schema=False)

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
WITHOUT_ACCOUNT_KEY = (
    "Без ключа API аккаунта бот не видит, есть ли операторы онлайн, и не учится на ответах "
    "операторов: он передаёт диалог, даже когда в чате никого нет, не предлагает перезвонить "
    "и не записывает имя и телефон посетителя в карточку клиента в TalkMe."
)
WITH_ACCOUNT_KEY = (
    "С ключом бот передаёт диалог человеку, только когда оператор в сети (иначе берёт телефон "
    "для обратного звонка), записывает имя и телефон в карточку клиента и приносит ответы "
    "операторов на страницу «Вопросы», чтобы вы сделали их ответами бота."
)
WITHOUT_MODEL = (
    "Без языковой модели бот отвечает строками из ваших файлов и вашими ответами: цены и адреса "
    "точные, но вопрос, заданный своими словами, он понимает хуже и чаще передаёт оператору, "
    "а заявки на запись не собирает."
)
WITH_MODEL = (
    "С моделью бот отвечает связным текстом, понимает вопросы в свободной форме и собирает "
    "заявки на запись; каждую цену и телефон в его ответе сервис всё равно сверяет с базой знаний."
)


@dataclass(frozen=True)
class FinishCode:
    """One finish code as the owner maps it in TalkMe's bot scenario."""

    code: str  # empty: switched off, never sent
    when: str
    action: str


@dataclass(frozen=True)
class Said:
    """A check's verdict in words; `ok` colours it."""

    ok: bool
    text: str


def webhook_url(request: Request, settings: Settings) -> str:
    """The address TalkMe must call: the one the owner reached the console by (its scheme as
    the trusted proxy forwarded it), the webhook's path and the secret when there is one."""
    url = str(request.base_url).rstrip("/") + WEBHOOK_PATH
    secret = webhook_secret(settings)
    return f"{url}?{SECRET_QUERY_PARAM}={quote(secret, safe='')}" if secret else url


def finish_codes(settings: Settings) -> list[FinishCode]:
    """The codes the bot sends when its part of a dialogue ends, with what each means."""
    return [
        FinishCode(
            settings.finish_code_operator,
            "посетитель просит человека или бот не знает ответа",
            "передать диалог оператору",
        ),
        FinishCode(
            settings.finish_code_success,
            "посетитель попрощался, вопрос решён",
            "завершить диалог",
        ),
        FinishCode(
            settings.finish_code_irrelevant,
            "сообщение не по делу: реклама, спам, бессмыслица",
            "завершить диалог (или передать оператору, если вам так спокойнее)",
        ),
        FinishCode(
            settings.finish_code_offline,
            "операторов нет в сети, посетитель оставил телефон для обратного звонка "
            "(только с ключом API аккаунта)",
            "завершить диалог: заявка уже в разделе «Лиды»",
        ),
    ]


@router.get("", response_class=HTMLResponse)
async def connection_page(
    request: Request, session: SignedIn, settings: SettingsDep, store: StoreDep
) -> HTMLResponse:
    """The webhook URL and the steps in TalkMe; the account key's and the model's state."""
    url = webhook_url(request, settings)
    host = urlsplit(url).hostname or ""
    context = {
        "webhook_url": url,
        "guarded": webhook_secret(settings) is not None,
        "test_mode": settings.talkme_test_mode,
        "over_http": request.url.scheme != "https",
        "local_address": host in LOCAL_HOSTS,
        "talked": await store.browse.any_conversation(),
        "codes": finish_codes(settings),
        "account_set": settings.account_api_key is not None,
        "model_set": settings.llm_enabled,
        "model": settings.llm_model,
        "model_host": urlsplit(settings.openai_base_url or "https://api.openai.com").hostname,
        "without_account_key": WITHOUT_ACCOUNT_KEY,
        "with_account_key": WITH_ACCOUNT_KEY,
        "without_model": WITHOUT_MODEL,
        "with_model": WITH_MODEL,
    }
    return render(request, session, "connection.html", context, page="connection")


@router.post("/check/account", response_class=HTMLResponse)
async def check_account_key(
    request: Request, session: SignedInWithCsrf, settings: SettingsDep
) -> HTMLResponse:
    """Ask TalkMe's account API for its operators with the configured key; say what happened."""
    said = account_words(await check_account(settings))
    return render(request, session, "_connection_check.html", {"said": said, "test_id": "account"})


@router.post("/check/model", response_class=HTMLResponse)
async def check_model_key(
    request: Request, session: SignedInWithCsrf, settings: SettingsDep
) -> HTMLResponse:
    """Ask the configured model for one word; say what happened."""
    said = model_words(await check_model(settings), settings.llm_model)
    return render(request, session, "_connection_check.html", {"said": said, "test_id": "model"})


def account_words(result: CheckResult) -> Said:
    """The account API check's verdict as the owner reads it."""
    match result.verdict:
        case Verdict.WORKS:
            return Said(
                True,
                f"Работает: TalkMe принял ключ. Операторов в аккаунте: {result.operators}, "
                f"в сети сейчас: {result.online}.",
            )
        case Verdict.NOT_SET:
            return Said(
                False,
                "Ключ API аккаунта не задан — проверять нечего. Без него бот работает, но не "
                "видит операторов; ключ прописывает в настройках сервиса тот, кто его "
                "устанавливал.",
            )
        case Verdict.REFUSED:
            return Said(
                False,
                f"TalkMe не принял ключ{_code(result)}: ключ неверный или его отозвали. "
                "Скопируйте ключ API заново в кабинете TalkMe и перезапустите сервис. "
                "Это ключ API аккаунта, а не токен бота.",
            )
        case Verdict.NOT_FOUND:
            return Said(
                False,
                f"По адресу API TalkMe ничего нет{_code(result)}: в настройках сервиса указан "
                "неверный адрес API.",
            )
        case Verdict.LIMITED:
            return Said(
                False,
                f"TalkMe просит подождать: слишком много запросов{_code(result)}. "
                "Проверьте ещё раз через минуту.",
            )
        case Verdict.TIMEOUT:
            return Said(False, _slow("TalkMe"))
        case Verdict.UNREACHABLE:
            return Said(False, _unreachable("TalkMe"))
    return Said(
        False,
        f"TalkMe ответил ошибкой{_code(result)}. Проверьте позже; если ошибка повторяется, "
        "напишите в поддержку TalkMe.",
    )


def model_words(result: CheckResult, model: str) -> Said:
    """The model check's verdict as the owner reads it."""
    match result.verdict:
        case Verdict.WORKS:
            return Said(True, f"Работает: модель «{model}» ответила.")
        case Verdict.NOT_SET:
            return Said(
                False,
                "Языковая модель не подключена — проверять нечего. Бот отвечает по базе знаний "
                "без неё.",
            )
        case Verdict.REFUSED:
            return Said(
                False,
                f"Сервис модели не принял ключ{_code(result)}: ключ неверный, отозван или без "
                "доступа к этой модели. Бот пока отвечает без модели, по базе знаний.",
            )
        case Verdict.NOT_FOUND:
            return Said(
                False,
                f"Модели «{model}» по этому адресу нет{_code(result)}: проверьте название "
                "модели и адрес сервиса модели.",
            )
        case Verdict.LIMITED:
            return Said(
                False,
                f"Ключ принят, но сервис модели отказал{_code(result)}: превышен лимит "
                "запросов или на счёте закончились деньги.",
            )
        case Verdict.TIMEOUT:
            return Said(False, _slow("Сервис модели"))
        case Verdict.UNREACHABLE:
            return Said(False, _unreachable("сервисом модели"))
    return Said(
        False,
        f"Сервис модели ответил ошибкой{_code(result)}. Бот пока отвечает без модели, "
        "по базе знаний; проверьте позже.",
    )


def _code(result: CheckResult) -> str:
    return f" (код ответа {result.status})" if result.status else ""


def _slow(who: str) -> str:
    return (
        f"{who} не ответил вовремя: сервер или сеть сейчас перегружены. "
        "Проверьте ещё раз через несколько минут."
    )


def _unreachable(whom: str) -> str:
    return (
        f"Не удалось связаться с {whom}: с сервера, где работает бот, он недоступен. "
        "Проверьте, что у сервера есть выход в интернет и адрес указан верно."
    )
