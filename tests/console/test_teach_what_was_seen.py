"""A lesson teaches only what the owner saw: every wording of a group is listed with a box to
tick, the answer's question is an editable field, questions asked after the page was drawn stay
open, and what was taught is listed on the knowledge page, each wording removable.

Without an embedder, groups form by shared words, so «сколько стоит аренда кресла» joins the
cabinet-rent group: exactly the neighbour an owner must be able to leave out."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from talkme_consultant.talkme.visitor import Visitor
from tests.support.console_client import csrf_of, signed_in_client
from tests.support.eventually import eventually
from tests.support.service import ADMIN_TOKEN, RunningService, running_service, service_settings

CABINET = "Сколько стоит аренда кабинета у вас?"
CABINET_MONTH = "сколько стоит аренда кабинета на месяц"
CHAIR = "Сколько стоит аренда кресла у вас?"
EDITED_QUESTION = "Сдаёте ли вы кабинет в аренду?"
ANSWER = "Кабинеты в аренду не сдаём: все кабинеты заняты нашими мастерами."
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[RunningService]:
    async with running_service(
        service_settings(tmp_path / "data", None, embedder="none")
    ) as running:
        yield running


async def ask(service: RunningService, *texts: str) -> None:
    """Each text from a new visitor through TalkMe's webhook."""
    for text in texts:
        assert (await service.post_message(Visitor.new(), text, 1)).status_code == 200


async def open_group(service: RunningService, count: int) -> dict[str, Any]:
    """The only open group once it holds `count` questions."""

    async def grouped() -> dict[str, Any] | None:
        page = await service.admin_get("/admin/questions")
        groups: list[dict[str, Any]] = page["groups"]
        if len(groups) == 1 and groups[0]["count"] == count:
            return groups[0]
        return None

    found: dict[str, Any] = await eventually(grouped, what=f"one open group of {count}")
    return found


def ticked_wordings(page: str) -> dict[str, int]:
    """The wordings a questions page offers to tick, each with the id its box posts."""
    boxes = re.findall(
        r'name="wording" value="(\d+)" checked.*?data-testid="question-wording-text">([^<]*)<',
        page,
        re.S,
    )
    return {text: int(value) for value, text in boxes}


async def open_texts(service: RunningService) -> list[str]:
    page = await service.admin_get("/admin/questions")
    return sorted(e["question"] for g in page["groups"] for e in g["examples"])


async def test_only_the_ticked_wordings_are_taught_and_late_questions_stay_open(
    service: RunningService,
) -> None:
    await ask(service, CABINET)
    await open_group(service, 1)
    await ask(service, CABINET_MONTH, CHAIR)
    group = await open_group(service, 3)
    async with signed_in_client(service) as client:
        page = (await client.get("/console/questions")).text
        offered = ticked_wordings(page)
        assert set(offered) == {CABINET, CABINET_MONTH, CHAIR}, "every wording, ticked"
        assert f'name="question" value="{CABINET}"' in page, "the question, ready to edit"
        # A visitor asks the shown wording again after the page was drawn.
        await ask(service, CABINET)
        await open_group(service, 4)

        saved = await client.post(
            f"/console/questions/{group['id']}/answer",
            data={
                "csrf": csrf_of(page),
                "question": EDITED_QUESTION,
                "answer": ANSWER,
                "wording": [offered[CABINET], offered[CABINET_MONTH]],
            },
            headers={"HX-Request": "1"},
        )
        assert saved.status_code == 200 and "2 вопроса" in saved.text

    [faq] = (await service.admin_get("/admin/owner-faq"))["answers"]
    assert (faq["question"], faq["answer"]) == (EDITED_QUESTION, ANSWER)
    taught = await service.admin_get("/admin/knowledge/phrasings")
    assert sorted(p["text"] for p in taught["phrasings"]) == sorted([CABINET, CABINET_MONTH])
    assert await open_texts(service) == sorted([CABINET, CHAIR]), (
        "the unticked wording and the late repeat stay open"
    )


async def test_a_long_first_question_is_offered_cut_and_can_be_answered(
    service: RunningService,
) -> None:
    story = "Здравствуйте! " + "Мы с подругами часто бываем у вас и очень довольны мастерами. " * 25
    long_question = story + "Сдаёте ли вы кабинет в аренду на вечер?"
    assert len(long_question) > 1000
    await ask(service, long_question)
    group = await open_group(service, 1)
    async with signed_in_client(service) as client:
        page = (await client.get("/console/questions")).text
        offered = re.search(r'name="question" value="([^"]*)"', page)
        assert offered is not None
        assert 0 < len(offered.group(1)) <= 300 and offered.group(1).endswith("…")
        saved = await client.post(
            f"/console/questions/{group['id']}/answer",
            data={
                "csrf": csrf_of(page),
                "question": offered.group(1),
                "answer": ANSWER,
                "wording": list(ticked_wordings(page).values()),
            },
        )
        assert saved.status_code == 303
    [faq] = (await service.admin_get("/admin/owner-faq"))["answers"]
    assert faq["question"] == offered.group(1)


