"""The owner's console API: open questions, the owner's answers, taught phrasings and the
knowledge search (request bodies and answers)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from talkme_consultant.service.open_questions import GroupStatus, QuestionKind
from talkme_consultant.web.schemas.shared import Answer, Seconds

__all__ = [
    "AnswerText",
    "GroupAnswerInput",
    "GroupAnswered",
    "GroupDismissed",
    "GroupLinkInput",
    "GroupLinked",
    "KnowledgeHit",
    "KnowledgeSearch",
    "OwnerFaqDeleted",
    "OwnerFaqEntry",
    "OwnerFaqInput",
    "OwnerFaqList",
    "PhrasingDeleted",
    "PhrasingEntry",
    "PhrasingList",
    "QuestionExample",
    "QuestionGroupEntry",
    "QuestionGroupPage",
    "QuestionText",
    "QuestionWording",
    "RequestBody",
    "WrongAnswerInput",
    "WrongAnswerMarked",
]

QuestionText = Field(min_length=1, max_length=1000)
AnswerText = Field(min_length=1, max_length=4000)


class RequestBody(BaseModel):
    """Base of every request body: unknown fields are refused, so a typo is a 422."""

    model_config = ConfigDict(extra="forbid")


class OwnerFaqInput(RequestBody):
    """An owner's answer: the question as visitors ask it and the answer the bot gives."""

    question: str = QuestionText
    answer: str = AnswerText


class GroupAnswerInput(RequestBody):
    """The answer to a group; `question` defaults to the group's first question."""

    answer: str = AnswerText
    question: str | None = Field(default=None, min_length=1, max_length=1000)
    question_ids: list[int] | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description=(
            "The wordings to teach, each named by the newest question id of a wording in the "
            "group's `wordings` as last read; the questions of those wordings up to that id are "
            "resolved, later ones stay open. Omitted: every wording of the group."
        ),
    )


class GroupLinkInput(RequestBody):
    """The record that already answers a group (an id from `/admin/knowledge/search`)."""

    record_id: str = Field(min_length=1, max_length=32)
    question_ids: list[int] | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description=(
            "The wordings to teach, each named by the newest question id of a wording in the "
            "group's `wordings` as last read; the questions of those wordings up to that id are "
            "resolved, later ones stay open. Omitted: every wording of the group."
        ),
    )


class WrongAnswerInput(RequestBody):
    """A bot message (an id from `/admin/conversations/{key}`) that answered wrongly."""

    message_id: int = Field(ge=1, le=2**63 - 1)


class OwnerFaqEntry(Answer):
    """An owner's answer, served as a knowledge record of origin `owner`."""

    id: int
    question: str
    answer: str
    record_id: str = Field(description="The id it is served and found under.")
    origin: Literal["owner"] = "owner"
    created_at: Seconds
    updated_at: Seconds


class OwnerFaqList(Answer):
    """Every owner's answer, oldest first."""

    answers: list[OwnerFaqEntry]


class OwnerFaqDeleted(Answer):
    """An owner's answer was removed; the questions it answered are open again."""

    deleted: int


class QuestionExample(Answer):
    """One visitor's question in a group."""

    id: int
    conversation_key: str
    question: str
    kind: QuestionKind
    asked_at: Seconds
    bot_answer: str | None = Field(description="The answer marked wrong (kind `wrong`).")


class QuestionWording(Answer):
    """One way the group's question was put and the questions asked in it, oldest first."""

    text: str
    question_ids: list[int]
    newest_id: int = Field(description="The id that names this wording in an answer or link.")


class QuestionGroupEntry(Answer):
    """Near-identical questions; `id` is the first question's id and names the group."""

    id: int
    status: GroupStatus
    question: str = Field(description="The group's first question.")
    count: int
    last_asked_at: Seconds
    kinds: dict[str, int] = Field(description="How many questions of each kind.")
    examples: list[QuestionExample] = Field(description="The newest questions, newest first.")
    wordings: list[QuestionWording] = Field(description="Each distinct wording, first asked first.")
    resolution: str | None = Field(
        description="What resolved it: `faq:<id>` (an owner's answer) or a record id."
    )


class QuestionGroupPage(Answer):
    """A page of question groups, most asked first."""

    status: GroupStatus
    total_groups: int
    total_questions: int
    groups: list[QuestionGroupEntry]


class GroupAnswered(Answer):
    """The group's answer is stored and being served."""

    answer: OwnerFaqEntry
    resolved: int = Field(description="Questions marked answered.")


class GroupLinked(Answer):
    """The group's wordings are now phrasings of the record."""

    record_id: str
    phrasings_added: int
    resolved: int


class GroupDismissed(Answer):
    """The group was set aside."""

    dismissed: int


class WrongAnswerMarked(Answer):
    """The visitor's question before that bot message is an open question now."""

    marked: Literal[True] = True


class KnowledgeHit(Answer):
    """A record found for a query."""

    record_id: str
    title: str | None
    text: str
    file: str = Field(description="Its source file, or `owner-faq` for an owner's answer.")
    confidence: float


class KnowledgeSearch(Answer):
    """The best records for a query, best first."""

    query: str
    hits: list[KnowledgeHit]


class PhrasingEntry(Answer):
    """A wording taught for a record."""

    id: int
    record_id: str
    text: str
    created_at: Seconds


class PhrasingList(Answer):
    """Taught phrasings, oldest first."""

    phrasings: list[PhrasingEntry]


class PhrasingDeleted(Answer):
    """A taught phrasing was removed."""

    deleted: int
