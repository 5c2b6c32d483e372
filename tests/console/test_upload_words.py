"""Every reason a knowledge file reader gives (in English, for the admin API) reaches the owner
in Russian words, numbers included; an unknown one is said generally, never in English."""

from __future__ import annotations

import re

import pytest

from talkme_consultant.web.console.upload_words import UNKNOWN_REASON, file_reason_words

# What the readers say (knowledge/loaders/, service/parsing.py, service/parse_worker.py).
READER_REASONS = {
    "unsupported file type '.png' (use .csv, .docx)": "такие файлы бот не читает",
    "cannot be read (Permission denied)": "файл не открывается",
    "the file is empty": "файл пустой",
    "no text found in the file": "в файле нет текста",
    "not a readable CSV file (line 3)": "таблица CSV не открывается",
    "not a readable Word .docx document (BadZipFile)": "документ Word не открывается",
    "not a readable Excel .xlsx workbook (KeyError)": "таблица Excel не открывается",
    "not a readable Excel .xls workbook (XLRDError)": "таблица Excel не открывается",
    "the XML inside the workbook is broken (mismatched tag)": "таблица Excel повреждена",
    "the PDF is password-protected": "PDF защищён паролем",
    "not a readable PDF (EOF marker not found)": "PDF не открывается",
    "page 7 cannot be read (KeyError)": "страница 7 в PDF не читается",
    "has 2,500 pages, more than the 2,000-page limit": "в PDF слишком много страниц (2 500)",
    "the PDF has no text layer (a scan needs OCR first)": "в PDF нет текста, только картинки",
    "has more than 1,000,000 cells, beyond the limit": "больше 1 000 000",
    "has more than 1,000,000 table cells": "больше 1 000 000",
    "merged cell ranges cover 2,000,000 cells, beyond the 1,000,000-cell limit": "объединённых",
    "unpacks to 300 MB, more than the 200 MB limit": "подозрительно",
    "part xl/sheet1.xml is compressed 900 times, more than the 200x limit": "подозрительно",
    "part word/document.xml declares a DTD or XML entities": "подозрительно",
    "not a readable Excel workbook: the archive is damaged (Bad CRC)": "таблица Excel",
    "not a readable Word document: the archive is damaged (Bad CRC)": "документ Word",
    "the text encoding could not be recognised": "кодировку текста",
    "reading it took longer than the 60-second limit": "разделите его",
    "reading it needs more than the 1024 MB memory limit": "разделите его",
    "its structure is nested too deeply to read": "разделите его",
}


@pytest.mark.parametrize(("reason", "words"), READER_REASONS.items())
def test_a_reader_s_reason_is_said_in_russian(reason: str, words: str) -> None:
    said = file_reason_words(reason)
    assert words in said
    assert not re.search(r"[a-z]{4,}", said.replace("Word", "").replace("Excel", ""))


def test_a_reason_nobody_taught_it_is_said_generally() -> None:
    said = file_reason_words("the file is damaged or not what its name says (ValueError: x)")
    assert said == UNKNOWN_REASON
