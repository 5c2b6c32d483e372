"""A message read against the dialogue's topic, and what the topic becomes after a reply."""

from __future__ import annotations

from talkme_consultant.answer.attributes import Attribute
from talkme_consultant.answer.base import ClarifyOption, DialogueTopic, Draft, Intent
from talkme_consultant.answer.basics import BasicsQuestion, DayKind, ProfileBasics, Topic
from talkme_consultant.answer.followup import Reading, read_message, topic_after
from talkme_consultant.config import SAMPLE_PROFILE_PATH
from talkme_consultant.knowledge.records import Record, Source
from talkme_consultant.knowledge.search import Hit
from talkme_consultant.profile import load_profile

BASICS = ProfileBasics(load_profile(SAMPLE_PROFILE_PATH))
GEL = ClarifyOption(title="Педикюр с покрытием гель-лак", record_id="gel")
PEDICURE = DialogueTopic(
    asked="Сколько стоит педикюр с покрытием?", records=[GEL], attribute=Attribute.PRICE
)
WOMENS_CUT = DialogueTopic(asked="сколько стоит женская стрижка", attribute=Attribute.PRICE)
SOKOLNIKI_ADDRESS = DialogueTopic(
    asked="Где филиал в Сокольниках?",
    basics=BasicsQuestion(topics=(Topic.ADDRESS,), branch_ids=("sokolniki",)),
    branch="sokolniki",
)


def test_a_first_message_is_read_as_it_is() -> None:
    assert read_message("а сколько длится?", None, BASICS) == Reading(
        text="а сколько длится?", attribute=Attribute.DURATION
    )
    basics = read_message("телефон в Сокольниках", None, BASICS).basics
    assert basics is not None
    assert basics.branch_ids == ("sokolniki",)


def test_an_attribute_alone_is_asked_of_the_rows_already_answered() -> None:
    reading = read_message("а сколько длится?", PEDICURE, BASICS)

    assert reading.rows == (GEL,)
    assert reading.attribute is Attribute.DURATION
    assert reading.text == "сколько длится педикюр с покрытием"
    assert reading.leaned


def test_a_pronoun_points_back_to_the_subject() -> None:
    reading = read_message("и сколько это по времени", PEDICURE, BASICS)
    assert reading.rows == (GEL,)
    assert reading.attribute is Attribute.DURATION


def test_an_attribute_after_an_faq_answer_is_searched_with_the_topics_subject() -> None:
    lamination = DialogueTopic(
        asked="Сколько держится ламинирование ресниц?",
        records=[ClarifyOption(title="Сколько держится ламинирование?", record_id="faq")],
    )
    reading = read_message("а цена какая?", lamination, BASICS)

    assert reading.text == "цена какая ламинирование ресниц"
    assert reading.candidates == ()


def test_a_new_subject_keeps_the_question_and_is_weighed_against_the_message_itself() -> None:
    reading = read_message("а детская?", WOMENS_CUT, BASICS)

    assert reading.readings == ("сколько стоит стрижка детская", "а детская?")
    assert reading.attribute is Attribute.PRICE


def test_a_new_head_noun_replaces_the_old_one_and_keeps_its_complements() -> None:
    lashes = DialogueTopic(asked="сколько стоит наращивание ресниц?", attribute=Attribute.PRICE)
    assert read_message("а коррекция?", lashes, BASICS).readings == (
        "сколько стоит коррекция ресниц",
        "сколько стоит коррекция",
        "а коррекция?",
    )


def test_a_complete_question_is_read_as_it_is_and_first_when_it_opens_with_a() -> None:
    reading = read_message("сколько стоит мужская стрижка?", PEDICURE, BASICS)
    assert reading == Reading(text="сколько стоит мужская стрижка?", attribute=Attribute.PRICE)

    # «а …» continues the dialogue: the topic may still tell what is meant, but the message
    # itself comes first and wins a tie.
    continued = read_message("а сколько стоит мужская стрижка?", PEDICURE, BASICS)
    assert continued.readings == (
        "а сколько стоит мужская стрижка?",
        "сколько стоит мужская стрижка педикюр с покрытием",
    )


def test_a_pronoun_in_a_basics_question_is_the_branch_spoken_of() -> None:
    reading = read_message("а до скольки он работает в воскресенье?", SOKOLNIKI_ADDRESS, BASICS)
    assert reading.basics == BasicsQuestion(
        topics=(Topic.HOURS,), branch_ids=("sokolniki",), day=DayKind.WEEKDAY, weekday=6
    )


def test_a_branch_alone_asks_the_earlier_basics_question_of_it() -> None:
    phone = DialogueTopic(
        asked="телефон на тверской",
        basics=BasicsQuestion(topics=(Topic.PHONE,), branch_ids=("tverskaya",)),
        branch="tverskaya",
    )
    reading = read_message("а в Сокольниках?", phone, BASICS)
    assert reading.basics == BasicsQuestion(topics=(Topic.PHONE,), branch_ids=("sokolniki",))


def hit(record_id: str, title: str) -> Hit:
    record = Record(text=title, title=title, source=Source(file="faq.csv", row=2))
    return Hit(record_id=record_id, record=record, score=1.0, confidence=0.9)


def test_the_topic_after_an_answer_is_its_question_and_its_record() -> None:
    reading = read_message("а сколько длится?", PEDICURE, BASICS)
    draft = Draft(
        text="Педикюр с покрытием гель-лак длится 110 мин.",
        intent=Intent.ANSWER,
        used_records=[hit("gel", "Педикюр с покрытием гель-лак")],
    )

    assert topic_after(PEDICURE, reading, draft) == DialogueTopic(
        asked="сколько длится педикюр с покрытием", records=[GEL], attribute=Attribute.DURATION
    )


def test_small_talk_keeps_the_topic_and_a_basics_answer_keeps_its_records() -> None:
    thanks = Draft(text="Пожалуйста!", intent=Intent.THANKS)
    assert topic_after(PEDICURE, Reading(text="спасибо"), thanks) == PEDICURE

    where = read_message("а где филиал в Сокольниках?", PEDICURE, BASICS)
    after = topic_after(PEDICURE, where, Draft(text="ул. Верхняя Кленовая", intent=Intent.ANSWER))
    assert after.records == [GEL]
    assert after.branch == "sokolniki"
    assert after.basics is not None
