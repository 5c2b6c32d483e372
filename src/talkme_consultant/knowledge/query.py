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
_SENTENCE_RE = re.compile(r"[^.!?\n]+[.!?]*")


def strip_pleasantries(text: str) -> str:
    """Remove greetings and "подскажите, пожалуйста" from the start of a message.

    Returns the original text when nothing would be left, so a bare greeting stays searchable
    (and then scores low, which is what the answerer needs to see).
    """
    text = clean_display(text)
    return _strip(text) or text


def _strip(text: str) -> str:
    while True:
        shorter = _PLEASANTRY_RE.sub("", text, count=1)
        if shorter == text:
            break
        text = shorter
    return text.strip(" ,.!-")


def question_parts(text: str, min_chars: int = 12) -> list[str]:
    """Split a message into its sentences, keeping the ones long enough to ask something."""
    parts = [_strip(p) for p in _SENTENCE_RE.findall(clean_display(text))]
    return [p for p in parts if len(p) >= min_chars]
