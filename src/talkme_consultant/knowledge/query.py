"""What a visitor's message becomes before it is searched.

Chat messages wrap the question in greetings and politeness ("Здравствуйте! Подскажите,
пожалуйста, ..."), and sometimes ask two things at once. The keyword side drops such words as
stopwords; the meaning side needs the text itself trimmed, because an embedding of
"Добрый день!" mixed into the question pulls it towards every record and none in particular.
"""

from __future__ import annotations

import re

from talkme_consultant.knowledge.text import clean_display

_PLEASANTRY_RE = re.compile(
    r"""^\s*(?:
        (?:здравствуйте|здравствуй|здрасте|здрасьте|привет(?:ствую)?|хай|hello|hi|
           добр(?:ый|ое|ого)\s+(?:день|утро|вечер|времени\s+суток|дня|утра|вечера)|
           доброго\s+времени\s+суток)
        |(?:подскажите|скажите|подскажи|скажи|уточните|расскажите)(?:\s*,?\s*пожалуйста)?
        |пожалуйста
        |(?:будьте|будь)\s+добры
        |извините(?:\s+за\s+беспокойство)?
    )[\s!.,)(:;-]*""",
    re.IGNORECASE | re.VERBOSE,
)
# Politeness that can sit anywhere in a question and never names its topic: «сколько стоит,
# подскажите, стрижка», «а у вас есть парковка», «не подскажете, где вы». Only whole words and
# fixed phrases: «у вас» goes, «до вас» (how to get to you) stays, because there it is the topic.
_FILLER_RE = re.compile(
    r"""(?<!\w)(?:
        (?:не\s+)?(?:подскажите|подскажете|скажите|скажете|подскажи|уточните)
        |пожалуйста|пжл|плиз
        |(?:будьте|будь)\s+добры
        |(?:заранее\s+)?спасибо
        |извините(?:\s+за\s+беспокойство)?
        |(?:я\s+)?(?:хотел[аи]?\s+бы|хочу|можно)\s+(?:узнать|уточнить|спросить)
        |у\s+вас
    )(?!\w)[\s,!)]*""",
    re.IGNORECASE | re.VERBOSE,
)
# «А где вы?», «И сколько длится?»: a conjunction opening a sentence, dropped with the greeting
# before it ("Привет, а вы работаете?").
_OPENING_CONJUNCTION_RE = re.compile(r"^[аи]\s+", re.IGNORECASE)
_SENTENCE_RE = re.compile(r"[^.!?\n]+[.!?]*")
_MEANING_RE = re.compile(r"[^\W_]")


def strip_pleasantries(text: str) -> str:
    """Remove greetings and politeness from a message, keeping the words of its question.

    Greetings go from the start of every sentence («Добрый день! Подскажите, ...»); fillers such
    as «подскажите», «пожалуйста», «а у вас» go wherever they stand. Returns the cleaned original
    when nothing meaningful would be left, so a bare greeting stays searchable (and then scores
    low, which is what the answerer needs to see).
    """
    text = clean_display(text)
    # Each sentence keeps its closing mark: "онлайн. Нас примут?" must not read as one clause.
    sentences = [
        _OPENING_CONJUNCTION_RE.sub("", _strip_start(s)) for s in _SENTENCE_RE.findall(text)
    ]
    stripped = " ".join(s for s in sentences if _MEANING_RE.search(s))
    stripped = _SPACE_RE.sub(" ", _FILLER_RE.sub(" ", stripped)).strip(" ,-")
    return stripped if _MEANING_RE.search(stripped) else text


_SPACE_RE = re.compile(r"\s+")


def _strip_start(text: str) -> str:
    while True:
        shorter = _PLEASANTRY_RE.sub("", text, count=1)
        if shorter == text:
            break
        text = shorter
    return text.lstrip(" ,.!-").rstrip()


def _strip(text: str) -> str:
    return _strip_start(text).strip(" ,.!-")


def question_parts(text: str, min_chars: int = 12) -> list[str]:
    """Split a message into its sentences, keeping the ones long enough to ask something."""
    parts = [_strip(p) for p in _SENTENCE_RE.findall(clean_display(text))]
    return [p for p in parts if len(p) >= min_chars]
