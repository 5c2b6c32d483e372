"""How a reply is judged against a case, how case files are read, how dialogues are played."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from talkme_consultant.dialog.engine import TurnInput
from talkme_consultant.helpers.outcome import TurnOutcome
from talkme_consultant.service.answer_eval import (
    AnswerCase,
    AnswerCaseFileError,
    asks_to_choose,
    contains,
    evaluate_answers,
    judge,
    load_answer_cases,
    reply_kind,
    run_dialogue,
)


def test_expected_text_matches_whatever_the_case_spaces_and_dashes() -> None:
    assert contains("Маникюр с покрытием — 2\u00a0900 ₽", "2900")
    assert contains("Цена: 1 800 ₽", "1800 ₽")
    assert contains("ЁЛКА и Ёж", "елка")
    assert contains("гель\u2011лак держится 2–3 недели", "гель-лак держится 2-3 недели")
    assert contains("Почта:\nhello@lavanda-salon.example", "HELLO@lavanda-salon.example")
    assert not contains("Маникюр — 2 900 ₽", "1800")
    assert not contains("с 10:00 до 20:00", "9:00")


def test_a_numbered_list_with_a_question_asks_to_choose() -> None:
    reply = "Уточните, пожалуйста, что вы имеете в виду:\n1. Коррекция бровей\n2. Коррекция ресниц"
    assert asks_to_choose(reply)
    assert asks_to_choose("Какой вариант вам нужен?\n• Маникюр\n• Педикюр")


def test_a_list_without_a_question_is_an_answer() -> None:
    assert not asks_to_choose("Вот что нашлось:\n• Маникюр — 1 800 ₽\n• Педикюр — 3 200 ₽")
    # Questions inside the options (FAQ titles) do not make the reply a clarifying question.
    assert not asks_to_choose("Вот что нашлось:\n• Больно ли лечить?\n• Лечите ли во сне?")
    assert not asks_to_choose("Какой филиал вам удобнее?")  # a question, but nothing to choose


def _outcome(text: str, *, handed_off: bool = False, intent: str = "answer") -> TurnOutcome:
    return TurnOutcome(
        visitor_text="q", replies=[text], handed_off=handed_off, meta={"intent": intent}
    )


def test_reply_kind_is_read_from_what_the_turn_did() -> None:
    assert reply_kind(_outcome("Передаю администратору", handed_off=True)) == "handoff"
    assert reply_kind(_outcome("Что именно?", intent="clarify")) == "clarify"
    assert reply_kind(_outcome("Выберите:\n1. Ногти\n2. Ресницы")) == "clarify"
    assert reply_kind(_outcome("Маникюр — 1 800 ₽")) == "answer"


def _case(**fields: object) -> AnswerCase:
    return AnswerCase.model_validate({"question": "вопрос", **fields})


def test_judging_texts_any_and_all() -> None:
    prices = _case(expect_all=["1800", "2900"])
    assert judge(prices, "answer", "без покрытия — 1 800 ₽; гель-лак — 2 900 ₽") == "right"
    assert judge(prices, "answer", "гель-лак — 2 900 ₽") == "wrong"
    either = _case(expect_any=["Luxio", "CND"], expect_all=["гель"])
    assert judge(either, "answer", "Гель-лаки CND и Kodi") == "right"
    assert judge(either, "answer", "Гель-лаки Kodi") == "wrong"
    # An expected answer that did not come keeps the kind of what came instead.
    assert judge(prices, "handoff", "Передаю администратору") == "handoff"
    assert judge(prices, "clarify", "Какой маникюр?\n1. …\n2. …") == "clarify"
    # Options that already carry the expected facts answered the question.
    listed = "Какой вам подходит?\n1. Без покрытия — 1 800 ₽\n2. Гель-лак — 2 900 ₽"
    assert judge(prices, "clarify", listed) == "right"


def test_judging_an_expected_handoff_or_clarification() -> None:
    person = _case(expect="handoff")
    assert judge(person, "handoff", "Передаю") == "right"
    assert judge(person, "answer", "Татуаж бровей — 900 ₽") == "wrong"
    assert judge(person, "clarify", "Что именно?\n1. …\n2. …") == "clarify"
    choose = _case(expect="clarify")
    assert judge(choose, "clarify", "…") == "right"
    assert judge(choose, "answer", "Коррекция ногтей — 3 800 ₽") == "wrong"
    assert judge(choose, "handoff", "Передаю") == "handoff"


def test_a_single_expected_text_may_be_given_as_a_string() -> None:
    assert _case(expect_any="10:00").expect_any == ["10:00"]


def test_a_text_the_reply_must_not_hold_makes_it_wrong() -> None:
    sokolniki = _case(expect_all=["000-56-78"], expect_none=["000-12-34"])
    assert judge(sokolniki, "answer", "Филиал в Сокольниках: +7 (495) 000-56-78") == "right"
    both = "Тверская: +7 (495) 000-12-34; Сокольники: +7 (495) 000-56-78"
    assert judge(sokolniki, "answer", both) == "wrong"
    assert sokolniki.expectation() == "all of 000-56-78; none of 000-12-34"


def test_a_dialogue_may_judge_each_reply_or_only_its_last() -> None:
    last_only = AnswerCase.model_validate(
        {"turns": ["педикюр с покрытием?", "а сколько длится?"], "expect_all": ["110"]}
    )
    each = AnswerCase.model_validate(
        {
            "turns": [
                {"say": "педикюр с покрытием?", "expect_all": ["4 000"]},
                {"say": "а сколько длится?", "expect_all": ["110"]},
            ]
        }
    )

    assert last_only.visitor_turns == each.visitor_turns
    assert list(last_only.judged_turns()) == [1]
    assert {i: e.expectation() for i, e in each.judged_turns().items()} == {
        0: "all of 4 000",
        1: "all of 110",
    }


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"question": "где вы", "expect_any": ["Тверская"]', "not JSON"),
        ('["где вы"]', "expected a JSON object"),
        ('{"expect_any": ["Тверская"]}', "either 'question' or 'turns'"),
        ('{"question": "а", "turns": ["б"], "expect": "handoff"}', "either 'question' or 'turns'"),
        ('{"question": "где вы"}', "expect"),
        ('{"question": "где вы", "expect": "handoff", "expect_any": ["х"]}', "one of them"),
        ('{"question": "где вы", "expect": "answer"}', "expect: Input should be"),
        ('{"question": "где вы", "expect_any": [""]}', "must not be blank"),
        ('{"question": "  ", "expect": "handoff"}', "must not be blank"),
        ('{"turns": [], "expect": "handoff"}', "at least one message"),
        ('{"question": "где вы", "expect": "handoff", "expected": "х"}', "expected: Extra"),
        ('{"question": "где вы", "expect_none": ["х"]}', "'expect_none' refines"),
        ('{"turns": ["а", {"say": "б", "expect": "clarify"}], "expect": "clarify"}', "twice"),
        ('{"turns": [{"say": "а", "expect": "handoff"}, "б"]}', "one of them"),
        ('{"turns": [{"say": "а", "expect": "maybe"}], "expect": "handoff"}', "Input should be"),
    ],
)
def test_a_bad_case_line_is_refused_with_its_line_number(
    tmp_path: Path, line: str, problem: str
) -> None:
    good = json.dumps({"question": "адрес", "expect_any": ["Тверская"]}, ensure_ascii=False)
    path = tmp_path / "answers.jsonl"
    path.write_text(f"{good}\n\n{line}\n{good}\n", encoding="utf-8")

    with pytest.raises(AnswerCaseFileError) as error:
        load_answer_cases(path)

    assert str(error.value).startswith("answers.jsonl, line 3: ")
    assert problem in str(error.value)


def test_an_empty_case_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "answers.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(AnswerCaseFileError, match="no cases"):
        load_answer_cases(path)


class ScriptedEngine:
    """Answers from a table keyed by the visitor's text and records every turn it was given."""

    def __init__(self, replies: dict[str, TurnOutcome]) -> None:
        self.replies = replies
        self.turns: list[TurnInput] = []

    async def run_turn(self, turn: TurnInput) -> TurnOutcome:
        self.turns.append(turn)
        return self.replies[turn.texts[-1]]


