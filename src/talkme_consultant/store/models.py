"""Tables. Times are UNIX seconds (float): they compare the same way on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from talkme_consultant.helpers.kinds import CallStatus, ConversationState


class Base(DeclarativeBase):
    """Declarative base for every table."""


def table_of(model: type[Base]) -> Table:
    """A model's Core table, for the statements of the turn workers' hot path (see
    `store.database.Sessions`)."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Conversation(Base):
    """One visitor's dialogue with the business, keyed by TalkMe's client identity."""

    __tablename__ = "conversations"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    site_id: Mapped[str | None] = mapped_column(String(128))
    client_name: Mapped[str | None] = mapped_column(String(512))
    phone: Mapped[str | None] = mapped_column(String(64))
    visitor_name: Mapped[str | None] = mapped_column(String(256))
    dialog_id: Mapped[int | None] = mapped_column(BigInteger)
    token: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=ConversationState.BOT)
    messages_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[float] = mapped_column(Float)
    last_activity: Mapped[float] = mapped_column(Float)
    # Scheduling: a turn may run once due_at has passed and no live lease is held.
    due_at: Mapped[float | None] = mapped_column(Float)
    first_pending_at: Mapped[float | None] = mapped_column(Float)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[float | None] = mapped_column(Float)
    summary: Mapped[str | None] = mapped_column(Text)
    summarized_upto: Mapped[int] = mapped_column(BigInteger, default=0)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    completion_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    # Failed attempts of the waiting turn; after TURN_MAX_ATTEMPTS the visitor is handed over.
    turn_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Model tokens spent on `budget_day` (YYYY-MM-DD), checked against the daily budget.
    budget_day: Mapped[str | None] = mapped_column(String(10))
    budget_tokens: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    __table_args__ = (
        Index("ix_conversations_due", "due_at"),
        Index("ix_conversations_created", "created_at"),
        Index("ix_conversations_activity", "last_activity"),
    )


class InboundMessage(Base):
    """A visitor message as received; stored before the webhook is acknowledged."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_key: Mapped[str] = mapped_column(String(128), index=True)
    dedup_key: Mapped[str | None] = mapped_column(String(192), unique=True)
    text: Mapped[str] = mapped_column(Text)
    is_attachment: Mapped[bool] = mapped_column(default=False)
    received_at: Mapped[float] = mapped_column(Float)
    processed_at: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        Index("ix_inbound_pending", "conversation_key", "processed_at"),
        Index("ix_inbound_received", "received_at"),
    )


class DialogMessage(Base):
    """The dialogue as the bot remembers it: merged visitor turns and the bot's replies."""

    __tablename__ = "dialog_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_key: Mapped[str] = mapped_column(String(128), index=True)
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)
    meta: Mapped[str | None] = mapped_column(Text)
    # Copied from a bot reply's meta at turn time, for the console's SQL aggregates.
    intent: Mapped[str | None] = mapped_column(String(32))
    answerer: Mapped[str | None] = mapped_column(String(32))
    latency_ms: Mapped[float | None] = mapped_column(Float)
    tokens: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    cost: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")

    # Covers the overview's aggregates over bot replies, so they read the index alone.
    __table_args__ = (
        Index(
            "ix_dialog_messages_bot_figures",
            "role",
            "created_at",
            "intent",
            "latency_ms",
            "tokens",
            "cost",
        ),
    )


class OutboxCall(Base):
    """A TalkMe API call waiting to be made (or made, or given up on)."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_key: Mapped[str] = mapped_column(String(128))
    method: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    token: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=CallStatus.PENDING)
    # Calls of one conversation and lane are made in order; the account API has its own lane,
    # so a failing client-card update never holds back the visitor's replies.
    lane: Mapped[str] = mapped_column(String(16), default="bot", server_default="bot")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[float | None] = mapped_column(Float)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)
    done_at: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        Index("ix_outbox_pending", "status", "next_attempt_at"),
        Index("ix_outbox_conversation", "conversation_key", "status", "id"),
    )


class Event(Base):
    """Something the owner should be able to see later: handoffs, guard events, errors, leads."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_key: Mapped[str | None] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    data: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (
        Index("ix_events_kind_created", "kind", "created_at"),
        Index("ix_events_conversation_kind", "conversation_key", "kind"),
    )


class Lead(Base):
    """A visitor who wants to book and left a phone number."""

    __tablename__ = "leads"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_key: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str | None] = mapped_column(String(256))
    phone: Mapped[str] = mapped_column(String(64))
    interest: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)
    # new / called / done (`store.leads.LeadStatus`), set by the owner in the console.
    status: Mapped[str] = mapped_column(String(16), default="new", server_default="new")

    __table_args__ = (
        UniqueConstraint("conversation_key", "phone"),
        Index("ix_leads_created", "created_at"),
    )


