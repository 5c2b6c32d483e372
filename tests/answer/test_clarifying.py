"""When the offline answerer asks which record was meant, decided from the hits alone."""

from __future__ import annotations

from talkme_consultant.answer.clarifying import (
    clarify_text,
    close_records,
    option_title,
    options_of,
)
from talkme_consultant.knowledge.records import Record, Source
from talkme_consultant.knowledge.search import Hit

THRESHOLD = 0.5


def faq(question: str, answer: str, row: int) -> Record:
    return Record(
        text=f"Вопрос: {question}\nОтвет: {answer}",
        title=question,
        answer=answer,
        source=Source(file="faq.csv", row=row),
        fields={"Вопрос": question, "Ответ": answer},
    )


def hit(record: Record, confidence: float, score: float = 1.0) -> Hit:
    return Hit(record_id=record.record_id, record=record, score=score, confidence=confidence)


NAILS = faq("Коррекция наращённых ногтей", "Коррекция ногтей стоит 3 800 ₽.", 1)
BROWS = faq("Коррекция бровей", "Коррекция бровей стоит 900 ₽.", 2)
LASHES = faq("Коррекция наращённых ресниц", "Коррекция ресниц стоит 2 200 ₽.", 3)
BIRTHDAY = faq("Есть ли скидка в день рождения?", "Да, 15% в день рождения.", 4)
MORNING = faq("Утренние часы", "По будням до 11:00 скидка 10%.", 5)
BIRTHDAY_ROW = faq("Скидка в день рождения", "Скидка 15% за 3 дня до и 7 дней после.", 6)
PARKING = faq("Есть ли парковка?", "Да, во дворе.", 7)
ROUTE = faq("Как добраться до филиала на Тверской", "Пять минут от метро.", 8)


def test_a_question_whose_words_fit_several_different_records_equally_gets_them_as_options() -> (
    None
):
    hits = [hit(NAILS, 0.60), hit(BROWS, 0.49), hit(LASHES, 0.28)]

    close = close_records(hits, "а сколько коррекция стоит", threshold=THRESHOLD)

    assert [h.record for h in close] == [NAILS, BROWS, LASHES]


def test_two_weak_hits_within_a_hair_are_offered_instead_of_a_handoff() -> None:
    hits = [hit(BIRTHDAY, 0.346), hit(MORNING, 0.352), hit(BIRTHDAY_ROW, 0.075)]

    close = close_records(hits, "есть ли скидки утром?", threshold=THRESHOLD)

    assert [h.record for h in close] == [BIRTHDAY, MORNING]


def test_a_confident_best_hit_is_answered_alone_when_the_question_tells_it_apart() -> None:
    hits = [hit(PARKING, 0.538), hit(ROUTE, 0.375)]

    assert close_records(hits, "можно ли припарковаться у филиала", threshold=THRESHOLD) == []


def test_a_hit_far_below_the_best_one_is_no_option() -> None:
    hits = [hit(NAILS, 0.45), hit(BROWS, 0.20)]

    assert close_records(hits, "коррекция сколько", threshold=THRESHOLD) == []


def test_a_very_confident_or_a_hopeless_best_hit_is_never_a_question() -> None:
    query = "коррекция цена"
    assert close_records([hit(NAILS, 0.95), hit(BROWS, 0.94)], query, threshold=THRESHOLD) == []
    assert close_records([hit(NAILS, 0.1), hit(BROWS, 0.09)], query, threshold=THRESHOLD) == []


def test_near_duplicates_are_one_option_so_one_record_is_no_choice() -> None:
    hits = [hit(BIRTHDAY, 0.40), hit(BIRTHDAY_ROW, 0.38)]

    assert close_records(hits, "скидка на день рождения", threshold=THRESHOLD) == []


def test_records_found_by_meaning_alone_are_not_offered() -> None:
    hits = [hit(PARKING, 0.35), hit(ROUTE, 0.33)]

    assert close_records(hits, "где оставить машину", threshold=THRESHOLD) == []


def test_the_question_numbers_the_records_own_titles() -> None:
    text = clarify_text(options_of([hit(NAILS, 0.6), hit(BROWS, 0.5)]))

    assert text.startswith("Уточните, пожалуйста, что вас интересует:\n")
    assert "\n1) Коррекция наращённых ногтей\n2) Коррекция бровей\n" in text


def test_a_prose_record_is_named_by_its_heading() -> None:
    prose = Record(text="Мы работаем с 2015 года.", source=Source(file="about.md", heading="О нас"))

    assert option_title(prose) == "О нас"
