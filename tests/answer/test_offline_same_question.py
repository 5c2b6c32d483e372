"""A question an FAQ file answers twice gets both answers when they agree."""

from __future__ import annotations

from tests.answer.test_offline import answerer, ctx
from tests.answer.test_offline_missing import found

from talkme_consultant.answer.base import Intent
from talkme_consultant.knowledge.records import Record, Source

QUESTION = "Как посмотреть аналитику видео в приложении?"


def faq(answer: str, row: int, *, question: str = QUESTION, file: str = "faq.csv") -> Record:
    return Record(
        text=f"{question}\n{answer}",
        title=question,
        answer=answer,
        source=Source(file=file, row=row),
    )


ANDROID = faq("На Android откройте вкладку «Видео» и выберите ролик.", 2)
IOS = faq("На iPhone аналитика открывается из карточки ролика.", 7)
NOT_YET = faq("Пока в приложении такой возможности нет.", 9)


async def test_two_agreeing_answers_to_one_question_are_given_together() -> None:
    bot, _ = answerer(found(ANDROID, 0.8), found(IOS, 0.78))

    draft = await bot.answer(ctx("как в приложении глянуть аналитику по видео"))

    assert draft.intent is Intent.ANSWER
    assert draft.text == f"{ANDROID.answer}\n\n{IOS.answer}"
    assert [hit.record_id for hit in draft.used_records] == [ANDROID.record_id, IOS.record_id]


async def test_answers_that_disagree_are_not_put_side_by_side() -> None:
    bot, _ = answerer(found(ANDROID, 0.8), found(NOT_YET, 0.78))

    draft = await bot.answer(ctx("как в приложении глянуть аналитику по видео"))

    assert draft.text == ANDROID.answer


async def test_another_question_or_a_weak_second_answer_is_left_out() -> None:
    other = faq("Доход виден в разделе «Монетизация».", 3, question="Как посмотреть доход?")
    elsewhere = faq(IOS.answer or "", 7, file="другой.csv")

    for second in (found(other, 0.78), found(IOS, 0.2), found(elsewhere, 0.78)):
        bot, _ = answerer(found(ANDROID, 0.8), second)

        draft = await bot.answer(ctx("как в приложении глянуть аналитику по видео"))

        assert draft.text == ANDROID.answer


async def test_the_same_question_written_with_other_punctuation_is_one_question() -> None:
    dashed = faq(IOS.answer or "", 7, question="Как посмотреть аналитику видео — в приложении?")

    bot, _ = answerer(found(ANDROID, 0.8), found(dashed, 0.78))

    draft = await bot.answer(ctx("как в приложении глянуть аналитику по видео"))

    assert draft.text == f"{ANDROID.answer}\n\n{IOS.answer}"
