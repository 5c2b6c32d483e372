"""Small talk and requests for a person, recognised without a model, in Russian and English."""

from __future__ import annotations

import pytest

from talkme_consultant.answer.intents import normalize, read_small_talk, reads_whole


@pytest.mark.parametrize(
    "text",
    [
        "Здравствуйте!",
        "здравствуй",
        "Здрасьте",
        "Привет",
        "Приветствую",
        "Добрый день",
        "Доброе утро!",
        "Добрый вечер.",
        "Доброго времени суток",
        "Hello",
        "hi",
        "Hey!",
    ],
)
def test_greetings(text: str) -> None:
    talk = read_small_talk(text)
    assert talk.greeting
    assert not (talk.thanks or talk.goodbye or talk.wants_person)
    assert talk.question == "", "nothing to look up"


@pytest.mark.parametrize(
    "text", ["Спасибо!", "спасибо большое", "Благодарю", "спс", "Thanks!", "Thank you", "thx"]
)
def test_thanks(text: str) -> None:
    talk = read_small_talk(text)
    assert talk.thanks
    assert not (talk.greeting or talk.wants_person)
    assert talk.question == ""


@pytest.mark.parametrize(
    "text",
    ["До свидания", "Пока!", "Всего доброго", "всего хорошего", "До встречи", "Bye", "Goodbye"],
)
def test_goodbyes(text: str) -> None:
    talk = read_small_talk(text)
    assert talk.goodbye
    assert not talk.wants_person
    assert talk.question == ""


def test_thanks_and_goodbye_together() -> None:
    talk = read_small_talk("Спасибо, до свидания!")
    assert (talk.thanks, talk.goodbye, talk.question) == (True, True, "")


@pytest.mark.parametrize(
    "text",
    [
        "позовите оператора",
        "Позовите оператора, пожалуйста",
        "хочу поговорить с человеком",
        "администратор",
        "Администратора можно?",
        "Соедините с менеджером",
        "переключите на сотрудника",
        "Позови человека",
        "Мне нужен живой человек",
        "Здравствуйте! Позовите администратора",
        "I want to talk to a human",
        "operator please",
        "Can I speak to a real person?",
        "manager",
    ],
)
def test_requests_for_a_person(text: str) -> None:
    assert read_small_talk(text).wants_person


@pytest.mark.parametrize(
    "text",
    [
        "Сколько стоит стрижка?",
        "Где вы находитесь?",
        "Здравствуйте",
        "Спасибо, до свидания",
        "Скидка для пенсионеров есть?",
        "Покажите прайс на маникюр",
    ],
)
def test_ordinary_messages_do_not_ask_for_a_person(text: str) -> None:
    assert not read_small_talk(text).wants_person


@pytest.mark.parametrize(
    "text",
    [
        "Здравствуйте, сколько стоит стрижка?",
        "Привет! Где вы находитесь?",
        "Добрый день, подскажите цены на маникюр",
        "Hi, how much is a haircut?",
        "Hello, where are you located?",
    ],
)
def test_a_greeting_with_a_question_keeps_the_question(text: str) -> None:
    talk = read_small_talk(text)
    assert talk.greeting
    assert talk.question == text


def test_thanks_with_a_new_question_keeps_the_question() -> None:
    talk = read_small_talk("Спасибо, а сколько стоит педикюр?")
    assert talk.thanks
    assert talk.question == "Спасибо, а сколько стоит педикюр?"


@pytest.mark.parametrize(
    "text", ["Сколько стоит стрижка?", "Пришлите прайс", "маникюр гель лак цена"]
)
def test_a_plain_question_is_neither_small_talk_nor_a_request(text: str) -> None:
    talk = read_small_talk(text)
    assert not (talk.greeting or talk.thanks or talk.goodbye or talk.wants_person)
    assert talk.question == text


@pytest.mark.parametrize(
    "text", ["Здравствуйте, подскажите, пожалуйста", "Добрый день! Подскажите", "Ок, спасибо"]
)
def test_politeness_alone_is_not_a_question(text: str) -> None:
    assert read_small_talk(text).question == ""


def test_a_question_mark_makes_even_a_short_message_a_question() -> None:
    assert read_small_talk("Цены?").question == "Цены?"


def test_normalize_folds_case_yo_punctuation_and_spaces() -> None:
    assert normalize("  Всё   ЁЛКИ!!!  Ну,\nпривет… ") == "все елки ну привет"


# -- known defects --------------------------------------------------------------------------


def test_asking_for_a_live_person_in_the_instrumental_case() -> None:
    assert read_small_talk("Можно поговорить с живым человеком?").wants_person


def test_an_english_time_of_day_greeting_is_not_a_question() -> None:
    talk = read_small_talk("Good morning")
    assert talk.greeting
    assert talk.question == ""


def test_not_yet_is_not_a_goodbye() -> None:
    assert not read_small_talk("Пока нет").goodbye


@pytest.mark.parametrize(
    "text", ["Как позвонить администратору?", "Менеджер перезвонит?", "Дайте номер менеджера"]
)
def test_asking_how_to_reach_staff_is_a_question_not_a_request_for_a_person(text: str) -> None:
    talk = read_small_talk(text)
    assert not talk.wants_person
    assert talk.question


def test_asking_to_be_connected_by_phone_still_calls_a_person() -> None:
    assert read_small_talk("Соедините с администратором по телефону").wants_person


# -- whether a message is whole, so its turn need not wait for more ---------------------------


@pytest.mark.parametrize(
    "text",
    [
        "сколько стоит маникюр?",
        "Сколько стоит маникюр",
        "Добрый день! Почём стрижка",
        "а педикюр?",
        "есть запись на завтра",
        "хочу записаться на маникюр",
        "где вы находитесь",
        "2",
    ],
)
def test_a_question_a_request_or_a_choice_reads_whole(text: str) -> None:
    assert reads_whole(text)


@pytest.mark.parametrize(
    "text",
    [
        "Здравствуйте",
        "Подскажите пожалуйста",
        "У меня вопрос:",
        "Можно вопрос?",
        "хотела уточнить",
        "Здравствуйте, подскажите,",
        "маникюр",
        "у меня сломался ноготь",
        "Спасибо",
        "Можно спросить?",
        "Девушка, можно вопрос?",
        "Вопрос можно?",
        "Сколько стоит",
        "А можно",
        "хочу записаться на",
        "Сколько стоит маникюр и",
    ],
)
def test_an_opening_a_statement_a_bare_asking_or_an_unfinished_phrase_may_go_on(
    text: str,
) -> None:
    assert not reads_whole(text)


def test_only_the_end_of_a_long_message_is_read() -> None:
    assert reads_whole("бла " * 5000 + "сколько стоит маникюр?")
    assert not reads_whole("сколько стоит маникюр? " + "бла " * 5000 + "и ещё:")
