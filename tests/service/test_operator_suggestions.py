"""Which operator's reply is offered for a group of open questions: the reply to one of the
group's own questions, never merely the newest of its conversations."""

from __future__ import annotations

from talkme_consultant.service.operator_suggestions import matching_answer
from talkme_consultant.store.models import OperatorAnswer

DOG = "Можно ли прийти с собакой?"


def reply(number: int, question: str) -> OperatorAnswer:
    """The operator's reply `number` (a later number is a newer reply) to `question`."""
    return OperatorAnswer(
        id=number, question=question, answer=f"Ответ {number}", operator_at=1000.0 + number
    )


def answer_of(answers: list[OperatorAnswer], questions: list[str]) -> str | None:
    found = matching_answer(answers, questions)
    return found.answer if found is not None else None


def test_the_reply_to_the_same_wording_wins_over_newer_replies_to_other_questions() -> None:
    answers = [reply(1, "можно  ли прийти с СОБАКОЙ?"), reply(2, "Есть ли у вас парковка?")]
    assert answer_of(answers, [DOG]) == "Ответ 1"


def test_the_same_wording_wins_over_a_newer_reply_to_a_paraphrase() -> None:
    answers = [reply(1, DOG), reply(2, "а с собакой к вам можно прийти?")]
    assert answer_of(answers, [DOG]) == "Ответ 1"


def test_without_the_same_wording_the_reply_to_a_paraphrase_is_offered() -> None:
    answers = [reply(1, "а с собакой к вам можно прийти?"), reply(2, "Есть ли у вас парковка?")]
    assert answer_of(answers, ["Делаете маникюр?", DOG]) == "Ответ 1"


def test_the_closest_paraphrase_wins_and_a_tie_goes_to_the_newer_reply() -> None:
    answers = [
        reply(1, "с собакой можно прийти на стрижку?"),
        reply(2, "с собакой прийти?"),
        reply(3, "с собакой прийти можно?"),
    ]
    assert answer_of(answers, [DOG]) == "Ответ 3"


def test_no_reply_to_any_of_the_group_s_questions_is_no_suggestion() -> None:
    answers = [reply(1, "А скидки есть?"), reply(2, "Есть ли у вас парковка?")]
    assert answer_of(answers, [DOG, "с собакой к вам можно?"]) is None
    assert answer_of([], [DOG]) is None
