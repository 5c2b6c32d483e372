"""Each loader on real files written by the test, and the errors for unreadable ones."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pytest

from talkme_consultant.knowledge.loaders import SUPPORTED_SUFFIXES, LoaderError, load_file

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _by_title(records: list, title: str):  # type: ignore[no-untyped-def]
    found = [r for r in records if r.title == title]
    assert found, f"no record titled {title!r} in {[r.title for r in records]}"
    return found[0]


def test_xlsx_title_row_merged_cells_two_sheets_numbers_and_dates(tmp_path: Path) -> None:
    import openpyxl

    path = tmp_path / "prices.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Услуги"
    ws["A1"] = "Прайс-лист салона «Лотос» на 2024 год"
    ws.merge_cells("A1:D1")
    ws.append([])
    ws.append(["Категория", "Услуга", "Цена, руб", "Действует с"])
    ws.append(["Ногти", "Маникюр классический", 1500, dt.datetime(2024, 3, 1)])
    ws.append([None, "Маникюр с покрытием", 2500.5, dt.date(2024, 3, 15)])
    ws.merge_cells("A4:A5")
    ws.append([])
    ws.append(["Волосы", "Стрижка женская", 1800.0, None])
    ws["C7"].number_format = "#,##0.00"
    faq = wb.create_sheet("FAQ")
    faq.append(["Вопрос", "Ответ"])
    faq.append(["Можно ли оплатить картой?", "Да, принимаем карты и СБП."])
    wb.save(path)

    records = load_file(path)

    assert len(records) == 4
    manicure = _by_title(records, "Маникюр классический")
    assert manicure.text == (
        "Категория: Ногти\nУслуга: Маникюр классический\nЦена, руб: 1500\nДействует с: 01.03.2024"
    )
    assert manicure.answer == manicure.text
    assert manicure.source.file == "prices.xlsx"
    assert manicure.source.sheet == "Услуги"
    assert manicure.source.row == 4
    assert manicure.fields["Цена, руб"] == "1500"
    coated = _by_title(records, "Маникюр с покрытием")
    assert coated.fields["Категория"] == "Ногти"  # filled from the merged cell above
    assert coated.fields["Цена, руб"] == "2500.5"
    assert coated.source.row == 5
    haircut = _by_title(records, "Стрижка женская")
    assert haircut.fields["Цена, руб"] == "1800.00"
    assert "Действует с" not in haircut.fields  # empty cells are skipped
    assert haircut.source.row == 7
    card = _by_title(records, "Можно ли оплатить картой?")
    assert card.answer == "Да, принимаем карты и СБП."
    assert card.source.sheet == "FAQ"
    assert card.source.row == 2


def test_xls_through_xlrd(tmp_path: Path) -> None:
    import xlwt

    path = tmp_path / "old.xls"
    book = xlwt.Workbook()
    sheet = book.add_sheet("Прайс")
    sheet.write_merge(0, 0, 0, 2, "Цены на услуги")
    for col, value in enumerate(["Наименование", "Стоимость", "Дата"]):
        sheet.write(1, col, value)
    sheet.write(2, 0, "Чистка лица")
    sheet.write(2, 1, 3200.0)
    sheet.write(2, 2, dt.datetime(2024, 5, 9), xlwt.easyxf(num_format_str="DD.MM.YYYY"))
    book.save(str(path))

    records = load_file(path)

    assert len(records) == 1
    assert records[0].title == "Чистка лица"
    assert records[0].text == "Наименование: Чистка лица\nСтоимость: 3200\nДата: 09.05.2024"
    assert records[0].source.sheet == "Прайс"
    assert records[0].source.row == 3


def test_csv_cp1251_semicolon(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    content = (
        "Вопрос;Ответ\n"
        "Сколько стоит маникюр?;Маникюр стоит 1 500,50 руб.\n"
        ";\n"
        "Где вы находитесь?;Москва, ул. Ленина, 5\n"
    )
    path.write_bytes(content.encode("cp1251"))

    records = load_file(path, name="База знаний.csv")

    assert [r.title for r in records] == ["Сколько стоит маникюр?", "Где вы находитесь?"]
    assert records[0].answer == "Маникюр стоит 1 500,50 руб."
    assert records[0].text == "Вопрос: Сколько стоит маникюр?\nОтвет: Маникюр стоит 1 500,50 руб."
    assert records[1].source.row == 4
    assert records[1].source.file == "База знаний.csv"


def test_csv_utf8_bom_with_commas_and_tabs(tmp_path: Path) -> None:
    comma = tmp_path / "a.csv"
    comma.write_bytes('\ufeffУслуга,Цена\n"Стрижка, мужская",900\n'.encode())
    tab = tmp_path / "b.csv"
    tab.write_text("Услуга\tЦена\nОкрашивание\t4000\n", encoding="utf-8")

    assert load_file(comma)[0].fields == {"Услуга": "Стрижка, мужская", "Цена": "900"}
    assert load_file(tab)[0].fields == {"Услуга": "Окрашивание", "Цена": "4000"}


def test_docx_headings_paragraphs_and_table(tmp_path: Path) -> None:
    import docx

    path = tmp_path / "about.docx"
    document = docx.Document()
    document.add_heading("О клинике", level=1)
    document.add_paragraph("Мы работаем с 2010 года.")
    document.add_heading("Часы работы", level=2)
    document.add_paragraph("Ежедневно с 9:00 до 21:00.")
    document.add_heading("Цены", level=1)
    table = document.add_table(rows=3, cols=2)
    for row, (a, b) in enumerate([("Услуга", "Цена"), ("Приём терапевта", "2000"), ("УЗИ", "")]):
        table.cell(row, 0).text = a
        table.cell(row, 1).text = b
    document.save(str(path))

    records = load_file(path)

    hours = next(r for r in records if "9:00" in r.text)
    assert hours.source.heading == "О клинике / Часы работы"
    assert hours.text.startswith("О клинике / Часы работы\n")
    assert hours.title == "Часы работы"
    doctor = _by_title(records, "Приём терапевта")
    assert doctor.text == "Услуга: Приём терапевта\nЦена: 2000"
    assert doctor.source.heading == "Цены"
    assert doctor.source.row == 2
    assert _by_title(records, "УЗИ").fields == {"Услуга": "УЗИ"}


def test_pdf_text_layer_with_pages(tmp_path: Path) -> None:
    from fpdf import FPDF

    path = tmp_path / "rules.pdf"
    pdf = FPDF()
    if DEJAVU.exists():
        pdf.add_font("DejaVu", fname=str(DEJAVU))
        pdf.set_font("DejaVu", size=12)
        first, second = "Правила записи: за сутки до визита.", "Отмена бесплатна за 3 часа."
    else:
        pdf.set_font("Helvetica", size=12)
        first, second = "Booking rules: one day ahead.", "Cancellation is free 3 hours ahead."
    pdf.add_page()
    pdf.multi_cell(0, 10, first)
    pdf.add_page()
    pdf.multi_cell(0, 10, second)
    pdf.output(str(path))

    records = load_file(path)

    assert [r.source.page for r in records] == [1, 2]
    assert first in records[0].text
    assert second in records[1].text


def test_markdown_chunks_keep_heading_path_and_size(tmp_path: Path) -> None:
    path = tmp_path / "kb.md"
    long_section = " ".join(f"Предложение номер {i} о процедуре." for i in range(120))
    path.write_text(
        f"# Салон\n\nВступление.\n\n## Процедуры\n\n{long_section}\n\n"
        "## Контакты\n\nТелефон 8 800.",
        encoding="utf-8",
    )

    records = load_file(path)

    procedures = [r for r in records if r.source.heading == "Салон / Процедуры"]
    assert len(procedures) >= 3
    assert all(len(r.answer or "") <= 1000 for r in procedures)
    assert all(r.text.startswith("Салон / Процедуры\n") for r in procedures)
    # Overlap: each continuing chunk starts with words from the end of the previous one.
    first_tail = (procedures[0].answer or "").split()[-3:]
    assert " ".join(first_tail) in (procedures[1].answer or "")
    contacts = [r for r in records if r.source.heading == "Салон / Контакты"]
    assert contacts[0].answer == "Телефон 8 800."


def test_txt_paragraphs(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Первый абзац.\n\nВторой абзац.\n", encoding="utf-8")

    records = load_file(path)

    assert len(records) == 1
    assert records[0].text == "Первый абзац.\nВторой абзац."


def test_html_drops_scripts_and_navigation_keeps_headings(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        """<html><head><style>p{color:red}</style><script>var secret=1;</script></head>
        <body><nav><a href="/">Главная</a> Меню сайта</nav>
        <h1>Доставка</h1><p>Доставляем по Москве за 2 часа.</p>
        <h2>Оплата</h2><ul><li>Картой курьеру</li><li>Наличными</li></ul>
        <table><tr><th>Зона</th><th>Цена</th></tr><tr><td>МКАД</td><td>300</td></tr></table>
        </body></html>""",
        encoding="utf-8",
    )

    records = load_file(path)
    everything = "\n".join(r.text for r in records)

    assert "secret" not in everything
    assert "Меню сайта" not in everything
    assert "color" not in everything
    delivery = next(r for r in records if "2 часа" in r.text)
    assert delivery.source.heading == "Доставка"
    payment = next(r for r in records if "Картой курьеру" in r.text)
    assert payment.source.heading == "Доставка / Оплата"
    assert "Наличными" in payment.text
    zone = _by_title(records, "МКАД")
    assert zone.text == "Зона: МКАД\nЦена: 300"


def test_supported_suffixes() -> None:
    assert {".xlsx", ".xls", ".csv", ".docx", ".pdf", ".md", ".txt", ".html", ".htm"} <= set(
        SUPPORTED_SUFFIXES
    )


def _error(path: Path) -> LoaderError:
    with pytest.raises(LoaderError) as info:
        load_file(path)
    assert info.value.file == path.name
    assert path.name in str(info.value)
    assert info.value.reason in str(info.value)
    return info.value


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8\xff")
    assert "unsupported" in _error(path).reason


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert "empty" in _error(path).reason


def test_corrupt_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"this is not a zip archive at all")
    assert "xlsx" in _error(path).reason


def test_xlsx_zip_without_workbook(tmp_path: Path) -> None:
    path = tmp_path / "odd.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert "xlsx" in _error(path).reason


def test_password_protected_pdf(tmp_path: Path) -> None:
    from fpdf import FPDF

    path = tmp_path / "secret.pdf"
    pdf = FPDF()
    pdf.set_encryption(owner_password="owner", user_password="user")
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, "Top secret")
    pdf.output(str(path))
    assert "password" in _error(path).reason


def test_corrupt_docx_and_pdf(tmp_path: Path) -> None:
    docx_path = tmp_path / "broken.docx"
    docx_path.write_bytes(b"not a word file")
    pdf_path = tmp_path / "broken.pdf"
    pdf_path.write_bytes(b"%PDF-1.4 garbage")
    assert "docx" in _error(docx_path).reason.lower() or "word" in _error(docx_path).reason.lower()
    assert "pdf" in _error(pdf_path).reason.lower()


def test_price_list_section_lines_name_the_rows_below(tmp_path: Path) -> None:
    import openpyxl

    path = tmp_path / "sections.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Услуга", "Цена", "Длительность"])
    ws.append(["Маникюр"])
    ws.append(["Классический", 1500, "60 мин"])
    ws.append(["Педикюр"])
    ws.append(["Аппаратный", 2500, "90 мин"])
    wb.save(path)

    records = load_file(path)

    assert [r.title for r in records] == ["Классический", "Аппаратный"]
    assert records[1].source.heading == "Педикюр"
    assert records[1].text.startswith("Раздел: Педикюр\nУслуга: Аппаратный")


def test_csv_without_a_header_row(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("Маникюр;1500\nПедикюр;2500\n", encoding="utf-8")

    records = load_file(path)

    assert [r.title for r in records] == ["Маникюр", "Педикюр"]
    assert records[0].fields == {"Столбец 1": "Маникюр", "Столбец 2": "1500"}
    assert records[0].source.row == 1
