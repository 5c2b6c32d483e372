"""Settings, read-only: what the service runs with and which variable changes it. No secrets."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from talkme_consultant.web.console.base import SignedIn, render
from talkme_consultant.web.deps import ProfileDep, SettingsDep
from talkme_consultant.web.webhook_access import WebhookAccess, webhook_access

router = APIRouter(prefix="/console/settings", include_in_schema=False)


@dataclass(frozen=True)
class SettingRow:
    """One line of the settings table."""

    label: str
    value: str
    variable: str


def _host(url: str | None) -> str:
    """Only the host of a URL: a path or query may carry a key."""
    if not url:
        return "—"
    return urlsplit(url).hostname or "—"


@router.get("", response_class=HTMLResponse)
async def settings_page(
    request: Request, session: SignedIn, settings: SettingsDep, profile: ProfileDep
) -> HTMLResponse:
    """Profile, answerer and model, finish codes, test mode, webhook protection and the
    proxies whose forwarded addresses are believed."""
    access = webhook_access(settings)
    if access is WebhookAccess.SECRET:
        webhook = "защищён секретом"
    elif settings.talkme_test_mode:
        webhook = "открыт (тестовый режим)"
    else:
        webhook = "не защищён (WEBHOOK_SECRET=off)"
    rows = [
        SettingRow("Бизнес", profile.name, "PROFILE_PATH"),
        SettingRow("Файл профиля", str(settings.profile_path), "PROFILE_PATH"),
        SettingRow("Часовой пояс", profile.timezone or "UTC", "PROFILE_PATH → timezone"),
        SettingRow("Филиалов в профиле", str(len(profile.branches)), "PROFILE_PATH → branches"),
        SettingRow(
            "Кто отвечает",
            "языковая модель, при сбое — база знаний"
            if settings.llm_enabled
            else "база знаний без модели",
            "OPENAI_API_KEY",
        ),
        SettingRow("Модель", settings.llm_model if settings.llm_enabled else "—", "LLM_MODEL"),
        SettingRow(
            "Адрес модели",
            _host(settings.openai_base_url) if settings.llm_enabled else "—",
            "OPENAI_BASE_URL",
        ),
        SettingRow(
            "Запись в YCLIENTS",
            f"включена, компания {settings.yclients_company_id}"
            if settings.booking_enabled
            else "выключена: желающие записаться оставляют заявку администратору",
            "YCLIENTS_PARTNER_TOKEN, YCLIENTS_COMPANY_ID",
        ),
        SettingRow("Поиск по смыслу", settings.embedder, "EMBEDDER"),
        SettingRow(
            "Порог уверенности", f"{settings.confidence_threshold:.2f}", "CONFIDENCE_THRESHOLD"
        ),
        SettingRow(
            "Код завершения: оператор", settings.finish_code_operator or "—", "FINISH_CODE_OPERATOR"
        ),
        SettingRow(
            "Код завершения: успех", settings.finish_code_success or "—", "FINISH_CODE_SUCCESS"
        ),
        SettingRow(
            "Код завершения: не по теме",
            settings.finish_code_irrelevant or "—",
            "FINISH_CODE_IRRELEVANT",
        ),
        SettingRow(
            "Тестовый режим",
            "включён: ответы не уходят в TalkMe" if settings.talkme_test_mode else "выключен",
            "TALKME_TEST_MODE",
        ),
        SettingRow("Вебхук", webhook, "WEBHOOK_SECRET"),
        SettingRow(
            "Прокси, которым верим",
            ", ".join(settings.trusted_proxy_list) or "нет: адрес посетителя — адрес соединения",
            "TRUSTED_PROXIES",
        ),
        SettingRow("Папка базы знаний", str(settings.knowledge_dir), "KNOWLEDGE_DIR"),
        SettingRow("Папка данных", str(settings.data_dir), "DATA_DIR"),
        SettingRow(
            "Дневной лимит токенов на диалог",
            str(settings.conversation_daily_tokens),
            "CONVERSATION_DAILY_TOKENS",
        ),
    ]
    return render(request, session, "settings.html", {"rows": rows}, page="settings")
