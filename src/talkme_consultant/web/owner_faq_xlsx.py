"""The owner's answers as an .xlsx table shaped like an FAQ knowledge file."""

from __future__ import annotations

from collections.abc import Sequence

from openpyxl import Workbook

from talkme_consultant.store.lessons import FaqEntry
from talkme_consultant.store.owner_records import ANSWER_FIELD, QUESTION_FIELD


def owner_faq_workbook(entries: Sequence[FaqEntry]) -> Workbook:
    """One sheet, a header row (Вопрос, Ответ) and a row per answer, oldest first."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Ответы владельца"
    sheet.append([QUESTION_FIELD, ANSWER_FIELD])
    for entry in entries:
        sheet.append([entry.question, entry.answer])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            # Text is text: a leading "=" must never make a spreadsheet run it as a formula.
            cell.data_type = "s"
    sheet.column_dimensions["A"].width = 50
    sheet.column_dimensions["B"].width = 90
    return book
