"""Building blocks for answerer tests: records, a profile, a keyword retriever, scripted replies."""

from __future__ import annotations

import re
from typing import Any

from tests.support.openai_server import Reply

from talkme_consultant.knowledge.records import Record, Source
from talkme_consultant.knowledge.search import Hit
from talkme_consultant.profile import BusinessProfile

HAIRCUT = "Стрижка женская. Цена: 1 500 ₽. Длительность: 60 минут."
MENS_HAIRCUT = "Стрижка мужская. Цена: 900 ₽. Длительность: 40 минут."
COLORING = "Окрашивание в один тон. Цена: от 3 000 до 4 500 ₽ в зависимости от длины волос."
MANICURE = "Маникюр с покрытием гель-лак. Цена: 2 000 ₽. Длительность: 90 минут."
KIDS = "Можно ли прийти с ребёнком? Да, детская стрижка для детей до 12 лет стоит 700 ₽."
MASSAGE = "Абонемент на массаж: 10 сеансов со скидкой 15%."


def salon_records() -> list[Record]:
    """A small price list and FAQ."""
    rows = [HAIRCUT, MENS_HAIRCUT, COLORING, MANICURE, MASSAGE]
    records = [
        Record(text=text, title=text.split(".")[0], source=Source(file="prices.xlsx", row=row))
        for row, text in enumerate(rows, start=2)
    ]
    records.append(
        Record(text=KIDS, title="Можно ли прийти с ребёнком?", source=Source(file="faq.csv", row=7))
    )
    return records


def salon_profile() -> BusinessProfile:
    """A small profile with one branch."""
    return BusinessProfile.model_validate(
        {
            "name": "Салон красоты «Тест»",
            "short_name": "Тест",
            "description": "Салон красоты в Москве: стрижки, окрашивание, маникюр, массаж.",
            "branches": [
                {
                    "id": "center",
                    "name": "Филиал в центре",
                    "address": "г. Москва, ул. Примерная, д. 1",
                    "metro": ["Тверская"],
                    "phone": "+7 (495) 000-12-34",
                    "hours": {"weekdays": "с 9:00 до 21:00", "sunday": "с 10:00 до 18:00"},
                }
            ],
            "contacts": {
                "email": "hello@test-salon.example",
                "website": "https://test-salon.example",
            },
            "tone": {"address_form": "вы", "style": "Вежливо и коротко.", "max_sentences": 3},
            "must_not": ["Не ставить диагнозов."],
            "booking": {
                "instructions": "Позвоните в филиал или оставьте имя и телефон в чате.",
                "callback_time": "в течение 30 минут",
            },
            "handoff": {"triggers": ["Жалоба на мастера."]},
            "messages": {"off_topic": "Я отвечаю только на вопросы о салоне. Чем помочь?"},
        }
    )


def _stems(text: str) -> set[str]:
    # Five-letter prefixes are a crude stemmer: "стрижка", "стрижку", "стрижки" meet.
    return {
        word[:5] for word in re.findall(r"\w+", text.lower().replace("ё", "е")) if len(word) > 2
    }


class MemoryRetriever:
    """A Retriever over a fixed list of records with naive keyword scoring; records every query."""

    def __init__(self, records: list[Record]) -> None:
        self.records = records
        self.queries: list[str] = []

    async def search(self, query: str, k: int = 5) -> list[Hit]:
        self.queries.append(query)
        wanted = _stems(query)
        hits = []
        for record in self.records:
            overlap = len(wanted & _stems(record.text))
            if overlap:
                score = overlap / max(len(wanted), 1)
                hits.append(
                    Hit(
                        record_id=record.record_id,
                        record=record,
                        score=score,
                        confidence=min(score, 1.0),
                    )
                )
        hits.sort(key=lambda hit: hit.score, reverse=True)
        return hits[:k]

    def record(self, text: str) -> Record:
        """The record with this text."""
        return next(record for record in self.records if record.text == text)


def queries(*texts: str, **kwargs: Any) -> Reply:
    """The model's answer to the query-rewrite step."""
    return Reply.json({"queries": list(texts)}, **kwargs)


def reply_payload(text: str = "Женская стрижка стоит 1 500 ₽.", **fields: Any) -> dict[str, Any]:
    """A complete consultant_reply object; `fields` override the defaults."""
    payload: dict[str, Any] = {
        "reply": text,
        "used_record_ids": ["R1"],
        "wants_person": False,
        "wants_booking": False,
        "off_topic": False,
        "not_found": False,
        "greeting": False,
        "thanks": False,
        "closing": False,
        "clarify": False,
        "clarify_record_ids": [],
        "phone": None,
        "visitor_name": None,
        "interest": None,
    }
    payload.update(fields)
    return payload


def reply(
    text: str = "Женская стрижка стоит 1 500 ₽.",
    *,
    tokens: tuple[int, int] = (100, 20),
    **fields: Any,
) -> Reply:
    """The model's answer to the reply step, in schema mode."""
    return Reply.json(
        reply_payload(text, **fields), prompt_tokens=tokens[0], completion_tokens=tokens[1]
    )


def between(text: str, tag: str) -> str:
    """The content of the `<tag>` … `</tag>` block of a prompt (asserts there is exactly one)."""
    opened, closed = text.count(f"<{tag}>"), text.count(f"</{tag}>")
    assert (opened, closed) == (1, 1), f"expected one <{tag}> block, found {opened}/{closed}"
    return text.split(f"<{tag}>", 1)[1].split(f"</{tag}>", 1)[0]
