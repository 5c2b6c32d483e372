"""Normalisation, tokenisation, stemming and query clean-up."""

from __future__ import annotations

from talkme_consultant.knowledge.fuzzy import FuzzyVocabulary
from talkme_consultant.knowledge.query import question_parts, strip_pleasantries
from talkme_consultant.knowledge.text import clean_display, normalize, stem, tokenize


def test_normalize_removes_pasted_junk() -> None:
    text = "Ма\u200bни\u00adкюр\u00a0и\u2060 ЁЛКА 💅 https://salon.example/price?x=1 pk@ftl.name"
    assert normalize(text) == "маникюр и елка 💅"
    assert tokenize(text) == ["маникюр", "елк"]


def test_a_name_written_in_cyrillic_or_latin_letters_is_one_word() -> None:
    assert tokenize("вай фай есть у вас?") == tokenize("Есть ли у вас Wi-Fi?")
    assert tokenize("а вайфая нет") == tokenize("а wifi нет")
    assert tokenize("напишу в ватсап") == tokenize("напишу в WhatsApp")
    assert tokenize("ваш телеграмм-канал") == tokenize("ваш Telegram-канал")
    assert normalize("вайбер") == "вайбер"  # another messenger is left as written


def test_clean_display_keeps_words_and_links() -> None:
    assert clean_display("  Цена\u00a0\u00a01500\u200b ₽\n\nсм. https://x.ru ") == (
        "Цена 1500 ₽ см. https://x.ru"
    )


def test_inflected_forms_share_a_stem() -> None:
    forms = ["маникюр", "маникюра", "маникюру", "маникюром", "маникюре"]
    assert {stem(f) for f in forms} == {"маникюр"}
    assert tokenize("Сколько стоит маникюра?") == tokenize("сколько стоит МАНИКЮР")
    assert stem("bookings") == stem("booking")


def test_greetings_and_politeness_are_not_tokens() -> None:
    assert tokenize("Здравствуйте! Подскажите, пожалуйста, а можно ли записаться?") == [
        stem("записаться")
    ]


def test_digits_glued_to_words_are_split() -> None:
    assert tokenize("поступление в 10класс, 1500руб") == ["поступлен", "10", "класс", "1500", "руб"]


def test_strip_pleasantries_keeps_the_question() -> None:
    assert strip_pleasantries("Добрый день! Подскажите пожалуйста, сколько стоит стрижка?") == (
        "сколько стоит стрижка?"
    )
    assert strip_pleasantries("Здравствуйте") == "Здравствуйте"


def test_question_parts_splits_several_questions() -> None:
    parts = question_parts("Здравствуйте! Есть ли рассрочка? И сколько длится курс?")
    assert parts == ["Есть ли рассрочка?", "И сколько длится курс?"]


def test_fuzzy_vocabulary_finds_one_edit_typos() -> None:
    vocabulary = FuzzyVocabulary(["парол", "регистрац", "маникюр", "кот"])
    assert vocabulary.close_matches(stem("пороль")) == ["парол"]
    assert vocabulary.close_matches("регистрацы") == ["регистрац"]
    assert vocabulary.close_matches("маникур") == ["маникюр"]
    assert vocabulary.close_matches("кит") == []  # too short to guess
