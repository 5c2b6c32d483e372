"""Finding phone numbers in visitor text and bringing them to +7XXXXXXXXXX."""

from __future__ import annotations

import pytest

from talkme_consultant.helpers.phones import extract_phones, normalize_phone


@pytest.mark.parametrize(
    "written",
    [
        "8 916 123-45-67",
        "+7(916)1234567",
        "+7 (916) 123-45-67",
        "9161234567",
        "89161234567",
        "7 916 123 45 67",
        "8-916-123-45-67",
        "+7 916 123 4567",
        "8.916.123.45.67",
    ],
)
def test_every_way_of_writing_a_russian_mobile_gives_one_form(written: str) -> None:
    assert extract_phones(f"Мой номер {written}, звоните после шести") == ["+79161234567"]
    assert normalize_phone(written) == "+79161234567"


def test_several_numbers_are_found_in_order_without_repeats() -> None:
    text = "Рабочий 8 (495) 123-45-67, мобильный +7 916 123 45 67, ещё раз 89161234567."
    assert extract_phones(text) == ["+74951234567", "+79161234567"]


def test_toll_free_and_foreign_numbers() -> None:
    assert extract_phones("звоните 8-800-555-35-35!") == ["+78005553535"]
    assert extract_phones("в Лондоне: +44 20 7946 0958") == ["+442079460958"]


@pytest.mark.parametrize(
    "text",
    [
        "Стрижка 1 500 ₽, окрашивание 3 000 – 4 500 ₽",
        "Запись на 12.03.2025 в 10:00",
        "Заказ № 1234567890",  # ten digits, but no Russian code starts with 1
        "Стоимость 2 300 500 400 руб",
        "123-45-67",  # a local number without the code: not enough to call back
        "",
    ],
)
def test_prices_dates_and_order_numbers_are_not_phones(text: str) -> None:
    assert extract_phones(text) == []


@pytest.mark.parametrize("raw", ["12345", "+7 916 123 45", "1234567890", "абв"])
def test_normalize_rejects_what_is_not_a_whole_phone(raw: str) -> None:
    assert normalize_phone(raw) is None