class HandedOverQuestion(Base):
    """A visitor question handed to an operator, waiting for the operator's answer to be read."""

    __tablename__ = "handed_over_questions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_key: Mapped[str] = mapped_column(String(128), index=True)
    question: Mapped[str] = mapped_column(Text)
    handed_over_at: Mapped[float] = mapped_column(Float)
    # "waiting" until the operator's answer is stored ("answered") or it is too old ("expired").
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    checked_at: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (Index("ix_handed_over_waiting", "status", "handed_over_at"),)


class OperatorAnswer(Base):
    """What an operator answered to a question the bot handed over."""

    __tablename__ = "operator_answers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_key: Mapped[str] = mapped_column(String(128), index=True)
    question_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    operator_at: Mapped[float] = mapped_column(Float)
    harvested_at: Mapped[float] = mapped_column(Float)


class SyncCursor(Base):
    """How far a periodic reading of TalkMe has got (UNIX seconds), so it resumes there."""

    __tablename__ = "sync_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class KnowledgeFile(Base):
    """A knowledge source file, kept whole so the index can always be rebuilt from the store."""

    __tablename__ = "kb_files"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    origin: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[float] = mapped_column(Float)
    records_count: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class KnowledgeRecord(Base):
    """One record derived from a knowledge file (JSON of `knowledge.records.Record`)."""

    __tablename__ = "kb_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    file_name: Mapped[str] = mapped_column(
        String(255), ForeignKey("kb_files.name", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    data: Mapped[str] = mapped_column(Text)


class KnowledgeState(Base):
    """The knowledge base's version: it moves whenever the set of records changes."""

    __tablename__ = "kb_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[float] = mapped_column(Float)
    dir_fingerprint: Mapped[str | None] = mapped_column(String(64))
    evaluation: Mapped[str | None] = mapped_column(Text)


class CachedEmbedding(Base):
    """An embedding by (model, content hash): unchanged text is never embedded twice."""

    __tablename__ = "embedding_cache"

    model: Mapped[str] = mapped_column(String(128), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class OwnerFaq(Base):
    """A question and answer the owner wrote: kept in the store, not in a knowledge file, so
    re-ingesting or deleting files never loses it."""

    __tablename__ = "owner_faq"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class RecordPhrasing(Base):
    """A visitor's wording the owner pointed at a record: indexed as one more way to ask for it."""

    __tablename__ = "record_phrasings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(String(32), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)


class OpenQuestion(Base):
    """A question the bot could not answer (or answered wrongly), waiting for the owner.

    `kind`: not_known (handed over for not knowing), unclear (a clarification the visitor did not
    resolve), wrong (the owner marked the bot's answer wrong). `status`: open, answered, linked,
    dismissed; `resolution` names what resolved it (`faq:<id>` or a record id). `group_id` is the
    id of the first question of its group of near-duplicates (NULL until it is grouped).
    """

    __tablename__ = "open_questions"
    # A page of groups is counted from this index alone: a status's rows, by group, with when
    # each was asked.
    __table_args__ = (Index("ix_open_questions_groups", "status", "group_id", "asked_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_key: Mapped[str] = mapped_column(String(128), index=True)
    question: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    asked_at: Mapped[float] = mapped_column(Float)
    event_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    bot_message_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    bot_answer: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    resolution: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[float | None] = mapped_column(Float)
    # Kept when the question is resolved, so every status shows the groups the owner saw open.
    group_id: Mapped[int | None] = mapped_column(BigInteger, index=True)


class ConsoleSecret(Base):
    """A secret of the owner's console, kept where every process of the installation finds it:
    on PostgreSQL, whose processes may run on hosts that share no DATA_DIR, the key that signs
    the console's cookies."""

    __tablename__ = "console_secrets"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[float] = mapped_column(Float)


class SignedInSession(Base):
    """A console session the owner signed in to and has not signed out of. Only a digest of the
    id its cookie carries is kept, so a copy of the database signs no one in."""

    __tablename__ = "console_sessions"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class BookingRow(Base):
    """A booking into the calendar, kept before `book_record` is sent and given its record id
    once the calendar answers: a turn retried after a crash finds it instead of booking twice."""

    __tablename__ = "bookings"

    api_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_key: Mapped[str] = mapped_column(String(128), index=True)
    details: Mapped[str] = mapped_column(Text)
    record_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[float] = mapped_column(Float)


# Every table whose rows belong to one visitor, by `conversation_key`: forgetting a visitor
# deletes from each, so a new table of a visitor's rows belongs here.
PERSONAL_TABLES: tuple[
    type[DialogMessage]
    | type[InboundMessage]
    | type[Event]
    | type[Lead]
    | type[OutboxCall]
    | type[HandedOverQuestion]
    | type[OperatorAnswer]
    | type[OpenQuestion]
    | type[BookingRow],
    ...,
] = (
    DialogMessage,
    InboundMessage,
    Event,
    Lead,
    OutboxCall,
    HandedOverQuestion,
    OperatorAnswer,
    OpenQuestion,
    BookingRow,
)
