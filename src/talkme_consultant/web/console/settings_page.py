"""Settings, read-only and in the owner's words: what each setting does, its value said plainly,
and (in small print, for whoever runs the service) the variable that changes it. No secrets."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from talkme_consultant.config import Settings
from talkme_consultant.knowledge.calibration import Calibration
from talkme_consultant.profile import BusinessProfile
from talkme_consultant.web.console.base import SignedIn, render
from talkme_consultant.web.deps import KnowledgeDep, ProfileDep, SettingsDep
from talkme_consultant.web.webhook_access import WebhookAccess, webhook_access

router = APIRouter(prefix="/console/settings", include_in_schema=False)

OFF = "выключен: этот код не присылается"
OPENAI_URL = "https://api.openai.com"
# Russia's time zones by the city the owner knows them by.
ZONE_CITIES = {
    "Europe/Kaliningrad": "Калининград",
    "Europe/Moscow": "Москва",
    "Europe/Samara": "Самара",
    "Asia/Yekaterinburg": "Екатеринбург",
    "Asia/Omsk": "Омск",
    "Asia/Novosibirsk": "Новосибирск",
    "Asia/Krasnoyarsk": "Красноярск",
    "Asia/Irkutsk": "Иркутск",
    "Asia/Yakutsk": "Якутск",
    "Asia/Vladivostok": "Владивосток",
    "Asia/Magadan": "Магадан",
    "Asia/Kamchatka": "Камчатка",
}


@dataclass(frozen=True)
class Setting:
    """One setting: its name, its value in words, what it does, the variable behind it."""

    label: str
    value: str
    about: str
    variable: str


@dataclass(frozen=True)
class Section:
    """Settings that belong together, under a heading."""

    title: str
    settings: list[Setting]


def _host(url: str | None) -> str:
    """Only the host of a URL: a path or query may carry a key."""
    if not url:
        return "—"
    return urlsplit(url).hostname or "—"


def _zone(name: str | None) -> str:
    if not name:
        return "всемирное время (UTC): пояс в профиле не указан"
    city = ZONE_CITIES.get(name)
    return f"{city} ({name})" if city else name


def percent(value: float) -> str:
    """A share as the owner reads it: «50 %»."""
    return f"{value * 100:.0f} %"


def business(settings: Settings, profile: BusinessProfile) -> Section:
    """The business profile: name, file, time zone, branches."""
    return Section(
        "Бизнес",
        [
            Setting(
                "Название",
                profile.name,
                "Из профиля бизнеса — файла, где записаны адреса, часы работы, телефоны и "
                "готовые фразы бота. Адреса и часы бот называет только оттуда.",
                "PROFILE_PATH",
            ),
            Setting(
                "Файл профиля",
                str(settings.profile_path),
                "Где лежит профиль. Его правят в текстовом редакторе и перезапускают сервис.",
                "PROFILE_PATH",
            ),
            Setting(
                "Часовой пояс",
                _zone(profile.timezone),
                "По нему бот понимает, что такое «сегодня» и «завтра» и открыт ли салон сейчас, "
                "а отчёты делят время на дни.",
                "PROFILE_PATH → timezone",
            ),
            Setting(
                "Филиалов",
                str(len(profile.branches)),
                "Сколько адресов записано в профиле; бот называет адрес, часы и телефон "
                "нужного филиала.",
                "PROFILE_PATH → branches",
            ),
        ],
    )


def answering(settings: Settings, calibration: Calibration) -> Section:
    """Who writes the replies, how records are found and when the bot calls a person."""
    if settings.llm_enabled:
        who = "языковая модель; если она недоступна — бот по базе знаний без неё"
        model = f"«{settings.llm_model}» на сервере {_host(settings.openai_base_url or OPENAI_URL)}"
    else:
        who = "бот по базе знаний, без языковой модели"
        model = "не подключена"
    kind = settings.embedder.strip().lower()
    embeddings_host = _host(settings.embeddings_base_url or settings.openai_base_url or OPENAI_URL)
    meaning = {
        "local": "включён, работает на этом сервере, без внешних сервисов",
        "openai": f"включён, через внешний сервис ({embeddings_host})",
        "none": "выключен: бот ищет ответы только по совпадающим словам",
    }.get(kind, kind)
    if calibration.source == "cases":
        threshold = (
            f"{percent(calibration.threshold)} — подобран по вашим проверочным вопросам, "
            f"чтобы верными были {percent(calibration.target)} ответов"
        )
    else:
        threshold = f"{percent(calibration.threshold)} — задан в настройках"
    tokens = settings.conversation_daily_tokens
    return Section(
        "Как бот отвечает",
        [
            Setting(
                "Кто отвечает",
                who,
                "С моделью бот пишет ответы своими словами по найденным записям и понимает "
                "вопросы в свободной форме; без неё отвечает строками из ваших файлов. Каждую "
                "цену и телефон в ответе сервис в обоих случаях сверяет с базой знаний.",
                "OPENAI_API_KEY",
            ),
            Setting(
                "Языковая модель",
                model,
                "Какая модель пишет ответы и где она работает. Проверить, что она отвечает, "
                "можно на странице «Подключение».",
                "LLM_MODEL, OPENAI_BASE_URL",
            ),
            Setting(
                "Поиск по смыслу",
                meaning,
                "Помогает найти ответ, когда посетитель спрашивает другими словами, чем написано "
                "в ваших файлах («сколько стоит» и «какая цена»).",
                "EMBEDDER",
            ),
            Setting(
                "Порог уверенности",
                threshold,
                "Бот отвечает сам, только когда уверен в найденной записи хотя бы на столько; "
                "если меньше — передаёт диалог оператору. Чем выше порог, тем реже бот ошибается "
                "и тем чаще зовёт человека.",
                "CONFIDENCE_THRESHOLD, ANSWER_PRECISION_TARGET",
            ),
            Setting(
                "Лимит модели на один диалог в день",
                f"{tokens:,} токенов".replace(",", " ") if tokens else "без ограничения",
                "Токен — кусочек слова; столько текста модель может прочитать и написать за день "
                "в одном диалоге. Когда лимит исчерпан, бот передаёт диалог оператору: так один "
                "посетитель не наберёт большой счёт за модель.",
                "CONVERSATION_DAILY_TOKENS",
            ),
        ],
    )


def talkme(settings: Settings) -> Section:
    """TalkMe: test mode, the webhook, the account key, the finish codes."""
    access = webhook_access(settings)
    if access is WebhookAccess.SECRET:
        webhook = "защищён секретом"
    elif settings.talkme_test_mode:
        webhook = "открыт: тестовый режим, секрета нет"
    else:
        webhook = "открыт: защита секретом выключена"
    account = settings.account_api_key is not None
    codes = [
        (
            "оператору",
            settings.finish_code_operator,
            "посетитель просит человека или бот не знает ответа",
            "FINISH_CODE_OPERATOR",
        ),
        (
            "успех",
            settings.finish_code_success,
            "посетитель попрощался, вопрос решён",
            "FINISH_CODE_SUCCESS",
        ),
        (
            "не по теме",
            settings.finish_code_irrelevant,
            "сообщение не по делу: реклама, спам",
            "FINISH_CODE_IRRELEVANT",
        ),
        (
            "никого нет в сети",
            settings.finish_code_offline,
            "операторов нет в сети, посетитель оставил телефон для обратного звонка",
            "FINISH_CODE_OFFLINE",
        ),
    ]
    return Section(
        "TalkMe",
        [
            Setting(
                "Тестовый режим",
                "включён: ответы не уходят в TalkMe"
                if settings.talkme_test_mode
                else "выключен: бот отвечает посетителям",
                "В тестовом режиме бот готовит ответы и записывает их здесь, но посетителям ничего "
                "не отправляет. Для работы с посетителями его выключают.",
                "TALKME_TEST_MODE",
            ),
            Setting(
                "Вебхук",
                webhook,
                "Вебхук — адрес, по которому TalkMe присылает боту сообщения посетителей (его "
                "вставляют в кабинете TalkMe, см. «Подключение»). Секрет в конце адреса не даёт "
                "посторонним писать боту от имени ваших посетителей.",
                "WEBHOOK_SECRET",
            ),
            Setting(
                "Запись в YCLIENTS",
                f"включена, компания {settings.yclients_company_id}"
                if settings.booking_enabled
                else "выключена",
                "С YCLIENTS бот сам находит свободное время и записывает посетителя в календарь "
                "салона. Без него желающий записаться оставляет имя и телефон, а запись "
                "подтверждает администратор. Ключи не показываются.",
                "YCLIENTS_PARTNER_TOKEN, YCLIENTS_COMPANY_ID",
            ),
            Setting(
                "Ключ API аккаунта TalkMe",
                "задан (сам ключ не показывается)" if account else "не задан",
                "С ключом бот видит, есть ли операторы в сети (если нет — берёт телефон для "
                "обратного звонка), записывает имя и телефон посетителя в карточку клиента и "
                "приносит ответы операторов на страницу «Вопросы». Без ключа ничего этого нет.",
                "TALKME_ACCOUNT_API_KEY",
            ),
            *(
                Setting(
                    f"Код завершения: {name}",
                    code or OFF,
                    f"Бот присылает его TalkMe, когда {when}; что делать дальше, решает сценарий "
                    "бота в кабинете TalkMe.",
                    variable,
                )
                for name, code, when, variable in codes
            ),
        ],
    )


def server(settings: Settings) -> Section:
    """Where the service keeps its files and whom it believes about addresses."""
    return Section(
        "Сервер",
        [
            Setting(
                "Прокси, которым верим",
                ", ".join(settings.trusted_proxy_list) or "нет",
                "Если перед сервисом стоит другой сервер (прокси, например nginx), здесь его "
                "адрес: тогда сервис видит настоящий адрес посетителя и считает неудачные "
                "попытки входа по нему. «Нет» — адрес берётся из самого соединения.",
                "TRUSTED_PROXIES",
            ),
            Setting(
                "Папка базы знаний",
                str(settings.knowledge_dir),
                "Файлы из этой папки бот читает сам и замечает их изменения. Файлы, загруженные "
                "через консоль, хранятся в базе данных сервиса.",
                "KNOWLEDGE_DIR",
            ),
            Setting(
                "Папка данных",
                str(settings.data_dir),
                "Здесь сервис хранит свою базу данных (если не подключён отдельный сервер баз "
                "данных), ключ входа в консоль и служебные ключи.",
                "DATA_DIR",
            ),
        ],
    )


@router.get("", response_class=HTMLResponse)
async def settings_page(
    request: Request,
    session: SignedIn,
    settings: SettingsDep,
    profile: ProfileDep,
    knowledge: KnowledgeDep,
) -> HTMLResponse:
    """Every setting the owner may ask about, grouped, each explained in words."""
    sections = [
        business(settings, profile),
        answering(settings, knowledge.calibration),
        talkme(settings),
        server(settings),
    ]
    return render(request, session, "settings.html", {"sections": sections}, page="settings")
