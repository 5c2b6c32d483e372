"""How the console words a conflict: what differs, where each record is, what a click deletes."""

from __future__ import annotations

from talkme_consultant.helpers.kinds import FileOrigin
from talkme_consultant.knowledge.records import Record, Source
from talkme_consultant.store.knowledge import FileInfo
from talkme_consultant.store.owner_records import owner_faq_record
from talkme_consultant.web.console.conflicts import differ_words, other_words, removal, where

ROW = Record(
    text="Услуга: Стрижка\nЦена: 1500",
    title="Стрижка",
    source=Source(file="prices.xlsx", sheet="Услуги", row=12),
    fields={"Услуга": "Стрижка", "Цена": "1500"},
)


def test_what_differs_is_said_in_words() -> None:
    assert differ_words(["price"]) == "разная цена"
    assert differ_words(["price", "duration"]) == "разная цена и длительность"
    assert other_words(["hours"]) == "другие часы работы"


def test_a_row_is_found_by_its_file_sheet_and_row_and_an_answer_as_the_owners() -> None:
    assert where(ROW) == "файл prices.xlsx, лист «Услуги», строка 12"
    assert where(owner_faq_record(3, "Сколько стоит стрижка?", "1 500 ₽")) == "ваш ответ"


def stored(origin: FileOrigin, records: int) -> dict[str, FileInfo]:
    return {"prices.xlsx": FileInfo("prices.xlsx", 1, "", origin, 0.0, records, None)}


def test_deleting_a_file_says_how_many_other_records_go_with_it() -> None:
    click = removal(ROW, stored(FileOrigin.UPLOAD, 80))

    assert click.action == "/console/knowledge/files/prices.xlsx/delete"
    assert click.button == "Удалить файл prices.xlsx"
    assert "целиком" in click.consequence and "(79)" in click.consequence
    assert "папки" not in click.consequence


def test_a_file_from_the_knowledge_folder_must_go_from_the_folder_too() -> None:
    click = removal(ROW, stored(FileOrigin.DIR, 1))

    assert "Других записей в файле нет" in click.consequence
    assert "удалите его и там" in click.consequence


def test_deleting_an_owners_answer_deletes_only_it() -> None:
    click = removal(owner_faq_record(3, "Сколько стоит стрижка?", "1 500 ₽"), {})

    assert click.action == "/console/knowledge/owner-faq/3/delete"
    assert click.button == "Удалить ваш ответ"
    assert "файлы останутся" in click.consequence
