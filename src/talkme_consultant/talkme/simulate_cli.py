"""``talkme-consultant simulate``: talk to a running service through a local TalkMe stand-in.

The command's one door to the stand-in: ``cli.py`` imports this module and nothing else of the
simulator or the scripted visitor (the import contract in ``pyproject.toml`` allows this one edge).

The simulator listens on ``sim_host:sim_port``; the service must be started with
``TALKME_API_URL=http://SIM_HOST:SIM_PORT/json/v1.0`` and ``TALKME_TEST_MODE=false`` so its
replies come back here. A scripted visitor then says each line and the dialogue is printed.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import SecretStr
from rich.console import Console
from rich.markup import escape

from talkme_consultant.config import Settings
from talkme_consultant.talkme.simulator import API_PREFIX, DEFAULT_ACCOUNT_KEY, running_simulator
from talkme_consultant.talkme.visitor import DEFAULT_SCRIPT, Exchange, Visitor, play_script

__all__ = [
    "DEFAULT_SCRIPT",
    "EXIT_NO_REPLY",
    "EXIT_OK",
    "EXIT_SETUP",
    "demo_service_settings",
    "run_simulation",
]

EXIT_OK = 0
EXIT_NO_REPLY = 1
"""A reply did not arrive in time."""
EXIT_SETUP = 2
"""The simulator could not listen, or the service could not be reached or refused the webhook."""


async def run_simulation(
    service_url: str,
    sim_host: str,
    sim_port: int,
    lines: Sequence[str],
    webhook_secret: str | None,
    console: Console,
    *,
    reply_timeout: float = 30.0,
    secret_in_query: bool = False,
    visitor: Visitor | None = None,
) -> int:
    """Start the simulator, play ``lines`` against the service, print the dialogue.

    Returns :data:`EXIT_OK` when every line was answered, :data:`EXIT_NO_REPLY` when a reply did
    not come within ``reply_timeout`` seconds, :data:`EXIT_SETUP` when the simulator could not
    start or the webhook was not accepted. Each failure is printed with a hint.
    """
    try:
        async with running_simulator(sim_host, sim_port) as sim:
            console.print(f"TalkMe simulator listening on [bold]{sim.url}[/bold]")
            console.print(
                "The service must send its replies here; start it with\n"
                f"  [bold]TALKME_API_URL={sim.api_url} TALKME_TEST_MODE=false[/bold]\n"
                "and, for the account API (operators, client cards),\n"
                f"  [bold]TALKME_ACCOUNT_API_URL={sim.api_url} "
                f"TALKME_ACCOUNT_API_KEY={sim.state.account.key}[/bold]\n"
                f"Visitor → {escape(service_url)}\n"
            )
            exchanges = await play_script(
                service_url,
                sim.state,
                lines,
                visitor=visitor,
                webhook_secret=webhook_secret,
                secret_in_query=secret_in_query,
                reply_timeout=reply_timeout,
            )
            for exchange in exchanges:
                _print_exchange(console, exchange)
            return _verdict(console, exchanges, service_url, sim.api_url)
    except OSError as exc:
        console.print(
            f"[red]The simulator cannot listen on {sim_host}:{sim_port}: {escape(str(exc))}[/red]\n"
            "Is another simulator (or the service itself) using that port? Choose another port."
        )
        return EXIT_SETUP


def demo_service_settings(
    settings: Settings, sim_host: str, sim_port: int, secret: str
) -> Settings:
    """``settings`` for a service (``simulate --start-service``) that talks to the stand-in at
    ``sim_host:sim_port`` as it would to TalkMe, and guards its webhook with ``secret``."""
    api_url = f"http://{sim_host}:{sim_port}{API_PREFIX}"
    return settings.model_copy(
        update={
            "talkme_api_url": api_url,
            "talkme_test_mode": False,
            "webhook_secret": SecretStr(secret),
            # The demo never reaches the owner's real account: its account API is the stand-in.
            "talkme_account_api_url": api_url,
            "talkme_account_api_key": SecretStr(DEFAULT_ACCOUNT_KEY),
        }
    )


def _print_exchange(console: Console, exchange: Exchange) -> None:
    console.print(f"[bold cyan]Посетитель:[/bold cyan] {escape(exchange.line)}")
    for reply in exchange.replies:
        console.print(f"[bold green]Бот:[/bold green] {escape(reply)}")
    if exchange.finish_code is not None:
        console.print(f"[yellow]→ finish {escape(exchange.finish_code)}[/yellow]")
    if exchange.seconds is not None:
        typing = ", typing shown" if exchange.typing else ""
        console.print(f"[dim]({exchange.seconds:.1f} s{typing})[/dim]")
    if exchange.error is not None:
        console.print(f"[red]{escape(exchange.error)}[/red]")
    console.print()


def _verdict(
    console: Console, exchanges: Sequence[Exchange], service_url: str, api_url: str
) -> int:
    failed = next((exchange for exchange in exchanges if exchange.error is not None), None)
    if failed is None:
        console.print(f"[green]All {len(exchanges)} lines answered.[/green]")
        return EXIT_OK
    status = failed.webhook_status
    if status is None:
        console.print(
            f"[red]Hint:[/red] is the service running at {escape(service_url)}? "
            f"Start it with TALKME_API_URL={api_url} TALKME_TEST_MODE=false."
        )
        return EXIT_SETUP
    if status in (401, 403):
        console.print(
            "[red]Hint:[/red] the service refused the webhook secret; pass the secret "
            "the service has in WEBHOOK_SECRET."
        )
        return EXIT_SETUP
    if not 200 <= status < 300:
        console.print(
            "[red]Hint:[/red] the service did not accept the webhook; see its answer above."
        )
        return EXIT_SETUP
    console.print(
        "[red]Hint:[/red] the service took the message but no reply reached the simulator. "
        f"Is the service running with TALKME_API_URL={api_url} and TALKME_TEST_MODE=false?"
    )
    return EXIT_NO_REPLY
