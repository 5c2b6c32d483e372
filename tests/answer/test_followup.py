"""A message read against the dialogue's topic, and what the topic becomes after a reply."""

from __future__ import annotations

import pytest

from talkme_consultant.answer.attributes import Attribute
from talkme_consultant.answer.base import ClarifyOption, DialogueTopic, Draft, Intent
from talkme_consultant.answer.basics import BasicsQuestion, DayKind, Topic
from talkme_consultant.answer.followup import Reading, read_message, topic_after
from talkme_consultant.answer.profile_basics import ProfileBasics
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

    assert reading.readings == (
        "сколько стоит стрижка детская",
        "сколько стоит детская стрижка",
        "а детская?",
    )
    assert reading.attribute is Attribute.PRICE


def test_a_new_head_noun_replaces_the_old_one_and_keeps_its_complements() -> None:
    lashes = DialogueTopic(asked="сколько стоит наращивание ресниц?", attribute=Attribute.PRICE)
    assert read_message("а коррекция?", lashes, BASICS).readings == (
        "сколько стоит коррекция ресниц",
        "сколько стоит коррекция",
        "сколько стоит наращивание коррекция",
        "а коррекция?",
    )


LEGS = ClarifyOption(title="Шугаринг ног полностью", record_id="legs")


def test_another_zone_keeps_the_procedure_and_puts_the_zone_in_place_of_the_old_one() -> None:
    sugaring = DialogueTopic(
        asked="шугаринг ног сколько стоит", records=[LEGS], attribute=Attribute.PRICE
    )
    reading = read_message("а подмышки?", sugaring, BASICS)

    assert "шугаринг подмышки сколько стоит" in reading.readings
    assert reading.attribute is Attribute.PRICE
    assert reading.fresh  # one row was given: a reading finding it again is not preferred
    wax = DialogueTopic(asked="восковая депиляция голеней сколько стоит", records=[LEGS])
    assert (
        "восковая депиляция верхней губы сколько стоит"
        in read_message("а верхней губы?", wax, BASICS).readings
    )


@pytest.mark.parametrize("text", ["а объем сколько?", "а 2D?", "а объём?"])
def test_a_variant_takes_the_place_of_the_variant_asked_before(text: str) -> None:
    classic = DialogueTopic(
        asked="сколько стоит наращивание ресниц классика", records=[LEGS], attribute=Attribute.PRICE
    )
    readings = read_message(text, classic, BASICS).readings

    assert any(
        r.startswith("сколько стоит наращивание ресниц ") and "классика" not in r for r in readings
    )
    assert readings[-1] == text


def test_a_new_phrase_with_a_preposition_takes_the_place_of_the_old_phrase() -> None:
    short = DialogueTopic(asked="сколько стоит женская стрижка на короткие волосы", records=[LEGS])
    readings = read_message("а на длинные?", short, BASICS).readings

    assert "сколько стоит женская стрижка на длинные волосы" in readings
    assert "сколько стоит на длинные стрижка на короткие волосы" not in readings


def test_a_new_subject_after_a_list_or_with_a_pronoun_is_not_fresh() -> None:
    listed = DialogueTopic(asked="сколько стоит педикюр?", records=[GEL, LEGS], listed=True)
    assert not read_message("а мужской?", listed, BASICS).fresh
    assert not read_message("а он сколько длится?", PEDICURE, BASICS).fresh


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
