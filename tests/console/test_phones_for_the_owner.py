"""The owner sees a visitor's phone whole on every console page, as a link to call; what leaves
the console for machines keeps masking it as documented.

Over real HTTP, signed in as the owner: the conversation list, the transcript's header, the
visitor's message and the open question show the number whole, each a `tel:` link to
`+7XXXXXXXXXX`. The admin API's conversation and the monitoring stats still show it masked.
"""

from __future__ import annotations

import re
from pathlib import Path

from talkme_consultant.talkme.visitor import Visitor
from tests.support.console_client import signed_in_client
from tests.support.eventually import eventually
from tests.support.service import running_service, service_settings

TYPED_PHONE = "8 (903) 555-12-34"
QUESTION = f"Какой курс биткоина на бирже сегодня? Перезвоните на {TYPED_PHONE}"


def tel_links(page: str) -> list[tuple[str, str]]:
    """(target, shown text) of every `tel:` link on a page."""
    return re.findall(r'<a href="tel:([^"]+)"[^>]*>([^<]+)</a>', page)


async def test_console_pages_show_phones_whole_as_links_and_the_admin_api_masks_them(
    tmp_path: Path,
) -> None:
    async with running_service(
        service_settings(tmp_path / "data", None, embedder="none")
    ) as service:
        visitor = Visitor.new(name="Анна")
        await service.post_message(visitor, QUESTION, 1)

        async def open_question() -> bool:
            found = await service.admin_get("/admin/questions")
            return bool(found["groups"])

        await eventually(open_question, what="the handed-over question")
        key = visitor.client_id
        async with signed_in_client(service) as client:
            listed = (await client.get("/console/conversations")).text
            transcript = (await client.get(f"/console/conversations/{key}")).text
            questions = (await client.get("/console/questions")).text
        admin_view = await service.admin_get(f"/admin/conversations/{key}")
        stats = await service.admin_get("/webhook/talkme/stats")

    # The number the visitor typed became the conversation's phone.
    whole = ("+79035551234", "+7 903 555-12-34")
    as_typed = ("+79035551234", TYPED_PHONE)
    assert tel_links(listed) == [whole]
    assert "***" not in listed
    # The header's number, then the one in the message, kept as the visitor wrote it.
    assert tel_links(transcript)[:2] == [whole, as_typed]
    assert "***" not in transcript
    assert as_typed in tel_links(questions), "the open question's text links the number too"

    # The admin API and the stats keep masking, as README and their OpenAPI descriptions say.
    assert admin_view["phone_number"] == "+7903*****34"
    assert [s["phone_number"] for s in stats["sessions"]] == ["+7903*****34"]
