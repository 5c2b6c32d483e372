"""A price in the console's texts never breaks across lines: its spaces are no-break spaces."""

from __future__ import annotations

import pytest
from markupsafe import Markup

from talkme_consultant.web.console.phone_links import linked_phones
from talkme_consultant.web.console.text_view import unbroken_prices

NB = "\u00a0"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Маникюр стоит 2 800 ₽.", f"Маникюр стоит 2{NB}800{NB}₽."),
        ("Стрижка 1 500 руб. за час", f"Стрижка 1{NB}500{NB}руб. за час"),
        (
            "Окрашивание 12 000 р. и укладка 900 р",
            f"Окрашивание 12{NB}000{NB}р. и укладка 900{NB}р",
        ),
        ("Курс 1 250 000 рублей", f"Курс 1{NB}250{NB}000{NB}рублей"),
        ("Брови 700₽", "Брови 700₽"),
        ("Комплекс 3 500,50 ₽", f"Комплекс 3{NB}500,50{NB}₽"),
        ("от 1 500 – 2 000 руб.", f"от 1{NB}500{NB}–{NB}2{NB}000{NB}руб."),
        ("Цена 2 800 Р.", f"Цена 2{NB}800{NB}Р."),
    ],
)
def test_a_price_s_spaces_do_not_break(text: str, shown: str) -> None:
    assert str(unbroken_prices(text)) == shown


def test_numbers_that_are_no_price_may_break_where_they_were_written() -> None:
    for text in (
        "Звоните +7 926 111-22-33",
        "Звоните 8 926 111 22 33",
        "Приходите 15 марта в 2 часа",
        "В 2024 году 300 клиентов",
        "У нас 3 разных мастера",
    ):
        assert str(unbroken_prices(text)) == text


@pytest.mark.parametrize("text", ["Звоните 8 926 111-22-33 р", "Номер 8 800 200-00-00 - 500 руб"])
def test_a_phone_s_tail_before_a_currency_word_is_no_price(text: str) -> None:
    assert NB not in str(unbroken_prices(text).split(" - ")[0])


def test_a_phone_beside_a_price_is_left_as_written() -> None:
    shown = str(unbroken_prices("Звоните +7 926 111-22-33, маникюр 2 800 ₽"))
    assert shown == f"Звоните +7 926 111-22-33, маникюр 2{NB}800{NB}₽"


def test_the_text_is_escaped_before_the_spaces_are_replaced() -> None:
    shown = unbroken_prices('<script>alert("1 500 ₽")</script> & <b>2 800 ₽</b>')
    assert isinstance(shown, Markup)
    assert "<script>" not in shown and "<b>" not in shown
    assert str(shown) == (
        f"&lt;script&gt;alert(&#34;1{NB}500{NB}₽&#34;)&lt;/script&gt; &amp; "
        f"&lt;b&gt;2{NB}800{NB}₽&lt;/b&gt;"
    )


def test_markup_already_made_is_kept_and_its_prices_joined() -> None:
    shown = str(unbroken_prices(linked_phones("Мой 8 916 123-45-67, бюджет 5 000 ₽")))
    assert 'href="tel:+79161234567"' in shown
    assert ">8 916 123-45-67</a>" in shown
    assert shown.endswith(f"бюджет 5{NB}000{NB}₽")


def test_nothing_shows_nothing() -> None:
    assert str(unbroken_prices(None)) == ""
    assert str(unbroken_prices("")) == ""
