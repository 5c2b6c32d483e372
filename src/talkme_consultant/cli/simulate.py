"""`simulate`: a scripted visitor through a local TalkMe stand-in."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from talkme_consultant.cli.common import load_settings, run
from talkme_consultant.config import Settings
from talkme_consultant.logs import setup_logging

if TYPE_CHECKING:
    pass


def simulate(
    service_url: Annotated[
        str, typer.Option(help="The running service to talk to.")
    ] = "http://127.0.0.1:8000",
    sim_host: Annotated[
        str, typer.Option(help="Where the TalkMe simulator listens.")
    ] = "127.0.0.1",
    sim_port: Annotated[int, typer.Option(help="The simulator's port.")] = 8100,
    line: Annotated[
        list[str] | None, typer.Option("--line", "-l", help="A visitor line (repeatable).")
    ] = None,
    start_service: Annotated[
        bool,
        typer.Option(
            "--start-service",
            help="Also start the service here, pointed at the simulator (one-command demo).",
        ),
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each reply.")] = 30.0,
) -> None:
    """Play a scripted visitor through a local TalkMe stand-in and print the dialogue."""
    from talkme_consultant.talkme.simulate_cli import DEFAULT_SCRIPT

    settings = load_settings()
    setup_logging("WARNING", settings.secret_values())
    lines = list(line) if line else list(DEFAULT_SCRIPT)
    code = run(_simulate(settings, service_url, sim_host, sim_port, lines, start_service, timeout))
    raise typer.Exit(code)


async def _simulate(
    settings: Settings,
    service_url: str,
    sim_host: str,
    sim_port: int,
    lines: list[str],
    start_service: bool,
    timeout: float,
) -> int:
    from talkme_consultant.helpers.serving import serve_app
    from talkme_consultant.talkme.simulate_cli import demo_service_settings, run_simulation
    from talkme_consultant.web.app import create_app

    console = Console()
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    if not start_service:
        return await run_simulation(
            service_url, sim_host, sim_port, lines, secret, console, reply_timeout=timeout
        )
    if not secret:
        # The demo service talks to TalkMe's stand-in as in production, so it needs a secret;
        # one made up for this run is as good as any.
        import secrets

        secret = secrets.token_urlsafe(16)
    app_ = create_app(demo_service_settings(settings, sim_host, sim_port, secret))
    async with app_.router.lifespan_context(app_), serve_app(app_, "127.0.0.1", 0) as url:
        return await run_simulation(
            url, sim_host, sim_port, lines, secret, console, reply_timeout=timeout
        )
