"""Long replies become TalkMe-sized messages: within the limit, at good boundaries, nothing lost."""

from __future__ import annotations

import itertools

import pytest

from talkme_consultant.dialog.splitting import split_message


def words(text: str) -> list[str]:
    return text.split()


def assert_well_split(text: str, pieces: list[str], limit: int) -> None:
    """Every piece fits, none is empty, and the words come out whole and in order."""
    assert pieces, "a non-empty text gives at least one piece"
    assert all(len(piece) <= limit for piece in pieces), [len(p) for p in pieces]
    assert all(piece.strip() for piece in pieces)
    assert [w for piece in pieces for w in words(piece)] == words(text)


# -- short texts ------------------------------------------------------------------------------


def test_a_text_within_the_limit_is_one_message_as_it_is() -> None:
    text = "Здравствуйте!\n\nЖенская стрижка стоит 1 500 ₽."
    assert split_message(text, 4000) == [text]


def test_a_text_exactly_at_the_limit_is_not_split() -> None:
    text = "а" * 50
    assert split_message(text, 50) == [text]


def test_surrounding_whitespace_is_dropped() -> None:
    assert split_message("  \n Привет! \n\n", 100) == ["Привет!"]


@pytest.mark.parametrize("blank", ["", "   ", "\n\n\t"])
def test_an_empty_text_is_no_message(blank: str) -> None:
    assert split_message(blank, 100) == []


# -- boundaries -------------------------------------------------------------------------------


def test_paragraphs_that_fit_together_stay_together() -> None:
    text = "Первый абзац.\n\nВторой абзац.\n\nТретий абзац."
    assert split_message(text, 30) == ["Первый абзац.\n\nВторой абзац.", "Третий абзац."]


def test_a_split_falls_between_paragraphs_when_they_fit() -> None:
    first = "Стрижка женская стоит 1 500 ₽, длится час."
    second = "Окрашивание в один тон стоит от 3 000 ₽."
    third = "Запишитесь по телефону или здесь в чате."
    text = f"{first}\n\n{second}\n\n{third}"
    assert split_message(text, len(first) + 10) == [first, second, third]


def test_a_long_paragraph_splits_at_sentence_ends() -> None:
    sentences = [
        "Мы работаем каждый день.",
        "В будни с девяти до девяти.",
        "В воскресенье до шести вечера!",
        "Приходите?",
    ]
    text = " ".join(sentences)
    pieces = split_message(text, 60)
    assert_well_split(text, pieces, 60)
    assert all(piece.endswith((".", "!", "?")) for piece in pieces), pieces
    assert pieces == [
        "Мы работаем каждый день. В будни с девяти до девяти.",
        "В воскресенье до шести вечера! Приходите?",
    ]


def test_a_long_sentence_splits_at_spaces_never_inside_a_word() -> None:
    text = " ".join(f"слово{n}" for n in range(40))
    pieces = split_message(text, 35)
    assert_well_split(text, pieces, 35)
    assert len(pieces) > 1


def test_a_word_longer_than_the_limit_is_the_only_thing_cut() -> None:
    link = "https://example.ru/" + "x" * 80
    text = f"Подробности по ссылке {link} — там всё есть."
    pieces = split_message(text, 40)
    assert all(len(piece) <= 40 for piece in pieces)
    assert "".join(words(" ".join(pieces))) == "".join(words(text))
    # Everything but the long link keeps its words whole.
    whole = [w for piece in pieces for w in words(piece) if "example" not in w and "xxx" not in w]
    assert whole == ["Подробности", "по", "ссылке", "—", "там", "всё", "есть."]


TEXTS = {
    "faq": (
        "Да, у нас есть детская стрижка для детей до 12 лет. Она стоит 700 ₽ и длится 30 минут. "
        "Мастер работает аккуратно и быстро.\n\nЗаписаться можно по телефону +7 (495) 000-12-34 "
        "или здесь в чате: оставьте имя и номер, администратор перезвонит в течение 30 минут."
    ),
    "many short paragraphs": "\n\n".join(f"Пункт {n}: описание пункта." for n in range(30)),
    "one huge paragraph": " ".join(f"Предложение номер {n} про услуги салона." for n in range(60)),
    "mixed": (
        "Коротко.\n\n"
        + " ".join(["очень длинное предложение без точки"] * 12)
        + "\n\nКонец! Правда? Да."
    ),
}


@pytest.mark.parametrize("limit", [40, 80, 200, 1000])
@pytest.mark.parametrize("name", list(TEXTS))
def test_every_piece_fits_and_nothing_is_lost_or_reordered(name: str, limit: int) -> None:
    text = TEXTS[name]
    pieces = split_message(text, limit)
    assert_well_split(text, pieces, limit)
    if len(text) <= limit:
        assert pieces == [text]


def test_pieces_use_the_room_they_have() -> None:
    text = "\n\n".join(f"Пункт {n}." for n in range(100))
    pieces = split_message(text, 200)
    # Greedy packing: every piece but the last could not take the next paragraph.
    for piece, following in itertools.pairwise(pieces):
        next_paragraph = following.split("\n\n")[0]
        assert len(piece) + 2 + len(next_paragraph) > 200


# -- known defects --------------------------------------------------------------------------


def test_a_long_list_keeps_its_line_breaks() -> None:
    items = [f"• Услуга {n} — {1000 + n * 100} руб." for n in range(12)]
    text = "Вот что нашлось:\n" + "\n".join(items)
    pieces = split_message(text, 120)
    assert_well_split(text, pieces, 120)
    lines = [line for piece in pieces for line in piece.split("\n")]
    assert lines == ["Вот что нашлось:", *items]


def test_one_word_lines_are_not_cut_inside_words() -> None:
    text = "\n".join(["+79161234567"] * 12)
    pieces = split_message(text, 40)
    assert_well_split(text, pieces, 40)


def test_pieces_never_start_or_end_with_whitespace() -> None:
    text = "слово  слово  слово  слово  слово  слово"
    pieces = split_message(text, 14)
    assert all(piece == piece.strip() for piece in pieces), pieces
