"""Recognising the small talk and requests every chat bot must understand, without a model."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SPACE = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s-]+")

_GREETING = re.compile(
    r"^(здравствуй(те)?|здрасьте|здрасте|привет(ствую)?|добр(ый|ое|ого) (день|утро|вечер|"
    r"времени суток)|доброго времени суток|доброго дня|хай|хелло|hello|hi|hey|good (morning|"
    r"afternoon|evening)|салют|ку)\b"
)
_THANKS = re.compile(r"\b(спасибо|спасиб|благодарю|благодарствую|спс|thanks|thank you|thx)\b")
_GOODBYE = re.compile(
    r"\b(до свидания|досвидания|пока(?!\s+(нет|не|что|еще|ещё|думаю))|всего доброго|"
    r"всего хорошего|до встречи|хорошего дня|"
    r"bye|goodbye|see you)\b"
)
_OPERATOR = re.compile(
    r"(оператор|администратор|менеджер|жив\w* (человек|сотрудник|консультант)|"
    r"(с|со|к) (человеком|сотрудником|специалистом)|позовите|позови|соедините|переключите|"
    r"\bhuman\b|real person|\boperator\b|\bagent\b|\bmanager\b)"
)
# "Как позвонить администратору?" asks for a phone number, not for a person in the chat.
_CONTACT_QUESTION = re.compile(
    r"(позвонить|звонить|перезвон\w*|телефон\w*|номер\w*|e-?mail|почт\w*)"
)
_EXPLICIT_PERSON = re.compile(
    r"(позов\w*|соедин\w*|переключ\w*|поговорить|пообщаться|свяжите|живо\w*|живы\w*|human|"
    r"real person)"
)
# Words that carry no question on their own; what is left after removing them is the question.
_FILLER = re.compile(
    r"\b(здравствуй(те)?|здрасьте|здрасте|привет(ствую)?|добр(ый|ое|ого)|день|утро|вечер|"
    r"доброго|времени|суток|подскажите|скажите|пожалуйста|пжл|плиз|спасибо|спасиб|благодарю|"
    r"спс|до|свидания|пока|всего|доброго|хорошего|встречи|hello|hi|hey|thanks|thank|you|bye|"
    r"goodbye|good|morning|afternoon|evening|ок|окей|ok|хорошо|ясно|понятно|да|нет|ага|угу|"
    r"а|и|ну|вы|мне|я)\b"
)

# What opens a question without asking it yet: the question itself is still being typed.
_OPENING = re.compile(
    r"^(извините |простите |девушка |а |у меня |есть |такой |еще |ещё )*"
    r"(вопрос\w*( можно)?|можно (задать |вас )?(вопрос\w*|спросить|узнать|уточнить)|"
    r"хотел\w* (бы )?(спросить|узнать|уточнить)|хочу (спросить|узнать|уточнить)|"
    r"(подскажите|скажите|уточните)( пожалуйста)?)( пожалуйста)?$"
)
# Words that make a message a question or a request without a question mark.
_ASKING = re.compile(
    r"^(сколько|почем|когда|где|куда|откуда|как|какой|какая|какое|какие|каких|каким|кто|"
    r"что|чем|зачем|почему|можно|ли|есть|работаете|хочу|хотим|хотела?|хотели|запишите|"
    r"записаться|записать|нужно|нужен|нужна|надо|цена|цены|стоимость|стоит|стоят|прайс)$"
)
# A message ending like this goes on in the next one: a comma or a dash, or a preposition or a
# conjunction with nothing after it («хочу записаться на», «маникюр и»).
_GOES_ON = re.compile(
    r"((,|:|;|-|—|–|\.\.\.|…)|\b(на|в|во|к|ко|с|со|у|о|об|про|для|по|за|до|от|из|и|а|или|но|"
    r"чтобы|что))\s*$",
    re.IGNORECASE,
)
# Only a message's end is read for that: a long message is a question or a story either way.
WHOLE_READ_CHARS = 500
# The number of an offered choice, a reply that is whole by itself.
_CHOICE = re.compile(r"^\s*\d{1,2}\s*[.)]?\s*$")


def normalize(text: str) -> str:
    """Lower-case, ё→е, punctuation dropped, single spaces."""
    lowered = text.lower().replace("ё", "е")
    return _SPACE.sub(" ", _PUNCT.sub(" ", lowered)).strip()


def _without_filler(plain: str) -> str:
    """What is left of normalised text once greetings, politeness and fillers are removed."""
    return _SPACE.sub(" ", _FILLER.sub(" ", plain)).strip()


@dataclass(frozen=True)
class SmallTalk:
    """What a message says besides (or instead of) a question."""

    greeting: bool
    thanks: bool
    goodbye: bool
    wants_person: bool
    acknowledgement: bool  # only filler words ("ок", "понятно", "пока нет")
    question: str  # what remains once small talk is removed; empty when nothing does


def read_small_talk(text: str) -> SmallTalk:
    """Classify greetings, thanks, goodbyes and requests for a person in `text`."""
    plain = normalize(text)
    remainder = _without_filler(plain)
    has_question = "?" in text or len(remainder.split()) >= 2
    return SmallTalk(
        greeting=bool(_GREETING.search(plain)),
        thanks=bool(_THANKS.search(plain)),
        goodbye=bool(_GOODBYE.search(plain)),
        wants_person=bool(_OPERATOR.search(plain))
        and (not _CONTACT_QUESTION.search(plain) or bool(_EXPLICIT_PERSON.search(plain))),
        acknowledgement=bool(plain) and not remainder,
        question=text.strip() if has_question else "",
    )


def reads_whole(text: str) -> bool:
    """Whether a visitor's message reads as a whole question, request or choice, so its turn
    need not wait long for more: «сколько стоит маникюр?», «есть запись на завтра», «2».
    Openings («Здравствуйте», «подскажите», «у меня вопрос:»), statements («у меня сломался
    ноготь»), single words and a message ending in a comma, colon or dash may go on."""
    text = text[-WHOLE_READ_CHARS:]
    if _GOES_ON.search(text):
        return False
    if _CHOICE.match(text):
        return True
    plain = normalize(text)
    remainder = _without_filler(plain)
    if not remainder or _OPENING.match(plain) or _OPENING.match(remainder):
        return False
    if "?" in text:
        return True
    # Without a question mark, asking words and something asked about: «сколько стоит
    # маникюр», not «сколько стоит» or «а можно».
    asking = [bool(_ASKING.match(word)) for word in remainder.split()]
    return any(asking) and not all(asking)
