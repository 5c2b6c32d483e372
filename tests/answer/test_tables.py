"""Price-list rows said the way a person says them, for any business's table.

The figures must stay grounded: every reply built here passes the grounding guard against the
row it came from.
"""

from __future__ import annotations

import pytest

from talkme_consultant.answer.tables import (
    asks_for_a_list,
    broad_rows,
    column_unit,
    format_amount,
    format_value,
    list_reply,
    row_line,
    row_sentence,
)
from talkme_consultant.dialog.guard import check_grounding
from talkme_consultant.knowledge.loaders.tables import Grid, grid_records
from talkme_consultant.knowledge.records import Record, Source
from talkme_consultant.knowledge.search import Hit

# --- numbers and units ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        ("1800", "1 800"),
        ("900", "900"),
        ("12000", "12 000"),
        ("1250000", "1 250 000"),
        ("2500.5", "2 500,5"),
        ("1800.00", "1 800"),
        ("1 800", "1 800"),
        ("от 3000 руб.", "от 3000 руб."),
    ],
)
def test_amounts_are_written_with_grouped_thousands_and_a_decimal_comma(
    raw: str, said: str
) -> None:
    assert format_amount(raw) == said


@pytest.mark.parametrize(
    ("column", "unit"),
    [
        ("Цена, руб.", "₽"),
        ("Цена, руб", "₽"),
        ("Стоимость (руб.)", "₽"),
        ("Цена", "₽"),
        ("Price, USD", "$"),
        ("Длительность, мин", "мин"),
        ("Продолжительность (минут)", "мин"),
        ("Длительность, ч", "ч"),
        ("Срок, дней", "дн."),
        ("Объём, мл", "мл"),
        ("Стоимость, руб./мес.", "₽/мес."),
        ("Цена, включая НДС", None),
        ("Количество занятий", None),
        ("Описание", None),
    ],
)
def test_the_unit_is_read_from_the_column_name(column: str, unit: str | None) -> None:
    assert column_unit(column) == unit


@pytest.mark.parametrize(
    ("column", "value", "said"),
    [
        ("Цена, руб.", "1800", "1 800 ₽"),
        ("Длительность, мин", "60", "60 мин"),
        ("Длительность", "60 мин", "60 мин"),
        ("Стоимость", "1500 руб.", "1 500 ₽"),
        ("Цена, руб.", "1500-2000", "1 500–2 000 ₽"),
        ("Цена, руб.", "скидка 15%", None),
        ("Цена, включая НДС", "1800", None),
        ("Стоимость, руб./мес.", "7200", "7 200 ₽/мес."),
        ("Количество занятий", "8", None),
    ],
)
def test_a_number_gets_its_columns_unit(column: str, value: str, said: str | None) -> None:
    assert format_value(column, value) == said


# --- rows ---------------------------------------------------------------------------------------


def salon_row(
    row: int, category: str, service: str, price: str, minutes: str, about: str
) -> Record:
    fields = {
        "Категория": category,
        "Услуга": service,
        "Цена, руб.": price,
        "Длительность, мин": minutes,
        "Описание": about,
    }
    return Record(
        text="\n".join(f"{k}: {v}" for k, v in fields.items()),
        title=service,
        answer="\n".join(f"{k}: {v}" for k, v in fields.items()),
        source=Source(file="prices.xlsx", sheet="Услуги", row=row),
        fields=fields,
    )


GEL = salon_row(
    4,
    "Маникюр",
    "Маникюр с покрытием гель-лак",
    "2900",
    "100",
    "Комбинированный маникюр и однотонное покрытие",
)


def test_a_specific_row_is_one_sentence_with_its_description() -> None:
    assert row_sentence(GEL) == (
        "Маникюр с покрытием гель-лак — 2 900 ₽, 100 мин. "
        "Комбинированный маникюр и однотонное покрытие."
    )


def test_a_list_line_has_the_name_and_figures_without_the_category_or_description() -> None:
    assert row_line(GEL) == "Маникюр с покрытием гель-лак — 2 900 ₽, 100 мин"


def test_a_price_that_is_not_a_number_is_quoted_as_written() -> None:
    record = Record(
        text="Название: Подарочный сертификат\nЦена, руб.: от 3000 руб.",
        title="Подарочный сертификат",
        source=Source(file="prices.xlsx", sheet="Акции", row=8),
        fields={"Название": "Подарочный сертификат", "Цена, руб.": "от 3000 руб."},
    )
    assert row_sentence(record) == "Подарочный сертификат — от 3000 руб."


