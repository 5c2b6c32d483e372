"""What every command shares: running a coroutine, reading settings, checking the profile."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Annotated, Any, TypeVar

import typer

from talkme_consultant.config import Settings

NoMigrate = Annotated[
    bool,
    typer.Option(
        "--no-migrate",
        help="Do not upgrade the schema at start (run `talkme-consultant db upgrade` first).",
    ),
]

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine to its end."""
    return asyncio.run(coroutine)


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment with the command's options on top; a bad value ends the
    command with its name and the problem (exit 2)."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except Exception as error:  # pydantic's message names the variable and the problem
        typer.echo(f"configuration error: {error}", err=True)
        raise typer.Exit(2) from error


def check_profile(settings: Settings) -> None:
    """Fail fast, with the file and field named, before anything starts."""
    from talkme_consultant.profile import ProfileError, load_profile

    try:
        load_profile(settings.profile_path)
    except ProfileError as error:
        typer.echo(f"profile error: {error}", err=True)
        raise typer.Exit(2) from error
