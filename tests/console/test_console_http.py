"""The console's sign-in, session cookie, CSRF and exports over real HTTP (no browser needed)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest
from sqlalchemy import insert

from talkme_consultant.service import open_questions
from talkme_consultant.store.models import HandedOverQuestion
from talkme_consultant.talkme.visitor import Visitor
from talkme_consultant.web.console import questions as console_questions
from tests.support.console_client import csrf_of, signed_in_client
from tests.support.eventually import eventually
from tests.support.service import ADMIN_TOKEN, RunningService, running_service, service_settings


async def test_sign_in_is_throttled_per_address_after_repeated_wrong_tokens(
    tmp_path: Path,
) -> None:
    async with (
        running_service(service_settings(tmp_path / "data", None, embedder="none")) as service,
        httpx.AsyncClient(base_url=service.url, timeout=30) as client,
    ):
        csrf = csrf_of((await client.get("/console/login")).text)
        for _ in range(5):
            refused = await client.post("/console/login", data={"csrf": csrf, "token": "guess"})
            assert refused.status_code == 401
            assert "Ключ не подошёл" in refused.text
        throttled = await client.post("/console/login", data={"csrf": csrf, "token": "guess"})
        assert throttled.status_code == 429
        assert "Слишком много неудачных попыток входа" in throttled.text
        assert int(throttled.headers["retry-after"]) > 0
        right = await client.post("/console/login", data={"csrf": csrf, "token": ADMIN_TOKEN})
        assert right.status_code == 429, "even the right token waits out the throttle"
        assert (await client.get("/console")).status_code == 303, "and no session was given"


async def test_the_session_cookie_is_strict_httponly_and_secure_behind_an_https_proxy(
    tmp_path: Path,
) -> None:
    async with running_service(
        service_settings(tmp_path / "data", None, embedder="none")
    ) as service:
        async with httpx.AsyncClient(base_url=service.url) as plain:
            root = await plain.get("/")
            assert root.status_code == 307 and root.headers["location"] == "/console"
            away = await plain.get("/console/conversations")
            assert away.status_code == 303 and away.headers["location"] == "/console/login"
            htmx = await plain.get("/console/knowledge/status", headers={"HX-Request": "true"})
            assert (htmx.status_code, htmx.headers["hx-redirect"]) == (401, "/console/login")
            page = await plain.get("/console/login")
            assert "HttpOnly" in page.headers["set-cookie"]
            assert "SameSite=strict" in page.headers["set-cookie"]
            assert "Secure" not in page.headers["set-cookie"]
            without_csrf = await plain.post("/console/login", data={"token": ADMIN_TOKEN})
            assert without_csrf.status_code == 403, "the sign-in form needs its CSRF token too"
            assert "обновите страницу" in without_csrf.json()["error"]

        async with httpx.AsyncClient(base_url=service.url) as proxied:
            page = await proxied.get("/console/login", headers={"X-Forwarded-Proto": "https"})
            assert "Secure" in page.headers["set-cookie"], "the browser came over HTTPS"

        # A cookie whose payload was edited is not a session.
        async with httpx.AsyncClient(base_url=service.url) as forger:
            forger.cookies.set("talkme_console", "eyJzaWduZWRfaW4iOnRydWV9.AAAA", path="/console")
            assert (await forger.get("/console")).status_code == 303


async def test_exports_and_lead_status_follow_the_owner_s_choices(tmp_path: Path) -> None:
    async with running_service(
        service_settings(tmp_path / "data", None, embedder="none")
    ) as service:
        visitor = Visitor.new(name="Ольга")
        await service.post_message(visitor, "Сколько стоит маникюр с покрытием?", 1)

        async def answered() -> bool:
            stats = await service.admin_get("/webhook/talkme/stats")
            return int(stats["messages_processed"]) >= 1

        await eventually(answered, what="the answer")
        async with signed_in_client(service) as client:
            exported = await client.get("/console/conversations/export.csv?q=маникюр")
            assert exported.status_code == 200
            [row] = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff")), delimiter=";"))
            assert row["Диалог"] == visitor.client_id and row["Имя"] == "Ольга"
            nothing = await client.get("/console/conversations/export.json?q=биткоин")
            assert nothing.json() == {"conversations": []}
            bad_date = await client.get("/console/conversations?since=вчера")
            assert bad_date.status_code == 400
            assert "ГГГГ-ММ-ДД" in bad_date.json()["error"]

            no_lead = await client.post(
                "/console/leads/999/status",
                data={"csrf": csrf_of((await client.get("/console/leads")).text), "status": "done"},
            )
            assert no_lead.status_code == 404
            wrong_status = await client.post(
                "/console/leads/999/status",
                data={"csrf": csrf_of((await client.get("/console/leads")).text), "status": "x"},
            )
            assert wrong_status.status_code == 422


async def test_open_question_actions_refuse_bad_input_by_name_and_change_nothing(
    tmp_path: Path,
) -> None:
    async with running_service(
        service_settings(tmp_path / "data", None, embedder="none")
    ) as service:
        await service.post_message(Visitor.new(), "Делаете ли вы татуировки?", 1)

        async def groups() -> list[dict[str, object]]:
            page = await service.admin_get("/admin/questions")
            found: list[dict[str, object]] = page["groups"]
            return found

        [group] = await eventually(groups, what="the handed-over question")
        answer_path = f"/console/questions/{group['id']}/answer"
        async with httpx.AsyncClient(base_url=service.url) as stranger:
            assert (await stranger.get("/console/knowledge/owner-faq.xlsx")).status_code == 303
            assert (await stranger.post(answer_path, data={"answer": "Да"})).status_code == 401
        async with signed_in_client(service) as client:
            csrf = csrf_of((await client.get("/console/questions")).text)
            forged = await client.post(answer_path, data={"answer": "Да", "csrf": "forged"})
            assert forged.status_code == 403
            empty = await client.post(answer_path, data={"answer": "   ", "csrf": csrf})
            assert empty.status_code == 400 and "пустой ответ" in empty.json()["error"]
            control = await client.post(
                answer_path,
                data={
                    "answer": "\x01\x02",
                    "question": "Тату?",
                    "wording": group["id"],
                    "csrf": csrf,
                },
            )
            assert control.status_code == 400 and "Ответ не сохранён" in control.json()["error"]
            gone = await client.post(
                "/console/questions/999999/dismiss",
                data={"csrf": csrf},
                headers={"HX-Request": "1"},
            )
            assert gone.status_code == 404 and "уже нет" in gone.json()["error"]
            no_record = await client.post(
                f"/console/questions/{group['id']}/link",
                data={"record_id": "nope", "wording": group["id"], "csrf": csrf},
            )
            assert no_record.status_code == 404 and "записи" in no_record.json()["error"]
            no_faq = await client.post(
                "/console/knowledge/owner-faq/999999",
                data={"question": "Вопрос?", "answer": "Ответ.", "csrf": csrf},
            )
            assert no_faq.status_code == 404
            blank = await client.post(
                "/console/knowledge/owner-faq/999999",
                data={"question": "", "answer": "Ответ.", "csrf": csrf},
            )
            assert blank.status_code == 400 and "заполнены" in blank.json()["error"]
            exported = await client.get("/console/knowledge/owner-faq.xlsx")
            assert exported.status_code == 200 and exported.content.startswith(b"PK")
        assert [g["id"] for g in await groups()] == [group["id"]], "refusals change nothing"
        assert (await service.admin_get("/admin/owner-faq"))["answers"] == []


TOPICS = [
    "парковка",
    "велосипед",
    "собака",
    "кофе",
    "wifi",
    "зонт",
    "лифт",
    "пандус",
    "душ",
    "сейф",
    "аптечка",
    "розетка",
    "кондиционер",
    "музыка",
    "журнал",
    "подарок",
    "сертификат",
    "скидка",
    "пенсионер",
    "студент",
    "ребёнок",
    "коляска",
    "такси",
    "шампанское",
    "гардероб",
]


async def test_open_questions_are_paged_twenty_groups_at_a_time_per_status(tmp_path: Path) -> None:
    async with running_service(
        service_settings(tmp_path / "data", None, embedder="none")
    ) as service:
        # What a turn records when it hands over for not knowing, for 25 unrelated questions.
        conversations = service.runtime.store.conversations
        for number, topic in enumerate(TOPICS):
            await conversations.record_event(
                f"visitor-{number}", "unanswered", {"question": f"{topic}?"}, 1_800_000_000.0
            )
        async with signed_in_client(service) as client:
            first = await client.get("/console/questions")
            assert first.text.count('data-testid="question-group"') == 20
            assert "25 групп, 25 вопросов." in first.text
            assert 'href="?status=open&page=2"' in first.text
            second = await client.get("/console/questions?status=open&page=2")
            assert second.text.count('data-testid="question-group"') == 5
            answered = await client.get("/console/questions?status=answered")
            assert 'data-testid="questions-empty"' in answered.text
            unknown = await client.get("/console/questions?status=solved")
            assert unknown.status_code == 422 and "status" in unknown.text


DOG = "Можно ли прийти с собакой?"
PARKING = "Есть ли у вас парковка?"
TATTOO = "Делаете татуировки?"


async def operator_answered(
    service: RunningService, key: str, question: str, answer: str, at: float
) -> None:
    """A handoff of `question` in conversation `key`, and the operator's reply harvested."""
    store = service.runtime.store
    async with store.engine.begin() as connection:
        await connection.execute(
            insert(HandedOverQuestion).values(
                conversation_key=key, question=question, handed_over_at=at, status="waiting"
            )
        )
    [waiting] = await store.operator_answers.waiting(since=at, limit=1, keys=[key])
    assert await store.operator_answers.record_answer(waiting, answer, at + 60, at + 120)