def test_other_short_values_follow_the_figures() -> None:
    record = Record(
        text="Курс: Английский A1\nСтоимость, руб.: 6400\nКоличество занятий: 8",
        title="Английский A1",
        source=Source(file="school.csv", row=2),
        fields={"Курс": "Английский A1", "Стоимость, руб.": "6400", "Количество занятий": "8"},
    )
    assert row_sentence(record) == "Английский A1 — 6 400 ₽, количество занятий: 8."


# --- a second business: a dental clinic's price list -------------------------------------------


def clinic_row(row: int, section: str, name: str, price: str, minutes: str) -> Record:
    fields = {
        "Раздел": section,
        "Наименование": name,
        "Стоимость (руб.)": price,
        "Время приёма (минут)": minutes,
    }
    return Record(
        text="\n".join(f"{k}: {v}" for k, v in fields.items()),
        title=name,
        source=Source(file="clinic.xlsx", sheet="Прайс", row=row),
        fields=fields,
    )


CLEANING = clinic_row(2, "Гигиена", "Профессиональная чистка зубов", "5500", "60")
AIRFLOW = clinic_row(3, "Гигиена", "Чистка зубов Air Flow", "3900", "40")
KIDS_CLEANING = clinic_row(4, "Детская стоматология", "Чистка зубов ребёнку", "2500", "30")
FILLING = clinic_row(5, "Терапия", "Пломба светового отверждения", "4800", "60")
WHITENING = clinic_row(6, "Гигиена", "Отбеливание зубов ZOOM", "25000", "90")


def hit(record: Record, confidence: float) -> Hit:
    return Hit(record_id=record.record_id, record=record, score=confidence, confidence=confidence)


def test_a_broad_question_gets_the_rows_of_one_section_that_share_its_words() -> None:
    hits = [
        hit(CLEANING, 0.6),
        hit(AIRFLOW, 0.55),
        hit(KIDS_CLEANING, 0.4),  # another section of the price list
        hit(WHITENING, 0.3),  # same section, but not a cleaning
        hit(FILLING, 0.1),
    ]
    rows = broad_rows(hits, "Сколько стоит чистка зубов?", floor=0.3)
    assert [h.record for h in rows] == [CLEANING, AIRFLOW]

    reply = list_reply(rows)
    assert reply.splitlines() == [
        "Вот что у нас есть:",
        "1) Профессиональная чистка зубов — 5 500 ₽, 60 мин",
        "2) Чистка зубов Air Flow — 3 900 ₽, 40 мин",
        "Напишите номер или название — расскажу подробнее.",
    ]
    assert check_grounding(reply, [h.record.text for h in rows]) == []


def test_a_question_naming_what_sets_a_row_apart_is_specific() -> None:
    hits = [hit(AIRFLOW, 0.95), hit(CLEANING, 0.5), hit(WHITENING, 0.2)]
    assert broad_rows(hits, "сколько стоит чистка Air Flow", floor=0.3) == []


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("какие массажи есть и почем", True),
        ("Какие виды стрижек у вас есть?", True),
        ("пришлите список услуг", True),
        ("каких мастеров можно выбрать", True),
        ("сколько стоит маникюр", False),
        ("какой у вас адрес?", False),
        ("RF-лифтинг лица делаете?", False),
    ],
)
def test_a_visitor_asking_which_ones_there_are_asks_for_a_list(question: str, asks: bool) -> None:
    assert asks_for_a_list(question) is asks


def test_a_weak_best_row_gets_no_list() -> None:
    hits = [hit(CLEANING, 0.2), hit(AIRFLOW, 0.19)]
    assert broad_rows(hits, "чистка зубов", floor=0.3) == []


def test_the_words_must_be_in_the_best_rows_name_for_a_list() -> None:
    # The best row was found by meaning alone: nothing tells which rows are "the same kind".
    hits = [hit(WHITENING, 0.6), hit(CLEANING, 0.55), hit(AIRFLOW, 0.5)]
    assert broad_rows(hits, "хочу белоснежную улыбку", floor=0.3) == []


def test_a_shared_preposition_alone_does_not_make_a_list() -> None:
    lessons = [
        Record(
            text=f"Курс: {name}\nЦена, руб.: {price}",
            title=name,
            source=Source(file="school.csv", row=row),
            fields={"Курс": name, "Цена, руб.": price},
        )
        for row, (name, price) in enumerate(
            [("Курс для взрослых", "9000"), ("Курс для детей", "7000")], start=2
        )
    ]
    hits = [hit(lessons[0], 0.6), hit(lessons[1], 0.5)]
    assert broad_rows(hits, "а для пенсионеров есть?", floor=0.3) == []
    assert len(broad_rows(hits, "сколько стоит курс", floor=0.3)) == 2


