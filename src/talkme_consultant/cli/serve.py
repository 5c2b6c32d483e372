"""Running the service: `serve`, `worker`, `db upgrade` and `chat` in the terminal."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from talkme_consultant.cli.common import NoMigrate, check_profile, load_settings, run
from talkme_consultant.config import Settings
from talkme_consultant.logs import setup_logging

if TYPE_CHECKING:
    pass

db_app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (PORT).")] = None,
    no_workers: Annotated[
        bool,
        typer.Option(
            "--no-workers",
            help="HTTP only (webhook, admin, console); turns run in `worker` processes.",
        ),
    ] = False,
    no_migrate: NoMigrate = False,
) -> None:
    """Start the service: webhook, monitoring and admin API, and (unless --no-workers) the
    turn workers and the outbox."""
    import uvicorn

    from talkme_consultant.web.app import create_app
    from talkme_consultant.web.webhook_access import WebhookSecretMissing

    settings = load_settings(host=host, port=port)
    setup_logging(settings.log_level, settings.secret_values(), settings.log_format)
    check_profile(settings)
    try:
        app_ = create_app(
            settings,
            role="web" if no_workers else "all",
            migrate=not no_migrate,
            freeze_startup=True,
        )
    except WebhookSecretMissing as error:
        typer.echo(f"configuration error: {error}", err=True)
        raise typer.Exit(2) from error
    _announce_console(settings)
    uvicorn.run(
        app_,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        # Request lines only when debugging; they pass the same redaction as every other line.
        access_log=settings.log_level.upper() == "DEBUG",
        log_config=None,
        # Only these proxies' X-Forwarded-For makes a client address (the sign-in throttle
        # counts by it); uvicorn's own default would believe anyone on the loopback.
        forwarded_allow_ips=settings.trusted_proxy_list,
    )


def _announce_console(settings: Settings) -> None:
    """Say where the owner's console is and which token signs in (never the token itself)."""
    from talkme_consultant.web.auth import TOKEN_FILE

    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    if settings.admin_token:
        how = "sign in with ADMIN_TOKEN"
    else:
        how = f"sign in with the admin token stored in {settings.data_dir / TOKEN_FILE}"
    logging.getLogger("talkme_consultant.cli").info(
        "owner's console: http://%s:%d/console — %s", host, settings.port, how
    )


def worker(no_migrate: NoMigrate = False) -> None:
    """Run turns and the outbox without HTTP; any number share DATABASE_URL with web processes."""
    settings = load_settings()
    setup_logging(settings.log_level, settings.secret_values())
    check_profile(settings)
    if settings.worker_nice:
        # Acknowledging a webhook takes a millisecond and TalkMe waits for it; an answer takes
        # tens and the visitor would not notice a few more. On shared cores, webhooks go first.
        os.nice(settings.worker_nice)
    run(_work(settings, migrate=not no_migrate))


async def _work(settings: Settings, *, migrate: bool) -> None:
    import signal

    from talkme_consultant.helpers.collector import freeze_startup_objects
    from talkme_consultant.service.runtime import Runtime

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runtime = await Runtime.open(settings, migrate=migrate)
    try:
        await runtime.start_background("worker")
        freeze_startup_objects()
        # The line process supervisors and the multi-process specs wait for.
        typer.echo(f"worker ready: {runtime.owner}", err=True)
        await stop.wait()
    finally:
        await runtime.close()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the schema of DATABASE_URL to the newest revision (safe from several hosts at
    once: one upgrades, the others wait and find nothing to do)."""
    from talkme_consultant.helpers.private_files import ensure_private_dir
    from talkme_consultant.store.database import migrate

    settings = load_settings()
    setup_logging("WARNING", settings.secret_values())
    if settings.database_url is None:
        ensure_private_dir(settings.data_dir)
    run(migrate(settings.resolved_database_url))
    typer.echo("the database schema is at the newest revision")


def chat() -> None:
    """Talk to the bot in the terminal (the same engine, knowledge base and memory; no TalkMe)."""
    settings = load_settings()
    setup_logging("WARNING", settings.secret_values())
    check_profile(settings)
    run(_chat(settings))


async def _chat(settings: Settings) -> None:
    from talkme_consultant.cli_chat import chat_loop
    from talkme_consultant.service.runtime import Runtime

    console = Console()
    with console.status("Loading the knowledge base…"):
        runtime = await Runtime.open(settings)
    try:
        await chat_loop(runtime, console)
    finally:
        await runtime.close()
