"""A scripted model (for `ScriptedOpenAIServer.handler`) that books whoever asks."""

from __future__ import annotations

from tests.answer.llm_helpers import reply_payload
from tests.support.openai_server import RecordedRequest, Reply


def booking_model(request: RecordedRequest) -> Reply:
    """Search queries about a manicure; every reply takes the booking (the visitor becomes a lead
    for the operator, handed over with a summary)."""
    if request.schema_name == "search_queries":
        return Reply.json({"queries": ["маникюр запись"]})
    if request.schema_name == "consultant_reply":
        payload = reply_payload(
            "Спасибо! Передаю ваш номер администратору — он перезвонит.",
            wants_booking=True,
            visitor_name="Анна",
            interest="маникюр",
        )
        return Reply.json(payload)
    return Reply.text("Посетительница хотела записаться на маникюр.")
