"""Reading a booking message: a request or a question about booking, the wished day and time in
Russian, the service among the calendar's, the master and the visitor's name."""

from __future__ import annotations

from datetime import date, time

import pytest

from talkme_consultant.dialog.booking_intent import wants_to_book
from talkme_consultant.dialog.booking_match import match_services, read_master, read_name
from talkme_consultant.dialog.when import read_wish
from talkme_consultant.helpers.calendar import CalendarService, Master

FRIDAY = date(2026, 12, 4)
SERVICES = [
    CalendarService(101, "Маникюр без покрытия"),
    CalendarService(102, "Маникюр с покрытием гель-лак"),
    CalendarService(103, "Японский маникюр"),
    CalendarService(201, "Мужская модельная стрижка"),
    CalendarService(202, "Женская стрижка, короткие волосы"),
]


@pytest.mark.parametrize(
    "text",
    [
        "Хочу записаться на маникюр с покрытием в субботу",
        "Запишите меня на мужскую стрижку завтра в 16:00, Иван, +7 926 111-22-33",
        "можно к вам в субботу на стрижку?",
        "есть окошко завтра вечером?",
        "Хочу на японский маникюр к Ольге завтра вечером",
        "как записаться на маникюр в субботу?",
        "хочу записать сына на стрижку",
        "можно записать маму к Ольге на субботу?",
        "хочу запись на субботу к Ольге",
    ],
)
def test_a_request_to_be_booked_starts_a_booking(text: str) -> None:
    assert wants_to_book(text)


@pytest.mark.parametrize(
    "text",
    [
        "как записаться?",
        "Как записаться на процедуру?",
        "Можно ли записаться прямо в чате на сайте?",
        "Как отменить или перенести запись?",
        "сколько стоит маникюр?",
        "можно к конкретному мастеру записаться? к Ольге например",
        "до скольки вечером можно записаться на окрашивание на тверской",
        "можно с собакой прийти",
        "со своим лаком можно прийти?",
        # a price asked beside a wish to book is answered first, from the price list
        "добрый день, хочу записаться на наращивание ресниц классика, сколько по деньгам?",
        # «записать» without «на» or «к» is a recording, not a booking
        "хотела записать стрим, как гуляю по городу, это можно в приложении?",
        "можно записать видео процедуры?",
        "хочу себе запись трансляции, чтобы подмонтировать потом, как сделать?",
    ],
)
def test_a_question_about_booking_is_not_a_booking(text: str) -> None:
    assert not wants_to_book(text)


@pytest.mark.parametrize(
    ("text", "days", "earliest", "exact", "label"),
    [
        ("в субботу", (date(2026, 12, 5),), None, None, "в субботу, 5 декабря"),
        (
            "завтра после обеда",
            (date(2026, 12, 5),),
            time(14),
            None,
            "завтра, 5 декабря, после обеда",
        ),
        (
            "в следующий вторник вечером",
            (date(2026, 12, 8),),
            time(17),
            None,
            "во вторник, 8 декабря, вечером",
        ),
        ("5 декабря к 15:00", (date(2026, 12, 5),), None, time(15), "завтра, 5 декабря, к 15:00"),
        ("на выходных", (date(2026, 12, 5), date(2026, 12, 6)), None, None, "на выходных"),
        ("сегодня в 4 дня", (FRIDAY,), None, time(16), "сегодня, 4 декабря, к 16:00"),
        ("3 января утром", (date(2027, 1, 3),), time(0), None, "в воскресенье, 3 января, утром"),
    ],
)
def test_russian_days_and_times_are_read_in_the_business_zone(
    text: str,
    days: tuple[date, ...],
    earliest: time | None,
    exact: time | None,
    label: str,
) -> None:
    wish = read_wish(text, FRIDAY)
    assert (wish.days, wish.earliest, wish.exact) == (days, earliest, exact)
    assert wish.label == label


def test_the_service_named_wins_and_a_broad_word_fits_several() -> None:
    assert [s.id for s in match_services("маникюр с покрытием", SERVICES)] == [102]
    assert [s.id for s in match_services("маникюр без покрытия", SERVICES)] == [101]
    assert [s.id for s in match_services("мужскую стрижку", SERVICES)] == [201]
    assert [s.id for s in match_services("на маникюр", SERVICES)] == [101, 102, 103]
    assert match_services("массаж спины", SERVICES) == []


def test_the_master_and_the_name_are_read_in_any_case() -> None:
    masters = [Master(11, "Ольга"), Master(21, "Алексей")]
    assert read_master("к Ольге в субботу", masters) == masters[0]
    assert read_master("к Алексею", masters) == masters[1]
    assert read_name("на стрижку завтра в 16:00, Иван, +7 926 111-22-33", asked=False) == "Иван"
    assert read_name("меня зовут Анна", asked=False) == "Анна"
    assert read_name("анна", asked=True) == "Анна"
    assert read_name("давайте вторую", asked=True) is None
