"""Basics from the profile: addresses, hours, phones, e-mail, site, messengers and parking.

Pure specs of `answer/basics.py` over the shipped salon profile (two branches, Moscow time)
and a few hand-made profiles for what a profile may lack.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from talkme_consultant.answer.base import Intent, TurnContext
from talkme_consultant.answer.basics import (
    BasicsQuestion,
    DayKind,
    Topic,
    branches_named,
    lean_on,
    read_basics,
)
from talkme_consultant.answer.basics_wording import word_basics
from talkme_consultant.answer.offline import OfflineAnswerer
from talkme_consultant.answer.profile_basics import ProfileBasics
from talkme_consultant.config import SAMPLE_PROFILE_PATH
from talkme_consultant.dialog.guard import check_grounding
from talkme_consultant.knowledge.search import Hit
from talkme_consultant.profile import Branch, BusinessProfile, Contacts, load_profile

SALON = load_profile(SAMPLE_PROFILE_PATH)
TVERSKAYA_PHONE = "+7 (495) 000-12-34"
SOKOLNIKI_PHONE = "+7 (495) 000-56-78"
# Sunday 29 November 2026, 12:00 in Moscow.
SUNDAY_NOON = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def basics_at(moment: datetime, profile: BusinessProfile = SALON) -> ProfileBasics:
    return ProfileBasics(profile, now=lambda: moment)


def reply(text: str, profile: BusinessProfile = SALON, moment: datetime = SUNDAY_NOON) -> str:
    answer = basics_at(moment, profile).reply(text)
    assert answer is not None, f"{text!r} was not understood as a basics question"
    return answer


# -- understanding ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "topics", "branches", "day", "weekday"),
    [
        ("в воскресенье в Сокольниках до которого часу?", [Topic.HOURS], ["sokolniki"], "w", 6),
        ("А где вы находитесь?", [Topic.ADDRESS], [], None, None),
        ("Во сколько открываетесь в субботу?", [Topic.HOURS], [], "w", 5),
        ("почта у вас какая?", [Topic.EMAIL], [], None, None),
        ("телефон", [Topic.PHONE], [], None, None),
        ("есть парковка?", [Topic.PARKING], [], None, None),
        ("как до вас доехать от метро", [Topic.ROUTE], [], None, None),
        ("вы работаете сегодня?", [Topic.HOURS], [], DayKind.TODAY, None),
        ("где парковка на Тверской?", [Topic.PARKING], ["tverskaya"], None, None),
        ("Подскажите адрес филиала на Пушкинской", [Topic.ADDRESS], ["tverskaya"], None, None),
        ("Сокольническая... то есть Кленовая улица, телефон?", None, None, None, None),
        ("номер телефона в Сокольниках", [Topic.PHONE], ["sokolniki"], None, None),
        ("какой у вас сайт", [Topic.SITE], [], None, None),
        ("телеграм есть?", [Topic.MESSENGERS], [], None, None),
        ("вы работаете в праздники?", [Topic.HOURS], [], DayKind.HOLIDAYS, None),
        ("до скольки работаете в выходные?", [Topic.HOURS], [], DayKind.WEEKENDS, None),
        ("завтра открыты?", [Topic.HOURS], [], DayKind.TOMORROW, None),
        ("Электронная почта", [Topic.EMAIL], [], None, None),
        ("Ссылка на сайт", [Topic.SITE], [], None, None),
        ("Телефон администратора", [Topic.PHONE], [], None, None),
        ("Можно приехать на машине?", [Topic.PARKING], [], None, None),
        ("Как вас найти?", [Topic.ROUTE], [], None, None),
        ("Работаете в новогодние праздники?", [Topic.HOURS], [], DayKind.HOLIDAYS, None),
        ("какое метро рядом", [Topic.ADDRESS], [], None, None),
    ],
)
def test_a_basics_question_is_understood_with_its_topic_branch_and_day(
    text: str,
    topics: list[Topic] | None,
    branches: list[str] | None,
    day: DayKind | str | None,
    weekday: int | None,
) -> None:
    question = read_basics(text, SALON)
    if topics is None:
        assert question is None
        return
    assert question is not None
    assert list(question.topics) == topics
    assert list(question.branch_ids) == branches
    assert question.day == (DayKind.WEEKDAY if day == "w" else day)
    assert question.weekday == weekday


def test_branches_are_recognised_in_any_word_form() -> None:
    for text in (
        "адрес в Сокольниках",
        "адрес Сокольники",
        "адрес филиала у метро Сокольники",
        "адрес на Кленовой",
    ):
        question = read_basics(text, SALON)
        assert question is not None and question.branch_ids == ("sokolniki",), text
    for text in ("адрес на Тверской", "адрес у Чеховской", "адрес, Тверская"):
        question = read_basics(text, SALON)
        assert question is not None and question.branch_ids == ("tverskaya",), text


@pytest.mark.parametrize(
    "text",
    [
        "сколько стоит маникюр в Сокольниках",
        "кератин сколько стоит у вас",
        "сколько у вас мастеров работает",
        "есть ли скидки утром?",
        "работает ли мастер Анна в субботу",
        "Можно записаться на субботу в Сокольниках?",
        "а в субботу?",
        "есть филиал в Химках?",
        "Во сколько последняя запись?",
        "Какие мастера работают в субботу?",
        "В какое время работает массажист?",
        "Вы работаете с детьми?",
        "Сколько по времени делается маникюр?",
        "Вы работаете 31 декабря?",
        "Где находится ближайший банкомат?",
        "Сколько стоит парковка?",
        "Номер машины надо называть?",
        "Какой у вас номер карты для оплаты?",
        "У вас есть работа для мастера?",
        "есть работа?",
        "где купить сертификат",
        "а машинкой?",  # the hair clipper, not a car
        "на сколько дней?",  # a count of days, not the hours
        "",
    ],
)
def test_questions_about_something_else_are_left_to_the_knowledge_search(text: str) -> None:
    assert read_basics(text, SALON) is None
    assert basics_at(SUNDAY_NOON).reply(text) is None


# -- wording: hours -----------------------------------------------------------------------------


def test_sunday_in_sokolniki_closes_at_six() -> None:
    assert reply("в воскресенье в Сокольниках до которого часу?") == (
        "Филиал в Сокольниках в воскресенье работает с 10:00 до 18:00."
    )


def test_a_day_without_a_branch_gives_both_branches() -> None:
    assert reply("Во сколько открываетесь в субботу?") == (
        "В субботу мы работаем так:\n"
        "• Филиал на Тверской — с 10:00 до 20:00\n"
        "• Филиал в Сокольниках — с 10:00 до 20:00"
    )


def test_a_weekday_uses_the_weekdays_hours() -> None:
    assert reply("до скольки вы в среду работаете на Тверской?") == (
        "Филиал на Тверской в среду работает с 9:00 до 21:00."
    )


def test_today_is_the_business_local_day() -> None:
    # 22:30 UTC on Saturday is already Sunday in Moscow.
    late_saturday_utc = datetime(2026, 11, 28, 22, 30, tzinfo=UTC)
    assert reply("вы работаете сегодня?", moment=late_saturday_utc) == (
        "Сегодня воскресенье, мы работаем так:\n"
        "• Филиал на Тверской — с 10:00 до 20:00\n"
        "• Филиал в Сокольниках — с 10:00 до 18:00"
    )
    assert basics_at(late_saturday_utc).today() == date(2026, 11, 29)


def test_tomorrow_for_one_branch() -> None:
    assert reply("завтра Сокольники открыты?") == (
        "Завтра понедельник. Филиал в Сокольниках работает с 10:00 до 21:00."
    )


def test_weekends_list_both_days_where_they_differ() -> None:
    assert reply("до скольки работаете в выходные?") == (
        "В выходные мы работаем так:\n"
        "• Филиал на Тверской — с 10:00 до 20:00\n"
        "• Филиал в Сокольниках: в субботу — с 10:00 до 20:00, в воскресенье — с 10:00 до 18:00"
    )


def test_hours_without_a_day_give_the_whole_week() -> None:
    assert reply("режим работы в Сокольниках") == (
        "Филиал в Сокольниках работает: пн–пт с 10:00 до 21:00, сб с 10:00 до 20:00, "
        "вс с 10:00 до 18:00."
    )


def test_holidays_missing_from_the_profile_are_admitted_with_the_phones() -> None:
    text = reply("вы работаете в праздники?")
    assert text.startswith("Точных сведений о работе в праздничные дни у меня нет")
    assert TVERSKAYA_PHONE in text and SOKOLNIKI_PHONE in text
    assert "Обычный график:" in text


def one_branch(**fields: object) -> BusinessProfile:
    branch = {"id": "center", "name": "Студия в центре", "address": "ул. Ленина, д. 5"}
    return BusinessProfile.model_validate(
        {"name": "Студия", "timezone": "Europe/Moscow", "branches": [{**branch, **fields}]}
    )


def test_holidays_from_the_profile_are_quoted() -> None:
    studio = one_branch(holidays="1 января — выходной, в остальные праздники — с 11:00 до 17:00")
    assert reply("в праздничные дни работаете?", studio) == (
        "В праздничные дни:\n"
        "• Студия в центре: 1 января — выходной, в остальные праздники — с 11:00 до 17:00"
    )
    assert "в праздничные дни: 1 января" in studio.facts_text()


def test_a_day_off_is_said_as_not_working() -> None:
    studio = one_branch(hours={"weekdays": "с 10:00 до 19:00", "sunday": "выходной"})
    assert reply("в воскресенье работаете?", studio) == (
        "Студия в центре в воскресенье не работает."
    )
    assert reply("в субботу работаете?", studio).startswith("Сведений о часах работы у меня нет")


def test_one_line_of_hours_serves_every_day() -> None:
    studio = one_branch(hours="ежедневно с 10:00 до 22:00")
    assert reply("до скольки открыто в субботу?", studio) == (
        "Студия в центре в субботу работает ежедневно с 10:00 до 22:00."
    )


# -- wording: address, contacts, parking --------------------------------------------------------


def test_where_are_you_gives_both_addresses_with_metro() -> None:
    assert reply("А где вы находитесь?") == (
        "Наши адреса:\n"
        "• Филиал на Тверской: г. Москва, Малый Вересковый переулок, д. 7, стр. 1 "
        "(ближайшие станции метро Тверская, Пушкинская, Чеховская)\n"
        "• Филиал в Сокольниках: г. Москва, ул. Верхняя Кленовая, д. 14, корп. 2 "
        "(метро Сокольники)"
    )


def test_the_way_from_the_metro_gives_addresses_and_phones_for_the_road() -> None:
    text = reply("как до вас доехать от метро")
    assert text.startswith("Наши адреса:")
    assert text.endswith(
        "Если в пути понадобится подсказка, звоните: "
        f"Филиал на Тверской — {TVERSKAYA_PHONE}; Филиал в Сокольниках — {SOKOLNIKI_PHONE}."
    )


def test_phone_of_one_branch_and_of_all() -> None:
    assert reply("телефон в Сокольниках") == f"Филиал в Сокольниках, телефон: {SOKOLNIKI_PHONE}."
    assert reply("телефон") == (
        "Наши телефоны:\n"
        f"• Филиал на Тверской, телефон: {TVERSKAYA_PHONE}\n"
        f"• Филиал в Сокольниках, телефон: {SOKOLNIKI_PHONE}"
    )


def test_email_site_and_messengers() -> None:
    assert reply("почта у вас какая?") == "Наша электронная почта: hello@lavanda-salon.example."
    assert reply("какой у вас сайт") == "Наш сайт: https://lavanda-salon.example."
    assert reply("вы в ватсапе есть?") == (
        "Нам можно написать в мессенджерах:\n"
        "• Telegram: @lavanda_salon_example\n"
        "• WhatsApp: +7 (900) 000-45-45\n\n"
        "В мессенджерах отвечают ежедневно с 9:00 до 21:00."
    )


def test_parking_for_each_branch() -> None:
    assert reply("есть парковка?") == (
        "Парковка:\n"
        "• Филиал на Тверской — собственной парковки нет, рядом платная городская парковка.\n"
        "• Филиал в Сокольниках — бесплатная парковка для клиентов во дворе на 4 машины, "
        "номер машины назвать администратору заранее."
    )


def test_a_missing_fact_is_admitted_and_the_phone_offered() -> None:
    studio = one_branch(phone="+7 (812) 000-11-22")
    assert reply("почта у вас какая?", studio) == (
        "Адреса электронной почты у меня нет — уточните, пожалуйста, по телефону: "
        "Студия в центре — +7 (812) 000-11-22."
    )
    assert reply("парковка есть?", studio) == (
        "Студия в центре: сведений о парковке у меня нет — уточните, пожалуйста, по телефону: "
        "Студия в центре — +7 (812) 000-11-22."
    )


def test_contacts_give_every_way_to_reach_the_business() -> None:
    text = reply("какие у вас контакты?")
    for value in (TVERSKAYA_PHONE, "hello@lavanda-salon.example", "https://lavanda-salon.example"):
        assert value in text


@pytest.mark.parametrize(
    "text",
    [
        "в воскресенье в Сокольниках до которого часу?",
        "А где вы находитесь?",
        "вы работаете сегодня?",
        "вы работаете в праздники?",
        "какие у вас контакты?",
        "есть парковка?",
        "как до вас доехать от метро",
        "до скольки работаете в выходные?",
    ],
)
def test_every_value_of_a_basics_reply_is_grounded_in_the_profile(text: str) -> None:
    assert check_grounding(reply(text), [SALON.facts_text()]) == []


def test_a_profile_without_branches_answers_nothing() -> None:
    bare = BusinessProfile(name="Студия", contacts=Contacts(email="a@b.example"))
    assert read_basics("почта у вас какая?", bare) is None


def test_wording_keeps_the_order_of_the_topics_asked() -> None:
    question = BasicsQuestion(topics=(Topic.PHONE, Topic.ADDRESS), branch_ids=("sokolniki",))
    text = word_basics(question, SALON, date(2026, 11, 29))
    assert text.index(SOKOLNIKI_PHONE) < text.index("Кленовая")


def test_an_empty_holidays_line_is_rejected() -> None:
    with pytest.raises(ValueError, match="holidays"):
        Branch(id="x", name="x", address="x", holidays="")


# -- a message that leans on the dialogue ----------------------------------------------------------

SOKOLNIKI_ADDRESS = BasicsQuestion(topics=(Topic.ADDRESS,), branch_ids=("sokolniki",))
SUNDAY_HOURS = BasicsQuestion(topics=(Topic.HOURS,), branch_ids=(), day=DayKind.WEEKDAY, weekday=6)


@pytest.mark.parametrize(
    ("text", "earlier", "branch", "expected"),
    [
        # A pronoun is the branch spoken of; the day is the message's own.
        (
            "а до скольки он работает в воскресенье?",
            SOKOLNIKI_ADDRESS,
            "sokolniki",
            BasicsQuestion(
                topics=(Topic.HOURS,), branch_ids=("sokolniki",), day=DayKind.WEEKDAY, weekday=6
            ),
        ),
        # «там» and «а …» with no branch named: the branch spoken of.
        (
            "там парковка есть?",
            SOKOLNIKI_ADDRESS,
            "tverskaya",
            BasicsQuestion(topics=(Topic.PARKING,), branch_ids=("tverskaya",)),
        ),
        (
            "а телефон?",
            SOKOLNIKI_ADDRESS,
            "sokolniki",
            BasicsQuestion(topics=(Topic.PHONE,), branch_ids=("sokolniki",)),
        ),
        # A branch or a day alone asks the earlier question again.
        (
            "а на Тверской?",
            SOKOLNIKI_ADDRESS,
            "sokolniki",
            BasicsQuestion(topics=(Topic.ADDRESS,), branch_ids=("tverskaya",)),
        ),
        (
            "а по выходным?",
            BasicsQuestion(topics=(Topic.HOURS,), branch_ids=("sokolniki",)),
            "sokolniki",
            BasicsQuestion(topics=(Topic.HOURS,), branch_ids=("sokolniki",), day=DayKind.WEEKENDS),
        ),
        # A day after an address asks the hours of that day.
        (
            "а в субботу?",
            SOKOLNIKI_ADDRESS,
            "sokolniki",
            BasicsQuestion(
                topics=(Topic.HOURS,), branch_ids=("sokolniki",), day=DayKind.WEEKDAY, weekday=5
            ),
        ),
        # An hours question naming a branch but no day keeps the earlier day.
        (
            "а на тверской до скольки?",
            SUNDAY_HOURS,
            None,
            BasicsQuestion(
                topics=(Topic.HOURS,), branch_ids=("tverskaya",), day=DayKind.WEEKDAY, weekday=6
            ),
        ),
        # A question complete on its own is read as it is.
        (
            "какой телефон на тверской",
            SOKOLNIKI_ADDRESS,
            "sokolniki",
            BasicsQuestion(topics=(Topic.PHONE,), branch_ids=("tverskaya",)),
        ),
        ("а в субботу?", None, "sokolniki", None),
        ("а сколько стоит?", SOKOLNIKI_ADDRESS, "sokolniki", None),
    ],
)
def test_a_message_leaning_on_the_dialogue_is_read_against_its_last_basics_question(
    text: str, earlier: BasicsQuestion | None, branch: str | None, expected: BasicsQuestion | None
) -> None:
    assert lean_on(text, SALON, earlier, branch) == expected


def test_a_pronoun_is_not_understood_without_a_dialogue() -> None:
    assert read_basics("а до скольки он работает в воскресенье?", SALON) is None


def test_any_message_may_name_a_branch() -> None:
    assert branches_named("сколько стоит маникюр в Сокольниках", SALON) == ["sokolniki"]
    assert branches_named("сколько стоит маникюр", SALON) == []


# -- inside the offline answerer ----------------------------------------------------------------


class RecordingRetriever:
    """Finds nothing and remembers what it was asked."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    async def search(self, query: str, k: int = 5) -> list[Hit]:
        self.queries.append(query)
        return []


def offline_with_basics() -> tuple[OfflineAnswerer, RecordingRetriever]:
    retriever = RecordingRetriever()
    bot = OfflineAnswerer(retriever, SALON.messages, threshold=0.5, basics=basics_at(SUNDAY_NOON))
    return bot, retriever


async def test_the_offline_answerer_answers_the_basics_before_searching() -> None:
    bot, retriever = offline_with_basics()
    draft = await bot.answer(TurnContext(conversation_key="v", text="Здравствуйте! Ваш e-mail?"))
    assert (draft.intent, draft.reason) == (Intent.ANSWER, "profile facts")
    assert draft.text == "Здравствуйте! Наша электронная почта: hello@lavanda-salon.example."
    assert retriever.queries == []


async def test_the_offline_answerer_searches_whatever_is_not_a_basics_question() -> None:
    bot, retriever = offline_with_basics()
    text = "сколько стоит маникюр в Сокольниках"
    draft = await bot.answer(TurnContext(conversation_key="v", text=text))
    assert draft.intent is Intent.UNKNOWN
    assert retriever.queries == [text]
