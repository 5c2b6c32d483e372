"""Receiving visitor messages: durable, deduplicated, with the debounce window kept in the row."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func

from talkme_consultant.helpers.kinds import ConversationState
from talkme_consultant.store.database import Sessions
from talkme_consultant.store.models import Conversation, InboundMessage
from talkme_consultant.store.upsert import insert_for, least


@dataclass(frozen=True)
class IncomingMessage:
    """A validated webhook message, reduced to what the store keeps."""

    conversation_key: str
    dedup_key: str | None
    text: str
    is_attachment: bool
    token: str
    site_id: str | None
    client_name: str | None
    phone: str | None
    dialog_id: int | None


class InboxRepository:
    """Writes incoming messages; the webhook acknowledges only after `accept` returns."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def accept(
        self, message: IncomingMessage, *, now: float, debounce: float, max_wait: float
    ) -> bool:
        """Store the message and schedule its conversation; False when it is a duplicate.

        A burst keeps pushing the turn back by `debounce`, but never past `max_wait` after the
        first waiting message, so a chatty visitor still gets answers.
        """
        async with self._sessions.write() as session:
            insert = insert_for(session, InboundMessage).values(
                conversation_key=message.conversation_key,
                dedup_key=message.dedup_key,
                text=message.text,
                is_attachment=message.is_attachment,
                received_at=now,
            )
            if message.dedup_key is not None:
                insert = insert.on_conflict_do_nothing(index_elements=["dedup_key"])
            result = await session.execute(insert.returning(InboundMessage.id))
            if result.scalar_one_or_none() is None:
                return False
            conversation = insert_for(session, Conversation).values(
                key=message.conversation_key,
                site_id=message.site_id,
                client_name=message.client_name,
                phone=message.phone,
                dialog_id=message.dialog_id,
                token=message.token,
                state=ConversationState.BOT,
                messages_count=1,
                created_at=now,
                last_activity=now,
                due_at=now + debounce,
                first_pending_at=now,
                summarized_upto=0,
                prompt_tokens=0,
                completion_tokens=0,
                cost=0.0,
            )
            first = func.coalesce(Conversation.first_pending_at, now)
            await session.execute(
                conversation.on_conflict_do_update(
                    index_elements=["key"],
                    set_={
                        "token": message.token,
                        "client_name": func.coalesce(
                            conversation.excluded.client_name, Conversation.client_name
                        ),
                        "phone": func.coalesce(conversation.excluded.phone, Conversation.phone),
                        "site_id": func.coalesce(
                            conversation.excluded.site_id, Conversation.site_id
                        ),
                        "dialog_id": func.coalesce(
                            conversation.excluded.dialog_id, Conversation.dialog_id
                        ),
                        # A new webhook means TalkMe gave the dialogue back to the bot.
                        "state": ConversationState.BOT,
                        "messages_count": Conversation.messages_count + 1,
                        "last_activity": now,
                        "first_pending_at": first,
                        "due_at": least(session, now + debounce, first + max_wait),
                    },
                )
            )
            return True