def group_html(page: str, question: str) -> str:
    """The part of the questions page that shows the group named `question`."""
    [found] = [g for g in page.split('data-testid="question-group"')[1:] if question in g]
    return found


async def test_an_operator_s_reply_is_suggested_only_for_the_group_of_its_own_question(
    tmp_path: Path,
) -> None:
    async with running_service(
        service_settings(tmp_path / "data", None, embedder="none")
    ) as service:
        conversations = service.runtime.store.conversations
        at = 1_800_000_000.0
        # One visitor asked two things, one after the other; the operator answered both.
        for n, question in enumerate((DOG, PARKING)):
            await conversations.record_event("visitor-1", "unanswered", {"question": question}, at)
            await operator_answered(service, "visitor-1", question, f"Ответ {n + 1}", at + n)
        # Another visitor asked the first thing in other words.
        await conversations.record_event(
            "visitor-2", "unanswered", {"question": "а с собакой к вам можно прийти?"}, at + 5
        )
        # A third asked what the operator never answered; the operator's reply was to another.
        await conversations.record_event("visitor-3", "unanswered", {"question": TATTOO}, at)
        await operator_answered(service, "visitor-3", "А скидки есть?", "Скидок нет.", at)

        async with signed_in_client(service) as client:
            page = (await client.get("/console/questions")).text

        dog = group_html(page, DOG)
        assert "Ответ 1" in dog and "Ответ 2" not in dog, "not the newer reply to another question"
        assert "Ответ 2" in group_html(page, PARKING)
        assert 'data-testid="question-operator-answer"' not in group_html(page, TATTOO)


