"""An operator's harvested reply offered to the owner as the answer to a group of open questions.

A visitor may ask several things in one conversation, and the operator answer each; the reply
offered for a group is the one to a question of that group, never merely the newest reply of a
conversation the group came from. The same wording (as `fold_wording` folds it) is the surest
match; without one, the reply whose question shares the most stems with one of the group's
(`SAME_QUESTION_WORDS` at least, as grouping without an embedder counts it). None matches: no
suggestion, rather than the answer to something else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from talkme_consultant.helpers.cleaning import fold_wording
from talkme_consultant.knowledge.grouping import SAME_QUESTION_WORDS, question_stems, stem_overlap
from talkme_consultant.service.open_questions import QuestionGroup
from talkme_consultant.store.models import OperatorAnswer
from talkme_consultant.store.operator_answers import OperatorAnswerRepository


@dataclass(frozen=True)
class OperatorSuggestion:
    """What an operator answered to one of the group's questions, in one of its conversations."""

    question: str
    answer: str


async def operator_suggestions(
    repository: OperatorAnswerRepository, groups: Sequence[QuestionGroup]
) -> dict[int, OperatorSuggestion]:
    """For each group that has one (by id), the operator's reply to one of its questions in its
    example conversations. One read for every group of a page."""
    keys_of = {
        group.id: list(dict.fromkeys(example.conversation_key for example in group.examples))
        for group in groups
    }
    answers = await repository.operator_answers_in(
        list(dict.fromkeys(key for keys in keys_of.values() for key in keys))
    )
    found: dict[int, OperatorSuggestion] = {}
    for group in groups:
        keys = set(keys_of[group.id])
        own = [answer for answer in answers if answer.conversation_key in keys]
        match = matching_answer(own, [group.question, *(w.text for w in group.wordings)])
        if match is not None:
            found[group.id] = OperatorSuggestion(match.question, match.answer)
    return found


def matching_answer(
    answers: Sequence[OperatorAnswer], questions: Sequence[str]
) -> OperatorAnswer | None:
    """The answer whose question is one of `questions` (the newest such), else the one whose
    question is most alike one of them by stems (the newer on a tie); None when none is."""
    if not answers:
        return None
    newest_first = sorted(answers, key=lambda a: (a.operator_at, a.id), reverse=True)
    wordings = {fold_wording(q) for q in questions}
    for answer in newest_first:
        if fold_wording(answer.question) in wordings:
            return answer
    stems = [question_stems(text) for text in dict.fromkeys(questions)]
    best: OperatorAnswer | None = None
    best_score = SAME_QUESTION_WORDS
    for answer in newest_first:
        own = question_stems(answer.question)
        score = max((stem_overlap(own, theirs) for theirs in stems), default=0.0)
        if score > best_score or (best is None and score >= best_score):
            best, best_score = answer, score
    return best
