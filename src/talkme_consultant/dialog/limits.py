"""Size limits of one turn: how much of the visitor's text and of the dialogue reaches the model.

A visitor (or a script) can paste megabytes into the chat; the model is paid per token and the
dialogue memory is sent again on every later turn. So the turn's text is cut to a number of
characters, keeping the END (what the visitor is asking now), and the history is cut to a token
budget, keeping the newest messages.

Tokens are estimated, not counted: no tokenizer is downloaded or bundled. OpenAI-style tokenizers
give about four characters per token for English and two and a half to four for Russian, so one
token per `CHARS_PER_TOKEN` characters plus a few tokens of framing per message errs on the side
of more tokens for the Russian dialogues this bot has.
"""

from __future__ import annotations

from collections.abc import Sequence

from talkme_consultant.answer.base import HistoryMessage

CUT_MARK = "…"
CHARS_PER_TOKEN = 3
MESSAGE_OVERHEAD_TOKENS = 4  # the role and the delimiters around each message


def keep_end(text: str, max_chars: int) -> str:
    """`text` itself when it fits in `max_chars`, else its end, led by "…" (still `max_chars`)."""
    if len(text) <= max_chars:
        return text
    if max_chars <= len(CUT_MARK):
        return text[len(text) - max_chars :]
    return CUT_MARK + text[len(text) - max_chars + len(CUT_MARK) :].lstrip()


def estimate_tokens(text: str) -> int:
    """A cheap upper-leaning estimate of the tokens `text` costs (see the module docstring)."""
    return -(-len(text) // CHARS_PER_TOKEN)


def message_tokens(message: HistoryMessage) -> int:
    """Estimated tokens of one history message, its framing included."""
    return estimate_tokens(message.text) + MESSAGE_OVERHEAD_TOKENS


def trim_history(messages: Sequence[HistoryMessage], budget: int) -> list[HistoryMessage]:
    """The newest messages whose estimated tokens fit in `budget`, oldest first.

    The kept messages are contiguous: an older message never jumps the queue past a newer one that
    did not fit. When even the newest message alone is too big, its end is kept, cut with "…".
    """
    kept: list[HistoryMessage] = []
    left = budget
    for message in reversed(messages):
        cost = message_tokens(message)
        if cost <= left:
            kept.append(message)
            left -= cost
            continue
        if not kept:
            room = (left - MESSAGE_OVERHEAD_TOKENS) * CHARS_PER_TOKEN
            if room > len(CUT_MARK):
                kept.append(message.model_copy(update={"text": keep_end(message.text, room)}))
        break
    kept.reverse()
    return kept


def oldest_within(messages: Sequence[HistoryMessage], budget: int) -> list[HistoryMessage]:
    """The oldest messages whose estimated tokens fit in `budget`, in order: what the next
    summary folds in, so nothing is skipped. The first message is always taken, its end kept
    when it alone is too big; the rest wait for a later summary."""
    taken: list[HistoryMessage] = []
    left = budget
    for message in messages:
        cost = message_tokens(message)
        if cost <= left:
            taken.append(message)
            left -= cost
            continue
        if not taken:
            room = max((left - MESSAGE_OVERHEAD_TOKENS) * CHARS_PER_TOKEN, len(CUT_MARK) + 1)
            taken.append(message.model_copy(update={"text": keep_end(message.text, room)}))
        break
    return taken