async def test_regrouping_from_the_questions_page_mends_split_groups(tmp_path: Path) -> None:
    async with running_service(
        service_settings(tmp_path / "data", None, embedder="none")
    ) as service:
        store = service.runtime.store
        for number, question in enumerate(("Можно ли прийти с собакой?", "а с собакой можно?")):
            await store.conversations.record_event(
                f"visitor-{number}", "unanswered", {"question": question}, 1_800_000_000.0
            )
        async with signed_in_client(service) as client:
            page = await client.get("/console/questions")
            assert "1 группа, 2 вопроса." in page.text
            assert 'data-testid="questions-regroup-start"' in page.text
            # Two processes grouping at once may leave a near-duplicate in a group of its own.
            [_, second] = await store.questions.rows("open")
            await store.questions.regroup({second.id: second.id})
            assert "2 группы, 2 вопроса." in (await client.get("/console/questions")).text

            refused = await client.post("/console/questions/regroup", data={"csrf": "forged"})
            assert refused.status_code == 403
            started = await client.post(
                "/console/questions/regroup", data={"csrf": csrf_of(page.text)}
            )
            assert (started.status_code, started.headers["location"]) == (
                303,
                "/console/questions",
            )

            # What the page asks every two seconds while the regrouping runs.
            async def regrouped() -> str | None:
                status = (await client.get("/console/questions/regroup")).text
                return status if 'data-testid="questions-regrouped"' in status else None

            status = await eventually(regrouped, what="the regrouping done")
            assert "Перегруппировано: 2 вопроса, 1 группа." in status
            page = await client.get("/console/questions")
            assert "1 группа, 2 вопроса." in page.text
            assert "Перегруппировано: 2 вопроса, 1 группа." in page.text
            assert "самых новых" not in page.text, "nothing was left out"


async def test_the_questions_page_says_when_a_regrouping_leaves_older_questions_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(open_questions, "REGROUP_LIMIT", 2)
    monkeypatch.setattr(console_questions, "REGROUP_LIMIT", 2)
    async with running_service(
        service_settings(tmp_path / "data", None, embedder="none")
    ) as service:
        for number, question in enumerate(("Есть парковка?", "Делаете тату?", "Пирсинг?")):
            await service.runtime.store.conversations.record_event(
                f"visitor-{number}", "unanswered", {"question": question}, 1_800_000_000.0
            )
        async with signed_in_client(service) as client:
            page = await client.get("/console/questions")
            assert "только 2 самых новых, более ранние останутся в прежних группах" in page.text
            await client.post("/console/questions/regroup", data={"csrf": csrf_of(page.text)})

            async def regrouped() -> str | None:
                status = (await client.get("/console/questions/regroup")).text
                return status if 'data-testid="questions-regrouped"' in status else None

            shown = await eventually(regrouped, what="the regrouping done")
            assert "Перегруппировано: 2 вопроса, 2 группы." in shown
            assert "Взяты 2 самых новых открытых вопросов; более ранние" in shown
