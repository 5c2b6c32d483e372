"""The connection page and the owner's words, from a plain HTTP client: where sign-in leads, the
webhook URL TalkMe must call, settings explained in Russian, and upload refusals in Russian."""

from __future__ import annotations

import html
import re
from pathlib import Path

import httpx
import pytest

from talkme_consultant.talkme.visitor import Visitor, build_webhook_body
from tests.support.console_client import csrf_of, signed_in_client
from tests.support.service import ADMIN_TOKEN, running_service, service_settings

pytestmark = pytest.mark.asyncio

SECRET = "hook-secret-for-the-spec"
ACCOUNT_KEY = "account-key-never-shown-4821"
MODEL_KEY = "sk-model-key-never-shown-7730"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CYRILLIC_WORD = re.compile(r"[а-яё]{3,}", re.IGNORECASE)


async def first_stop(url: str) -> str:
    """Where signing in with the right key sends the owner."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        csrf = csrf_of((await client.get("/console/login")).text)
        answer = await client.post("/console/login", data={"csrf": csrf, "token": ADMIN_TOKEN})
        assert answer.status_code == 303
        return answer.headers["location"]


async def test_sign_in_leads_to_the_connection_page_until_talkme_has_sent_a_message(
    tmp_path: Path,
) -> None:
    async with running_service(service_settings(tmp_path / "data", None, embedder="none")) as svc:
        assert await first_stop(svc.url) == "/console/connection"
        assert await first_stop(svc.url) == "/console/connection", "and again, while nothing came"

        accepted = await svc.post_message(Visitor.new(), "Здравствуйте!", 1)
        assert accepted.status_code == 200
        assert await first_stop(svc.url) == "/console", "after TalkMe's first message: Overview"


async def test_the_webhook_url_is_the_one_the_owner_reached_through_the_proxy_with_its_secret(
    tmp_path: Path,
) -> None:
    settings = service_settings(
        tmp_path / "data",
        None,
        embedder="none",
        webhook_secret=SECRET,
        trusted_proxies="127.0.0.1",
        talkme_account_api_key=ACCOUNT_KEY,
        openai_api_key=MODEL_KEY,
        openai_base_url="http://127.0.0.1:9/v1",
    )
    async with running_service(settings) as service, signed_in_client(service) as client:
        behind_proxy = {"X-Forwarded-Proto": "https", "Host": "bot.salon.example"}
        page = (await client.get("/console/connection", headers=behind_proxy)).text
        url = f"https://bot.salon.example/webhook/talkme?secret={SECRET}"
        assert f">{url}</textarea>" in page
        assert ACCOUNT_KEY not in page and MODEL_KEY not in page, "keys are never shown"
        for code in ("OPERATOR_REQUEST", "SUCCESS", "IRRELEVANT_MESSAGE", "OPERATORS_OFFLINE"):
            assert f"<code>{code}</code>" in page, f"the finish code {code} to map in TalkMe"

        # The address shown is the one the webhook takes: a message sent to it is accepted.
        direct = url.replace("https://bot.salon.example", service.url)
        body = build_webhook_body(Visitor.new(), "Здравствуйте", 1)
        assert (await service.http.post(direct, json=body)).status_code == 200
        without = direct.split("?")[0]
        assert (await service.http.post(without, json=body)).status_code == 401

        csrf = csrf_of(page)
        refused = await client.post("/console/connection/check/account")
        assert refused.status_code == 403, "a check is a POST with the session's CSRF token"
        answer = await client.post(
            "/console/connection/check/model", headers={"X-CSRF-Token": csrf}
        )
        assert "Не удалось связаться с сервисом модели" in answer.text
        assert MODEL_KEY not in answer.text


async def test_without_a_secret_the_page_says_the_webhook_is_open_and_the_keys_are_not_set(
    tmp_path: Path,
) -> None:
    async with (
        running_service(service_settings(tmp_path / "data", None, embedder="none")) as service,
        signed_in_client(service) as client,
    ):
        page = (await client.get("/console/connection")).text
        assert f">{service.url}/webhook/talkme</textarea>" in page
        assert 'data-testid="webhook-open"' in page
        assert 'data-testid="webhook-local"' in page, "a loopback address is no use to TalkMe"
        csrf = {"X-CSRF-Token": csrf_of(page)}
        account = await client.post("/console/connection/check/account", headers=csrf)
        assert "Ключ API аккаунта не задан" in account.text
        model = await client.post("/console/connection/check/model", headers=csrf)
        assert "Языковая модель не подключена" in model.text


def settings_of(page: str) -> list[dict[str, str]]:
    """Each setting on the settings page: its name, value, explanation and variable as text."""
    found = []
    for block in page.split('data-testid="setting"')[1:]:
        fields = {}
        for part in ("variable", "value", "about"):
            match = re.search(rf'data-testid="setting-{part}">(.*?)</', block, re.S)
            assert match, f"every setting has its {part}"
            fields[part] = html.unescape(match.group(1)).strip()
        found.append(fields)
    return found


async def test_every_setting_is_explained_in_words_with_its_value_said_plainly(
    tmp_path: Path,
) -> None:
    settings = service_settings(tmp_path / "data", None, embedder="none", webhook_secret=SECRET)
    async with running_service(settings) as service, signed_in_client(service) as client:
        page = (await client.get("/console/settings")).text
    shown = settings_of(page)
    assert len(shown) >= 15
    for setting in shown:
        words = CYRILLIC_WORD.findall(setting["about"])
        assert len(words) >= 6, f"{setting['variable']} is explained in Russian words"
    values = {s["variable"]: s["value"] for s in shown}
    assert values["EMBEDDER"] == "выключен: бот ищет ответы только по совпадающим словам"
    # The sample knowledge has its case file, so the threshold in use is the calibrated one.
    threshold = values["CONFIDENCE_THRESHOLD, ANSWER_PRECISION_TARGET"]
    assert re.fullmatch(r"\d+ % — подобран по вашим проверочным вопросам, .*", threshold)
    assert values["TALKME_ACCOUNT_API_KEY"] == "не задан"
    assert values["WEBHOOK_SECRET"] == "защищён секретом"
    assert values["OPENAI_API_KEY"] == "бот по базе знаний, без языковой модели"
    assert values["FINISH_CODE_OFFLINE"] == "OPERATORS_OFFLINE"
    assert "Вебхук — адрес, по которому TalkMe присылает" in page
    assert SECRET not in page


async def test_the_sign_in_page_speaks_of_a_key_and_leaves_variable_names_to_small_print(
    tmp_path: Path,
) -> None:
    async with running_service(service_settings(tmp_path / "data", None, embedder="none")) as svc:
        page = (await svc.http.get(svc.url + "/console/login")).text
    note = re.search(r'<p class="small muted" data-testid="login-admin-note">.*?</p>', page, re.S)
    assert note and "ADMIN_TOKEN" in note.group(0), "the admin still finds the variable"
    owner_text = page.replace(note.group(0), "")
    assert "ADMIN_TOKEN" not in owner_text and "DATA_DIR" not in owner_text
    assert "ключ входа" in owner_text.lower() and "admin_token" in owner_text


async def test_an_upload_the_console_refuses_is_explained_in_russian_and_the_api_keeps_english(
    tmp_path: Path,
) -> None:
    async with running_service(service_settings(tmp_path / "data", None, embedder="none")) as svc:
        async with signed_in_client(svc) as client:
            csrf = {"X-CSRF-Token": csrf_of((await client.get("/console/knowledge")).text)}
            picture = {"files": ("photo.png", b"\x89PNG....", "image/png")}
            refused = await client.post("/console/knowledge/upload", files=picture, headers=csrf)
            assert refused.status_code == 415
            said = refused.json()["error"]
            assert said.startswith("«photo.png»: такие файлы бот не читает. Подходят файлы")
            assert "unsupported" not in said

            files = [
                ("files", ("empty.md", b"", "text/markdown")),
                ("files", ("prices.md", "# Цены\nМаникюр — 1 800 ₽".encode(), "text/markdown")),
            ]
            unreadable = await client.post("/console/knowledge/upload", files=files, headers=csrf)
            assert unreadable.status_code == 422
            assert unreadable.json()["error"] == (
                "Ничего не загружено, потому что не все файлы читаются: «empty.md» — файл пустой. "
                "Исправьте файл и загрузите снова."
            )

        api = await svc.http.post(
            svc.url + "/files/upload",
            files={"files": ("photo.png", b"\x89PNG....", "image/png")},
            headers=ADMIN,
        )
        assert api.status_code == 415 and "unsupported file type .png" in api.json()["error"]


async def test_a_knowledge_file_that_cannot_be_read_is_listed_with_why_in_russian(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "knowledge"
    folder.mkdir()
    (folder / "prices.md").write_text("# Цены\n\nМаникюр — 1 800 ₽", encoding="utf-8")
    (folder / "empty.md").write_bytes(b"")
    settings = service_settings(tmp_path / "data", None, embedder="none", knowledge_dir=folder)
    async with running_service(settings) as service, signed_in_client(service) as client:
        page = (await client.get("/console/knowledge")).text
    shown = re.findall(r'data-testid="kb-file-error">(.*?)</span>', page)
    assert shown == ["файл пустой"]