def test_a_preposition_that_sets_a_row_apart_makes_the_question_specific() -> None:
    plain = clinic_row(7, "Терапия", "Лечение кариеса без анестезии", "3500", "45")
    numbed = clinic_row(8, "Терапия", "Лечение кариеса с анестезией", "4200", "50")
    hits = [hit(plain, 0.8), hit(numbed, 0.6)]
    assert broad_rows(hits, "лечение кариеса без анестезии", floor=0.3) == []
    assert len(broad_rows(hits, "лечение кариеса", floor=0.3)) == 2


def test_rows_without_something_are_not_listed_for_a_question_with_it() -> None:
    numbed = clinic_row(8, "Терапия", "Лечение кариеса с анестезией", "4200", "50")
    deep = clinic_row(9, "Терапия", "Лечение глубокого кариеса с анестезией", "5200", "60")
    plain = clinic_row(7, "Терапия", "Лечение кариеса без анестезии", "3500", "45")
    hits = [hit(numbed, 0.7), hit(plain, 0.65), hit(deep, 0.6)]
    rows = broad_rows(hits, "цены на лечение кариеса с анестезией", floor=0.3)
    assert [h.record for h in rows] == [numbed, deep]
    rows = broad_rows(hits, "лечение кариеса с утра можно?", floor=0.3)
    assert [h.record for h in rows] == [numbed, plain, deep]


def test_a_long_price_list_is_cut_to_six_rows_best_first() -> None:
    rows = [
        clinic_row(n, "Гигиена", f"Чистка зубов, вариант {n}", str(1000 * n), "30")
        for n in range(2, 11)
    ]
    hits = [hit(r, 0.9 - n * 0.05) for n, r in enumerate(rows)]
    listed = broad_rows(hits, "чистка зубов", floor=0.3)
    assert [h.record for h in listed] == rows[:6]


@pytest.mark.parametrize("record", [CLEANING, AIRFLOW, KIDS_CLEANING, FILLING, WHITENING, GEL])
def test_every_rendered_row_passes_the_grounding_guard(record: Record) -> None:
    assert check_grounding(row_sentence(record), [record.text]) == []
    assert check_grounding(row_line(record), [record.text]) == []


# --- a third business, read by the real table loader: a language school -----------------------


def school_price_list() -> list[Record]:
    """A school's price list with section lines, as the spreadsheet and CSV loaders read it."""
    cells = [
        ["Прайс-лист школы «Полиглот»", "", ""],
        ["Курс", "Стоимость, руб./мес.", "Продолжительность, ч"],
        ["Английский язык", "", ""],
        ["Английский для начинающих", "7200", "8"],
        ["Английский разговорный", "8400", "8"],
        ["Английский для подготовки к ЕГЭ", "9600", "12"],
        ["Немецкий язык", "", ""],
        ["Немецкий для начинающих", "7800", "8"],
    ]
    grid = Grid(rows=[(number, row) for number, row in enumerate(cells, start=1)])
    return grid_records(grid, file="polyglot.xlsx", sheet="Цены")


def test_a_loaded_price_list_with_sections_answers_a_broad_question_within_one_section() -> None:
    records = {record.title: record for record in school_price_list()}
    beginners = records["Английский для начинающих"]
    hits = [
        hit(beginners, 0.5),
        hit(records["Английский разговорный"], 0.45),
        hit(records["Немецкий для начинающих"], 0.44),  # another section
        hit(records["Английский для подготовки к ЕГЭ"], 0.3),
    ]
    rows = broad_rows(hits, "сколько стоит английский?", floor=0.3)
    reply = list_reply(rows)
    assert reply.splitlines()[1:4] == [
        "1) Английский для начинающих — 7 200 ₽/мес., 8 ч",
        "2) Английский разговорный — 8 400 ₽/мес., 8 ч",
        "3) Английский для подготовки к ЕГЭ — 9 600 ₽/мес., 12 ч",
    ]
    assert check_grounding(reply, [h.record.text for h in rows]) == []

    specific = broad_rows(hits, "английский для начинающих", floor=0.3)
    assert specific == []
    assert row_sentence(beginners) == "Английский для начинающих — 7 200 ₽/мес., 8 ч."
