"""The database engine, its SQLite tuning, and schema migrations."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from talkme_consultant.helpers.private_files import (
    PRIVATE_DIR_MODE,
    make_private_file,
    tighten_sqlite_files,
)
from talkme_consultant.store.gate import WriteGate

WRITE_OPTION = "talkme_write"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _tune_sqlite(engine: AsyncEngine, database: Path | None) -> None:
    """WAL lets readers run beside the writer; BEGIN IMMEDIATE makes writers queue on the
    busy timeout instead of failing when a read transaction later needs to write."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event own transactions (pysqlite's implicit BEGIN is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a process crash (kill -9); only power loss can lose the
        # last transactions, which is the usual trade for an embedded store.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()
        if database is not None:
            # The -wal and -shm files exist from here on; a database made by an older version
            # may have left them readable by everyone.
            tighten_sqlite_files(database)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Readers never take the write lock (WAL gives them a snapshot); writers take it at
        # BEGIN, after queuing at the in-process gate (see Sessions.write).
        if connection.get_execution_options().get(WRITE_OPTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def _sqlite_file(database: str | None) -> Path | None:
    """The SQLite database file, or None for an in-memory database."""
    if database in (None, "", ":memory:"):
        return None
    return Path(str(database))


def _ensure_sqlite_file(url: str) -> None:
    """Create the SQLite file 0600 (in a 0700 folder if the folder is new) before SQLite does:
    it holds tokens, phone numbers and leads, and SQLite gives its side files the main file's
    permissions. An existing folder is left as it is (DATABASE_URL may point anywhere; DATA_DIR
    itself is tightened by the runtime)."""
    parsed = make_url(url)
    database = _sqlite_file(parsed.database)
    if parsed.get_backend_name() == "sqlite" and database is not None:
        database.parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        make_private_file(database)
        tighten_sqlite_files(database)


def create_engine(url: str) -> AsyncEngine:
    """Build the async engine for `url`, creating the SQLite file (owner-only) when needed."""
    parsed = make_url(url)
    _ensure_sqlite_file(url)
    # SQLAlchemy puts bound parameters (tokens, phones, message text) into its error messages,
    # and error messages reach the logs.
    kwargs: dict[str, Any] = {"hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": 10}
    else:
        kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        _tune_sqlite(engine, _sqlite_file(parsed.database))
    return engine


class Sessions:
    """Read sessions and write transactions; on SQLite, writers queue at one in-process gate."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._factory = async_sessionmaker(engine, expire_on_commit=False)
        self.sqlite = engine.dialect.name == "sqlite"
        self.gate = WriteGate()

    def read(self) -> AsyncSession:
        """A session for reading (use as `async with`)."""
        return self._factory()

    @contextlib.asynccontextmanager
    async def write(self, *, urgent: bool = False) -> AsyncIterator[AsyncSession]:
        """A session inside one write transaction, committed when the block ends."""
        gate = self.gate.hold(urgent=urgent) if self.sqlite else contextlib.nullcontext()
        async with gate, self._factory() as session, session.begin():
            await session.connection(execution_options={WRITE_OPTION: True})
            yield session


def _alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def migrate(url: str) -> None:
    """Bring the schema to the newest revision (Alembic runs its own loop, so off-thread)."""
    _ensure_sqlite_file(url)
    await asyncio.to_thread(command.upgrade, _alembic_config(url), "head")
