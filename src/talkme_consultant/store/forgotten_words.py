"""A forgotten visitor's words leave the owner's lessons too.

An owner's answer is stored under the first visitor's exact question, and the group's other
wordings become taught phrasings (`store/lessons.py`): visitors' words, kept after the visitor
is forgotten. `forget_words` takes them out in the commit that forgets the visitor
(`ConversationRepository.delete`), before the visitor's messages go, since it reads them:

* a taught phrasing whose text is one of the visitor's messages or questions (compared as
  `fold_wording` folds them) is deleted;
* an owner's answer whose question is one takes one of its phrasings left as its question (the
  oldest no forgotten visitor wrote, else the oldest; it is then no longer a phrasing), or
  `PLACEHOLDER_QUESTION` when none is left; its answer stays, so the answer is still served.

A wording another visitor also asked, and whose question the same lesson resolved, stays: it is
that visitor's words as much as the forgotten one's, and the lesson still answers them. It goes
when they are forgotten too. Anything changed moves the knowledge version in the same commit, so
every process rebuilds its index without the words.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from talkme_consultant.helpers.cleaning import clean_text, fold_wording
from talkme_consultant.helpers.kinds import MessageRole
from talkme_consultant.store.knowledge import move_version
from talkme_consultant.store.lessons import MAX_WORDING_CHARS, faq_resolution
from talkme_consultant.store.models import (
    DialogMessage,
    InboundMessage,
    OpenQuestion,
    OwnerFaq,
    RecordPhrasing,
)
from talkme_consultant.store.owner_records import owner_faq_record

PLACEHOLDER_QUESTION = "Вопрос удалён вместе с перепиской посетителя"
"""The question of an owner's answer whose every wording was a forgotten visitor's."""
_READ_BATCH = 1000


async def forget_words(session: AsyncSession, key: str | None, *, now: float) -> bool:
    """Take the words of the visitor `key` (None: of every visitor) out of taught phrasings and
    owner-answer questions; True when a lesson changed (the knowledge version moved)."""
    faqs = list((await session.execute(select(OwnerFaq).order_by(OwnerFaq.id))).scalars())
    phrasings = list(
        (await session.execute(select(RecordPhrasing).order_by(RecordPhrasing.id))).scalars()
    )
    if not faqs and not phrasings:
        return False
    taught = {fold_wording(p.text) for p in phrasings} | {fold_wording(f.question) for f in faqs}
    said = await _visitor_wordings(session, key, taught)
    if not said:
        return False
    lesson_of_faq = {owner_record_id(f): faq_resolution(f.id) for f in faqs}
    shared = await _asked_by_others(session, key, said)

    def forgotten(wording: str, record_id: str) -> bool:
        folded = fold_wording(wording)
        if folded not in said:
            return False
        lessons = {record_id, lesson_of_faq.get(record_id)}
        return not any((lesson, folded) in shared for lesson in lessons)

    gone = [p for p in phrasings if forgotten(p.text, p.record_id)]
    left = [p for p in phrasings if p not in gone]
    # A phrasing no forgotten visitor wrote is the first choice for a new question.
    left.sort(key=lambda p: (fold_wording(p.text) in said, p.id))
    renamed = [faq for faq in faqs if forgotten(faq.question, owner_record_id(faq))]
    if not gone and not renamed:
        return False  # every wording of theirs was asked by others too
    for faq in renamed:
        promoted = _new_question(faq, left, now)
        if promoted is not None:
            left.remove(promoted)
            gone.append(promoted)  # it is the question now, no longer a phrasing
    for phrasing in gone:
        await session.delete(phrasing)
    await move_version(session, now)
    return True


def owner_record_id(faq: OwnerFaq) -> str:
    """The record id an owner's answer is served under (it follows the question's text)."""
    return owner_faq_record(faq.id, faq.question, faq.answer).record_id


def _new_question(faq: OwnerFaq, left: list[RecordPhrasing], now: float) -> RecordPhrasing | None:
    """Give `faq` the first of its phrasings `left` as its question (or the placeholder) and
    move its phrasings to the record id that follows the new question; returns the phrasing
    that became the question."""
    old = owner_record_id(faq)
    own = [p for p in left if p.record_id == old]
    promoted = own[0] if own else None
    faq.question = promoted.text if promoted is not None else PLACEHOLDER_QUESTION
    faq.updated_at = now
    new = owner_record_id(faq)
    for phrasing in own:
        phrasing.record_id = new
    return promoted


async def _visitor_wordings(
    session: AsyncSession, key: str | None, taught: Collection[str]
) -> set[str]:
    """The folded wordings in `taught` that the visitor (every visitor for None) wrote: in a
    message, a turn's text or an open question. Read in batches, as a flood may be large."""
    found: set[str] = set()
    for query in _visitor_texts(key):
        result = await session.stream_scalars(query.execution_options(yield_per=_READ_BATCH))
        async for text in result:
            found.update(w for w in _wordings(text) if w in taught)
    return found


def _visitor_texts(key: str | None) -> Iterable[Select[str]]:
    """Every text the visitor wrote, one query per table that keeps them."""
    said = select(DialogMessage.text).where(DialogMessage.role == MessageRole.VISITOR)
    received = select(InboundMessage.text)
    asked = select(OpenQuestion.question)
    if key is None:
        return [said, received, asked]
    return [
        said.where(DialogMessage.conversation_key == key),
        received.where(InboundMessage.conversation_key == key),
        asked.where(OpenQuestion.conversation_key == key),
    ]


def _wordings(text: str) -> set[str]:
    """A visitor's text folded as a lesson may hold it: whole, and cut as a phrasing is cut."""
    cleaned = clean_text(text).strip()
    return {fold_wording(cleaned), fold_wording(cleaned[:MAX_WORDING_CHARS])}


async def _asked_by_others(
    session: AsyncSession, key: str | None, said: Collection[str]
) -> set[tuple[str, str]]:
    """(resolution, folded question) of the other visitors' questions a lesson resolved whose
    wording the forgotten visitor also wrote."""
    if key is None:
        return set()
    rows = await session.execute(
        select(OpenQuestion.resolution, OpenQuestion.question).where(
            OpenQuestion.conversation_key != key, OpenQuestion.resolution.is_not(None)
        )
    )
    wanted = set(said)
    shared: set[tuple[str, str]] = set()
    for resolution, question in rows:
        if resolution is not None:  # the query's condition, said again for the type checker
            shared.update((resolution, wording) for wording in _wordings(question) & wanted)
    return shared
