"""What the operator should see on the visitor's TalkMe card after a turn.

When a turn learns the visitor's name or phone, or records a lead, a `chat/client/setInfo` call
is queued in the outbox's account lane with the turn's commit, so a failure is retried and
nothing is lost, and a failing account API never holds back the visitor's replies.
"""

from __future__ import annotations

from talkme_consultant.helpers.outcome import TurnOutcome
from talkme_consultant.store.models import Conversation
from talkme_consultant.store.outbox import LANE_ACCOUNT
from talkme_consultant.store.turn_writes import PlannedCall
from talkme_consultant.talkme.account_wire import (
    METHOD_CLIENT_SET_INFO,
    ClientCard,
    set_info_body,
)

# The card's notes are read by a person at a glance.
SUMMARY_CHARS = 500
INTEREST_CHARS = 200


def card_update(conversation: Conversation, outcome: TurnOutcome) -> PlannedCall | None:
    """The card update this turn calls for, or None when it learned nothing new."""
    lead = outcome.lead
    name = outcome.visitor_name or (lead.name if lead else None)
    phone = outcome.phone or (lead.phone if lead else None)
    new_name = name if name and name != conversation.visitor_name else None
    new_phone = phone if phone and phone != conversation.phone else None
    if not (new_name or new_phone or lead):
        return None
    notes: dict[str, str] = {}
    if lead is not None:
        if lead.interest:
            notes["interest"] = lead.interest[:INTEREST_CHARS]
        if lead.summary:
            notes["summary"] = _short(lead.summary)
    card = ClientCard(
        name=name if (new_name or lead) else None,
        phone=phone if (new_phone or lead) else None,
        custom_data=notes,
    )
    return PlannedCall(
        METHOD_CLIENT_SET_INFO, set_info_body(conversation.key, card), lane=LANE_ACCOUNT
    )


def _short(text: str) -> str:
    """The end of a long summary (the newest lines matter most), marked as cut."""
    text = text.strip()
    return text if len(text) <= SUMMARY_CHARS else "…" + text[-(SUMMARY_CHARS - 1) :]
