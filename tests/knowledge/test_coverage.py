"""Which words of a question name a thing, and whether a record speaks of them."""

from __future__ import annotations

from talkme_consultant.knowledge.coverage import (
    Term,
    missing_terms,
    phrase_of,
    question_heads,
    thing_terms,
)
from talkme_consultant.knowledge.text import tokenize


def no_typos(_: str) -> list[str]:
    return []


def test_nouns_and_adjectives_name_things_and_question_words_do_not() -> None:
    words = [term.word for term in thing_terms("Сколько стоит вечерний макияж?")]

    assert words == ["вечерний", "макияж"]


def test_words_every_question_carries_are_not_evidence() -> None:
    assert thing_terms("Какая цена услуги, подскажите пожалуйста?") == []


def test_a_latin_word_names_a_thing() -> None:
    assert [term.word for term in thing_terms("есть wifi?")] == ["wifi"]


def test_a_record_that_never_mentions_an_asked_thing_misses_it() -> None:
    record = frozenset(tokenize("Вечерняя причёска — 4 500 ₽. Собранная причёска для торжества."))

    missing = missing_terms(thing_terms("Сколько стоит вечерний макияж?"), record, no_typos)

    assert [term.word for term in missing] == ["макияж"]


def test_other_forms_of_a_word_are_the_same_word() -> None:
    record = frozenset(tokenize("Шугаринг подмышечных впадин — 1 200 ₽"))

    assert missing_terms(thing_terms("шугаринг подмышек почем"), record, no_typos) == []


def test_a_typo_is_matched_through_the_typo_finder() -> None:
    record = frozenset(tokenize("Маникюр с покрытием"))

    def typos(word: str) -> list[str]:
        return ["маникюр"] if word == "моникюр" else []

    assert missing_terms(thing_terms("моникюр"), record, typos) == []


def test_the_asked_phrase_is_quoted_in_the_visitors_words() -> None:
    query = "Сколько стоит наращивание волос?"

    assert phrase_of(query, thing_terms(query)) == "наращивание волос"
    assert phrase_of("маникюр для ребёнка сколько", thing_terms("маникюр для ребёнка")) == (
        "маникюр для ребёнка"
    )


def test_a_word_is_not_spoken_of_through_another_word_of_the_question() -> None:
    record = frozenset(tokenize("Наращивание ногтей — 4 800 ₽"))

    missing = missing_terms(thing_terms("можно у вас нарастить ногти на ногах?"), record, no_typos)

    assert [term.word for term in missing] == ["ногах"]


def test_a_taught_questions_head_the_query_does_not_name_is_told() -> None:
    taught = "Сколько стоит снятие брекетов?"

    def taught_heads(query: str) -> list[Term]:
        return missing_terms(question_heads(taught), frozenset(tokenize(query)))

    assert [t.word for t in taught_heads("брекеты сколько стоят")] == ["снятие"]
    assert taught_heads("снятие брекетов почем") == []


def test_a_records_three_letter_stem_does_not_speak_of_a_long_word_it_starts() -> None:
    row = frozenset(tokenize("Наращивание ногтей. Длительность, мин: 180. Цена, руб.: 4800"))

    missing = missing_terms(thing_terms("нарастить ногти миндаль"), row, no_typos)

    assert [term.word for term in missing] == ["миндаль"]


def test_a_short_word_asked_still_finds_the_long_one() -> None:
    record = frozenset(tokenize("Татуировки мы не делаем."))

    assert missing_terms(thing_terms("тату делаете?"), record, no_typos) == []