async def test_an_answer_naming_no_shown_wording_is_refused_and_changes_nothing(
    service: RunningService,
) -> None:
    await ask(service, CABINET, CHAIR)
    group = await open_group(service, 2)
    path = f"/console/questions/{group['id']}/answer"
    async with signed_in_client(service) as client:
        csrf = csrf_of((await client.get("/console/questions")).text)
        form = {"csrf": csrf, "question": CABINET, "answer": ANSWER}
        none = await client.post(path, data=form)
        assert none.status_code == 400 and "Отметьте" in none.json()["error"]
        stranger = await client.post(path, data={**form, "wording": [group["id"] + 1000]})
        assert stranger.status_code == 400 and "обновите страницу" in stranger.json()["error"]
        no_question = await client.post(path, data={**form, "question": " ", "wording": [1]})
        assert no_question.status_code == 400 and "вопрос" in no_question.json()["error"]
    assert (await service.admin_get("/admin/owner-faq"))["answers"] == []
    assert (await service.admin_get("/admin/knowledge/phrasings"))["phrasings"] == []
    assert await open_texts(service) == sorted([CABINET, CHAIR])


async def test_the_api_names_wordings_by_id_too(service: RunningService) -> None:
    await ask(service, CABINET, CHAIR)
    group = await open_group(service, 2)
    wordings = {w["text"]: w for w in group["wordings"]}
    assert set(wordings) == {CABINET, CHAIR}
    async with httpx.AsyncClient(base_url=service.url, headers=AUTH) as api:
        unknown = await api.post(
            f"/admin/questions/{group['id']}/answer",
            json={"answer": ANSWER, "question_ids": [999_999]},
        )
        assert unknown.status_code == 400
        saved = await api.post(
            f"/admin/questions/{group['id']}/answer",
            json={"answer": ANSWER, "question_ids": [wordings[CABINET]["newest_id"]]},
        )
        assert saved.status_code == 201 and saved.json()["resolved"] == 1
    assert await open_texts(service) == [CHAIR]


async def test_taught_wordings_are_listed_on_the_knowledge_page_and_each_can_be_removed(
    service: RunningService,
) -> None:
    await ask(service, CABINET, CABINET_MONTH)
    group = await open_group(service, 2)
    async with signed_in_client(service) as client:
        page = (await client.get("/console/questions")).text
        await client.post(
            f"/console/questions/{group['id']}/answer",
            data={
                "csrf": csrf_of(page),
                "question": EDITED_QUESTION,
                "answer": ANSWER,
                "wording": list(ticked_wordings(page).values()),
            },
        )
        knowledge = (await client.get("/console/knowledge")).text
        section = knowledge[knowledge.index('id="phrasings"') :]
        assert EDITED_QUESTION in section and "ваш ответ" in section
        assert CABINET in section and CABINET_MONTH in section
        taught = (await service.admin_get("/admin/knowledge/phrasings"))["phrasings"]
        [month] = [p for p in taught if p["text"] == CABINET_MONTH]
        removed = await client.post(
            f"/console/knowledge/phrasings/{month['id']}/delete", data={"csrf": csrf_of(knowledge)}
        )
        assert removed.status_code == 303 and removed.headers["location"].endswith("#phrasings")
        again = await client.post(
            f"/console/knowledge/phrasings/{month['id']}/delete", data={"csrf": csrf_of(knowledge)}
        )
        assert again.status_code == 404 and "уже нет" in again.json()["error"]
        left = (await client.get("/console/knowledge")).text
        assert CABINET_MONTH not in left[left.index('id="phrasings"') :]
    remaining = (await service.admin_get("/admin/knowledge/phrasings"))["phrasings"]
    assert [p["text"] for p in remaining] == [CABINET]


WHEN = (
    "утром", "днём", "вечером", "ночью", "сегодня", "завтра", "летом", "зимой", "осенью",
    "весной", "надолго", "ненадолго", "посуточно", "помесячно", "почасово", "срочно",
    "недорого", "подешевле", "отдельно", "целиком", "вдвоём", "втроём", "постоянно", "разово",
)  # fmt: skip


async def test_a_big_group_draws_twenty_wordings_and_shows_the_rest_on_request(
    service: RunningService,
) -> None:
    wordings = [f"Сколько стоит аренда кабинета {when}?" for when in WHEN]
    await ask(service, *wordings)
    group = await open_group(service, len(wordings))
    async with signed_in_client(service) as client:
        page = (await client.get("/console/questions")).text
        drawn = ticked_wordings(page)
        assert len(drawn) == 20 and set(drawn) < set(wordings)
        assert 'data-testid="question-wordings-more"' in page
        assert "Показать ещё 4 формулировки" in page

        more = await client.get(f"/console/questions/{group['id']}/wordings?start=20")
        assert more.status_code == 200
        rest = ticked_wordings(more.text)
        assert set(rest) == set(wordings) - set(drawn), "the other four, ticked"
        assert "question-wordings-more" not in more.text

        saved = await client.post(
            f"/console/questions/{group['id']}/answer",
            data={
                "csrf": csrf_of(page),
                "question": EDITED_QUESTION,
                "answer": ANSWER,
                "wording": list(drawn.values()),
            },
            headers={"HX-Request": "1"},
        )
        assert saved.status_code == 200 and "20 вопросов" in saved.text
        gone = await client.get(f"/console/questions/{group['id'] + 10_000}/wordings")
        assert gone.status_code == 404 and "уже нет" in gone.json()["error"]
    assert await open_texts(service) != [], "wordings never drawn stay open"
    left = await open_group(service, 4)
    assert {w["text"] for w in left["wordings"]} == set(wordings) - set(drawn)
