"""The database engine, its SQLite tuning, and schema migrations."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
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
from talkme_consultant.store.locks import LOCK_MIGRATIONS, exclusive

# What a write begins: an ORM session or a plain connection.
_Begun = TypeVar("_Begun", AsyncSession, AsyncConnection)

log = logging.getLogger(__name__)

WRITE_OPTION = "talkme_write"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# SQLite's own busy handler waits this long for another process's write lock...
SQLITE_BUSY_TIMEOUT_MS = 10000
# ...and then a write is begun again this many times, with a doubling pause, before it fails.
SQLITE_BUSY_RETRIES = 5
SQLITE_BUSY_PAUSE_SECONDS = 0.05
POOL_RECYCLE_SECONDS = 1800
POOL_TIMEOUT_SECONDS = 5
CONNECT_TIMEOUT_SECONDS = 5


def is_sqlite_busy(error: BaseException) -> bool:
    """True for SQLITE_BUSY / SQLITE_LOCKED: another process holds the write lock."""
    cause = error.orig if isinstance(error, OperationalError) else error
    if not isinstance(cause, sqlite3.OperationalError):
        return False
    message = str(cause).lower()
    return "locked" in message or "busy" in message


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
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
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


def asyncpg_dsn(url: str) -> str:
    """The plain libpq URL asyncpg takes, from a SQLAlchemy one (without its driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10) -> AsyncEngine:
    """Build the async engine for `url`, creating the SQLite file (owner-only) when needed.

    On PostgreSQL every connection is checked before use (`pool_pre_ping`) and none is kept
    longer than `POOL_RECYCLE_SECONDS`, so after the database or the network between went away
    the pool heals by itself: the first use of each dead connection replaces it.
    """
    parsed = make_url(url)
    _ensure_sqlite_file(url)
    # SQLAlchemy puts bound parameters (tokens, phones, message text) into its error messages,
    # and error messages reach the logs.
    kwargs: dict[str, Any] = {"hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": 10}
    else:
        kwargs.update(
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=True,
            pool_recycle=POOL_RECYCLE_SECONDS,
            # A pool that is empty because the database is unreachable fails the request soon
            # (the webhook answers 503) instead of queuing it for half a minute.
            pool_timeout=POOL_TIMEOUT_SECONDS,
            connect_args={"timeout": CONNECT_TIMEOUT_SECONDS},
        )
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        _tune_sqlite(engine, _sqlite_file(parsed.database))
    return engine


class Sessions:
    """Read sessions and write transactions; on SQLite, writers queue at one in-process gate.

    The turn workers' hot path (scheduling, a turn's start and end, the outbox) uses the plain
    connections of `read_connection` / `write_connection` with Core statements: an ORM session
    costs more Python per statement than the statement itself takes SQLite to run.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._factory = async_sessionmaker(engine, expire_on_commit=False)
        self.sqlite = engine.dialect.name == "sqlite"
        self.gate = WriteGate()

    def read(self) -> AsyncSession:
        """A session for reading (use as `async with`)."""
        return self._factory()

    @contextlib.asynccontextmanager
    async def read_connection(self) -> AsyncIterator[AsyncConnection]:
        """A plain connection for reading; its transaction is rolled back when the block ends."""
        async with self._engine.connect() as connection:
            yield connection

    @contextlib.asynccontextmanager
    async def write(self, *, urgent: bool = False) -> AsyncIterator[AsyncSession]:
        """A session inside one write transaction, committed when the block ends."""
        gate = self.gate.hold(urgent=urgent) if self.sqlite else contextlib.nullcontext()
        async with gate:
            session = await self._begin_write()
            async with session:
                try:
                    yield session
                except BaseException:
                    await session.rollback()
                    raise
                await session.commit()

    @contextlib.asynccontextmanager
    async def write_connection(self) -> AsyncIterator[AsyncConnection]:
        """A plain connection inside one write transaction (as `write`), committed when the
        block ends."""
        gate = self.gate.hold() if self.sqlite else contextlib.nullcontext()
        async with gate:
            connection = await self._begin_write_connection()
            try:
                try:
                    yield connection
                except BaseException:
                    await connection.rollback()
                    raise
                await connection.commit()
            finally:
                await connection.close()

    async def _begin_write(self) -> AsyncSession:
        """A session holding the write lock (BEGIN IMMEDIATE on SQLite), begun again while
        SQLite is busy (see `_while_busy`)."""

        async def begin() -> AsyncSession:
            session = self._factory()
            try:
                await session.connection(execution_options={WRITE_OPTION: True})
            except BaseException:
                await session.close()
                raise
            return session

        return await self._while_busy(begin)

    async def _begin_write_connection(self) -> AsyncConnection:
        """A connection holding the write lock, begun again while SQLite is busy (see
        `_while_busy`)."""

        async def begin() -> AsyncConnection:
            connection = await self._engine.connect()
            try:
                await connection.execution_options(**{WRITE_OPTION: True})
                await connection.begin()
            except BaseException:
                await connection.close()
                raise
            return connection

        return await self._while_busy(begin)

    async def _while_busy(self, begin: Callable[[], Awaitable[_Begun]]) -> _Begun:
        """`begin()` (which closes what it opened when it fails), tried again after a growing
        pause while SQLite is busy. The in-process gate does not span processes: a worker
        process may hold SQLite's lock longer than the busy timeout, and nothing was written
        yet."""
        pause = SQLITE_BUSY_PAUSE_SECONDS
        retries = 0
        while True:
            try:
                return await begin()
            except OperationalError as error:
                retries += 1
                if not self._busy_again(error, retries):
                    raise
            await asyncio.sleep(pause)
            pause *= 2

    def _busy_again(self, error: OperationalError, retries: int) -> bool:
        """Whether a failed BEGIN is worth beginning again: SQLite busy, retries left."""
        if not self.sqlite or not is_sqlite_busy(error) or retries > SQLITE_BUSY_RETRIES:
            return False
        log.warning("SQLite is busy in another process; beginning the write again")
        return True


def _alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def migrate(url: str) -> None:
    """Bring the schema to the newest revision (Alembic runs its own loop, so off-thread).

    Several instances may start at once: one migrates under a process-spanning lock while the
    others wait, then find the schema at the newest revision and do nothing.
    """
    _ensure_sqlite_file(url)
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with exclusive(engine, LOCK_MIGRATIONS):
            await asyncio.to_thread(command.upgrade, _alembic_config(url), "head")
    finally:
        await engine.dispose()
