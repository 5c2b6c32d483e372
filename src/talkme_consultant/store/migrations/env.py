"""Alembic environment: runs migrations over the application's async engine URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from talkme_consultant.store.database import create_engine
from talkme_consultant.store.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    """Entry point Alembic calls; the URL comes from the config the app built."""
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("migrations need sqlalchemy.url")
    asyncio.run(_run_async(url))


run_migrations_online()