async def test_a_dialogue_carries_memory_from_turn_to_turn_and_is_judged_on_its_last_reply() -> (
    None
):
    engine = ScriptedEngine(
        {
            "адрес в сокольниках": _outcome("ул. Верхняя Кленовая, д. 14"),
            "а телефон там?": _outcome("+7 (495) 000-56-78"),
        }
    )

    outcome = await run_dialogue(engine, ["адрес в сокольниках", "а телефон там?"], key="k")

    assert outcome.replies == ["+7 (495) 000-56-78"]
    first, second = engine.turns
    assert list(first.memory) == []
    remembered = [(m.message.role, m.message.text) for m in second.memory]
    assert remembered == [
        ("visitor", "адрес в сокольниках"),
        ("bot", "ул. Верхняя Кленовая, д. 14"),
    ]


async def test_the_first_reply_that_fails_decides_a_dialogue() -> None:
    engine = ScriptedEngine(
        {
            "педикюр с покрытием?": _outcome("Педикюр с покрытием гель-лак — 4 000 ₽, 110 мин."),
            "а сколько длится?": _outcome("Передаю администратору", handed_off=True),
            "а педикюр?": _outcome("Педикюр без покрытия — 3 200 ₽"),
        }
    )
    first_fails = AnswerCase.model_validate(
        {
            "turns": [
                {"say": "педикюр с покрытием?", "expect_all": ["2 900"]},
                {"say": "а сколько длится?", "expect_all": ["110"]},
            ]
        }
    )
    second_fails = AnswerCase.model_validate(
        {
            "turns": [
                {"say": "педикюр с покрытием?", "expect_all": ["4 000"]},
                "а сколько длится?",
            ],
            "expect_all": ["110"],
        }
    )
    all_pass = AnswerCase.model_validate(
        {
            "turns": [{"say": "педикюр с покрытием?", "expect_all": ["4 000"]}, "а педикюр?"],
            "expect_any": ["3 200"],
        }
    )

    report = await evaluate_answers(engine, [first_fails, second_fails, all_pass])

    assert report.counts["right"] == 1
    assert [(m.turns, m.question, m.verdict) for m in report.misses] == [
        ([], "педикюр с покрытием?", "wrong"),
        (["педикюр с покрытием?"], "а сколько длится?", "handoff"),
    ]


