"""Pages name things as the owner knows them: what resolved a question, and a knowledge record,
without the ids the store keeps."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.support.console_client import csrf_of, signed_in_client
from tests.support.service import running_service, service_settings

PARKING = "Есть ли у вас парковка для машины"
TATTOO = "Делаете ли вы татуировки"
PAYMENT = "картой"


async def open_group(client: httpx.AsyncClient, question: str) -> tuple[str, str]:
    """The id of the open group asking `question`, and the page's CSRF token."""
    page = (await client.get("/console/questions")).text
    for found in re.finditer(
        r'data-group-id="(\d+)".*?data-testid="question-text">([^<]*)<', page, re.S
    ):
        if found.group(2).startswith(question):
            return found.group(1), csrf_of(page)
    raise AssertionError(f"no open group for {question!r}")


async def test_a_resolved_question_names_the_owner_s_answer_or_the_record_never_its_id(
    tmp_path: Path,
) -> None:
    async with running_service(
        service_settings(tmp_path / "data", None, embedder="none")
    ) as service:
        conversations = service.runtime.store.conversations
        for number, question in enumerate((TATTOO, PARKING)):
            await conversations.record_event(
                f"visitor-{number}", "unanswered", {"question": f"{question}?"}, 1_800_000_000.0
            )
        async with signed_in_client(service) as client:
            group, csrf = await open_group(client, TATTOO)
            answered = await client.post(
                f"/console/questions/{group}/answer",
                data={
                    "answer": "Нет, не делаем.",
                    "question": "Делаете тату?",
                    "wording": group,
                    "csrf": csrf,
                },
            )
            assert answered.status_code == 303
            group, csrf = await open_group(client, PARKING)
            hits = (
                await client.get(f"/console/questions/{group}/search", params={"q": PAYMENT})
            ).text
            record_id = re.search(r'name="record_id" value="([^"]+)"', hits)
            title = re.search(r"<strong>([^<]+)</strong>", hits)
            assert record_id and title
            linked = await client.post(
                f"/console/questions/{group}/link",
                data={"record_id": record_id.group(1), "wording": group, "csrf": csrf},
            )
            assert linked.status_code == 303

            page = (await client.get("/console/questions", params={"status": "answered"})).text
            assert "Решено: ответ владельца: «Делаете тату?»" in page
            assert "faq:" not in page
            page = (await client.get("/console/questions", params={"status": "linked"})).text
            assert f"Решено: запись «{title.group(1)}»" in page
            assert record_id.group(1) not in page.replace(f'value="{record_id.group(1)}"', "")


async def test_a_record_page_shows_its_title_source_and_text_once_without_a_code(
    tmp_path: Path,
) -> None:
    async with (
        running_service(service_settings(tmp_path / "data", None, embedder="none")) as service,
        signed_in_client(service) as client,
    ):
        listing = (await client.get("/console/knowledge/records", params={"q": PAYMENT})).text
        link = re.search(r'href="(/console/knowledge/records/\d+)"', listing)
        assert link
        page = (await client.get(link.group(1))).text
        text = re.search(r'data-testid="record-text">([^<]+)<', page)
        assert text
        assert page.count(text.group(1).strip()[:40]) == 1, "the text is shown once"
        assert "Код записи" not in page
        assert re.search(r"\b[0-9a-f]{16,}\b", page.split("<main>")[1]) is None
