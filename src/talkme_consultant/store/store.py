"""The store as one object handed to the rest of the app: engine plus repositories."""

from __future__ import annotations

import contextlib
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from talkme_consultant.store.bookings import BookingRepository
from talkme_consultant.store.browse import ConversationBrowser
from talkme_consultant.store.console import ConsoleRepository
from talkme_consultant.store.conversations import ConversationRepository
from talkme_consultant.store.database import Sessions, create_engine, migrate
from talkme_consultant.store.group_commit import GroupCommitInbox
from talkme_consultant.store.inbox import InboxRepository
from talkme_consultant.store.inbox_postgres import BatchedPostgresInbox
from talkme_consultant.store.inbox_sqlite import BatchedSqliteInbox
from talkme_consultant.store.knowledge import KnowledgeRepository, SqlEmbeddingCache
from talkme_consultant.store.leads import LeadRepository
from talkme_consultant.store.lessons import LessonsRepository
from talkme_consultant.store.locks import exclusive
from talkme_consultant.store.notifications import INBOX_CHANNEL
from talkme_consultant.store.operator_answers import OperatorAnswerRepository
from talkme_consultant.store.outbox import OutboxRepository
from talkme_consultant.store.overview import OverviewRepository
from talkme_consultant.store.questions import QuestionRepository
from talkme_consultant.store.stats import StatsRepository


class Store:
    """Owns the engine; built in the app's lifespan and closed with it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        sessions = Sessions(engine)
        database = engine.url.database
        self.inbox: InboxRepository | GroupCommitInbox
        if engine.dialect.name == "postgresql":
            url = engine.url.render_as_string(hide_password=False)
            self.inbox = BatchedPostgresInbox(url, notify_channel=INBOX_CHANNEL)
        elif database and database != ":memory:":
            self.inbox = BatchedSqliteInbox(Path(database), sessions.gate)
        else:
            self.inbox = InboxRepository(sessions)
        self.conversations = ConversationRepository(sessions)
        self.outbox = OutboxRepository(sessions)
        self.knowledge = KnowledgeRepository(sessions)
        self.embedding_cache = SqlEmbeddingCache(sessions)
        self.stats = StatsRepository(sessions)
        self.operator_answers = OperatorAnswerRepository(sessions)
        self.overview = OverviewRepository(sessions)
        self.browse = ConversationBrowser(sessions)
        self.leads = LeadRepository(sessions)
        self.lessons = LessonsRepository(sessions)
        self.questions = QuestionRepository(sessions)
        self.console = ConsoleRepository(sessions)
        self.bookings = BookingRepository(sessions)

    @classmethod
    async def open(
        cls, url: str, *, migrate_schema: bool = True, pool_size: int = 10, max_overflow: int = 10
    ) -> Store:
        """Migrate the schema to the newest revision (unless told not to) and connect."""
        if migrate_schema:
            await migrate(url)
        return cls(create_engine(url, pool_size=pool_size, max_overflow=max_overflow))

    def exclusive(self, name: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold a lock that spans every process on this database (see `store/locks.py`)."""
        return exclusive(self.engine, name)

    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        """Finish pending writes and release every connection."""
        if isinstance(self.inbox, GroupCommitInbox):
            await self.inbox.close()
        await self.engine.dispose()