async def test_every_case_starts_a_fresh_dialogue_and_lands_in_one_count() -> None:
    engine = ScriptedEngine(
        {
            "почта?": _outcome("hello@lavanda-salon.example"),
            "маникюр?": _outcome("Педикюр — 3 200 ₽"),
            "татуаж?": _outcome("Передаю администратору", handed_off=True),
            "кератин?": _outcome("Передаю администратору", handed_off=True),
            "коррекция?": _outcome("Что именно?\n1. Ногти\n2. Ресницы"),
        }
    )
    cases = [
        _case(question="почта?", expect_any=["hello@lavanda-salon.example"]),
        _case(question="маникюр?", expect_all=["1800"]),
        _case(question="татуаж?", expect="handoff"),
        _case(question="кератин?", expect_any=["9000"]),
        _case(question="коррекция?", expect_all=["3800"]),
    ]

    report = await evaluate_answers(engine, cases)

    assert report.counts == {
        "right": 2,
        "wrong": 1,
        "clarify": 1,
        "handoff": 1,
        "honest": 0,
        "guessed": 0,
    }
    assert report.summary() == (
        "5 cases: right 2 (40%), wrong 1 (20%), clarify 1 (20%), handoff 1 (20%)"
    )
    assert [(m.question, m.verdict, m.expected) for m in report.misses] == [
        ("маникюр?", "wrong", "all of 1800"),
        ("кератин?", "handoff", "any of 9000"),
        ("коррекция?", "clarify", "all of 3800"),
    ]
    assert report.misses[0].got == "Педикюр — 3 200 ₽"
    assert len({turn.conversation_key for turn in engine.turns}) == len(cases)
    assert all(not turn.memory for turn in engine.turns)
