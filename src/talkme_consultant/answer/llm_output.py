"""The model's structured reply read back into a draft: its intent from its flags, the records
it used or offered by their prompt ids, the rows it named, the phone the visitor wrote, and the
reply without the prompt's record ids."""

from __future__ import annotations

import re
from collections.abc import Sequence

from talkme_consultant.answer.base import ClarifyOption, Intent
from talkme_consultant.answer.clarifying import MAX_OPTIONS, option_title, options_of
from talkme_consultant.answer.llm_schema import ReplyOutput
from talkme_consultant.answer.tables import row_line, row_parts
from talkme_consultant.helpers.phones import extract_phones, normalize_phone
from talkme_consultant.knowledge.search import Hit


def reply_intent(output: ReplyOutput) -> tuple[Intent, str]:
    """The draft's intent from the model's flags, most consequential first."""
    if output.wants_person:
        return Intent.OPERATOR, "the visitor needs a person"
    if output.wants_booking:
        return Intent.BOOKING, "the visitor wants to book"
    if output.closing:
        return Intent.GOODBYE, "the visitor is closing the conversation"
    if output.off_topic:
        return Intent.OFF_TOPIC, "the message is not about the business"
    if output.not_found:
        return Intent.UNKNOWN, "the records do not answer the question"
    if output.greeting and not output.used_record_ids:
        return Intent.GREETING, ""
    if output.thanks and not output.used_record_ids:
        return Intent.THANKS, ""
    return Intent.ANSWER, ""


def shown_ids(record_ids: Sequence[str], shown: dict[str, Hit]) -> list[str]:
    """The ids the model gave that name shown records, each once, in its order."""
    return list(dict.fromkeys(record_id for record_id in record_ids if record_id in shown))


def clarify_options(output: ReplyOutput, shown: dict[str, Hit]) -> list[ClarifyOption]:
    """The options of the model's clarifying question: two to four shown records with titles."""
    if not output.clarify:
        return []
    hits = [shown[record_id] for record_id in shown_ids(output.clarify_record_ids, shown)]
    options = options_of([hit for hit in hits if option_title(hit.record)][:MAX_OPTIONS])
    return options if len(options) >= 2 else []


def figures_line(hit: Hit) -> str:
    """A price-list row as people say it ("Маникюр — 1 800 ₽, 60 мин"); "" for other records."""
    record = hit.record
    return row_line(record) if record.fields and row_parts(record).figures else ""


def listed_rows(reply: str, hits: Sequence[Hit]) -> list[ClarifyOption]:
    """The price-list rows a reply names, in the order it names them, when it names two or more:
    the visitor may answer such a list with «второе»."""
    folded = reply.casefold()
    rows = [hit for hit in hits if option_title(hit.record) and figures_line(hit)]
    # Longer titles first: "Маникюр" inside "Маникюр с покрытием" is not a row of its own.
    rows.sort(key=lambda hit: len(option_title(hit.record) or ""), reverse=True)
    taken: list[tuple[int, int]] = []
    named: list[tuple[int, Hit]] = []
    for hit in rows:
        title = (option_title(hit.record) or "").casefold()
        start = folded.find(title)
        while start >= 0 and any(a <= start < b for a, b in taken):
            start = folded.find(title, start + 1)
        if start >= 0:
            taken.append((start, start + len(title)))
            named.append((start, hit))
    if len(named) < 2:
        return []
    named.sort(key=lambda item: item[0])
    return options_of([hit for _, hit in named])


def used_records(output: ReplyOutput, shown: dict[str, Hit]) -> list[Hit]:
    """The shown records the model says it used, each once, in its order."""
    used: list[Hit] = []
    for record_id in output.used_record_ids:
        hit = shown.get(record_id)
        if hit is not None and hit not in used:
            used.append(hit)
    return used


def visitor_phone(visitor_text: str, model_phone: str | None) -> str | None:
    """The phone the visitor wrote: parsed by code; the model's reading only if the text has it."""
    found = extract_phones(visitor_text)
    if found:
        return found[0]
    if model_phone is None:
        return None
    phone = normalize_phone(model_phone)
    digits = "".join(ch for ch in visitor_text if ch.isdigit())
    # The model may assemble a number the visitor split oddly; never one the visitor did not write.
    if phone is not None and phone[-10:] in digits:
        return phone
    return None


# "(R1)", "[R1, R2]", "R3": the prompt's record ids mean nothing to a visitor.
_RECORD_REFS = re.compile(r"\s*[\[(]\s*R\d+(?:\s*[,;]\s*R\d+)*\s*[\])]|\bR\d+\b\s?")


def strip_record_refs(reply: str) -> str:
    """The reply without the prompt's record ids («(R1)», «[R1, R2]») and the gaps they leave."""
    return re.sub(r"[ \t]{2,}", " ", _RECORD_REFS.sub("", reply)).strip().lstrip(":;, ")


def shortened(value: str | None, limit: int) -> str | None:
    """A value the model gave, on one line and cut to `limit` characters; None when empty."""
    if value is None:
        return None
    value = " ".join(value.split())
    return value[:limit] or None
