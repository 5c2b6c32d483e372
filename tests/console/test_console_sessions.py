"""The console's sessions hold against a guessed token, a forged proxy header and a copied cookie.

The service runs as an owner starts it (`talkme-consultant serve`, configured by its environment)
where the promise is about starting, and in the test's event loop otherwise.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import stat
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from talkme_consultant.config import SAMPLE_KNOWLEDGE_DIR
from talkme_consultant.web.auth import AdminTokenTooShort
from talkme_consultant.web.console.session import COOKIE_NAME, SignInThrottle
from tests.support.console_client import csrf_of
from tests.support.postgres import throwaway_database
from tests.support.processes import CLI, free_port, wait_until_healthy
from tests.support.service import ADMIN_TOKEN, running_service, service_settings


def serve_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """A production start's environment, with nothing of the caller's settings in it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADMIN_", "TRUSTED_"))}
    env.update(
        DATA_DIR=str(data_dir),
        KNOWLEDGE_DIR=str(SAMPLE_KNOWLEDGE_DIR),
        TALKME_TEST_MODE="true",
        EMBEDDER="none",
        LOG_LEVEL="WARNING",
        **extra,
    )
    return env


class Served:
    """`talkme-consultant serve` started by a spec; its output goes to `log`."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"serve-{self.port}.log"
        with self.log.open("wb") as handle:
            self.process = subprocess.Popen(
                [str(CLI), "serve", "--port", str(self.port)],
                env=env,
                cwd=workdir,  # no stray .env is read
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    async def healthy(self) -> None:
        await wait_until_healthy(self.url, self.process, self.log)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


@pytest.fixture
def spawned() -> Iterator[list[Served]]:
    """Every `serve` a spec starts, stopped at its end."""
    processes: list[Served] = []
    yield processes
    for process in processes:
        process.stop()


async def serve(
    spawned: list[Served], workdir: Path, data_dir: Path | None = None, **env: str
) -> Served:
    """Start `serve` with `env` on top of a production-like environment and wait for health."""
    settings = serve_env(data_dir or workdir / "data", **{"ADMIN_TOKEN": ADMIN_TOKEN, **env})
    served = Served(settings, workdir)
    spawned.append(served)
    await served.healthy()
    return served


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A migrated throwaway PostgreSQL database (skipped without a server, failed in CI)."""
    with throwaway_database() as url:
        yield url


@asynccontextmanager
async def sign_in_form(url: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A browser-like client holding the sign-in page's cookie, and that page's CSRF token."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client, csrf_of((await client.get("/console/login")).text)


async def sign_in(client: httpx.AsyncClient, csrf: str, token: str, **headers: str) -> int:
    """POST the sign-in form; the status it answers."""
    answer = await client.post(
        "/console/login", data={"csrf": csrf, "token": token}, headers=headers
    )
    return answer.status_code


async def signed_in_cookie(url: str) -> str:
    """The session cookie a browser gets for signing in with the right token."""
    async with sign_in_form(url) as (client, csrf):
        assert await sign_in(client, csrf, ADMIN_TOKEN) == 303
        cookie = client.cookies.get(COOKIE_NAME)
    assert cookie
    return cookie


async def console_status(url: str, cookie: str) -> int:
    """What `/console` answers a browser holding `cookie`: 200 signed in, 303 off to sign-in."""
    async with httpx.AsyncClient(base_url=url, cookies={COOKIE_NAME: cookie}) as client:
        return (await client.get("/console")).status_code


@pytest.mark.parametrize("token", ["owner", "x" * 23, "  twenty-three-letters-  "])
def test_an_admin_token_shorter_than_24_characters_is_refused_at_start(
    tmp_path: Path, token: str
) -> None:
    started = subprocess.run(
        [str(CLI), "serve", "--port", str(free_port())],
        env=serve_env(tmp_path / "data", ADMIN_TOKEN=token),
        cwd=tmp_path,  # no stray .env is read
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 2, started.stderr[-2000:]
    assert "ADMIN_TOKEN" in started.stderr and "24" in started.stderr
    assert token.strip() not in started.stderr + started.stdout, "a secret is never echoed"
    assert not (tmp_path / "data").exists(), "nothing was started or written"


async def test_a_generated_token_edited_down_to_a_short_one_is_refused_too(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    (data_dir / "admin_token").write_text("1234\n", encoding="utf-8")
    with pytest.raises(AdminTokenTooShort, match="admin_token"):
        async with running_service(
            service_settings(data_dir, None, admin_token=None, embedder="none")
        ):
            pass


async def test_a_forged_x_forwarded_for_does_not_escape_the_sign_in_throttle(
    tmp_path: Path, spawned: list[Served]
) -> None:
    # No TRUSTED_PROXIES: nobody's X-Forwarded-For is believed, not even from the loopback.
    served = await serve(spawned, tmp_path)
    async with sign_in_form(served.url) as (client, csrf):
        for number in range(5):
            forged = {"X-Forwarded-For": f"203.0.113.{number}"}
            assert await sign_in(client, csrf, "guess-" * 5, **forged) == 401
        forged = {"X-Forwarded-For": "198.51.100.77"}
        assert await sign_in(client, csrf, "guess-" * 5, **forged) == 429
        assert await sign_in(client, csrf, ADMIN_TOKEN, **forged) == 429, "the socket counts"


async def test_behind_a_trusted_proxy_the_address_it_forwards_is_the_client(
    tmp_path: Path, spawned: list[Served]
) -> None:
    served = await serve(spawned, tmp_path, TRUSTED_PROXIES="127.0.0.1, ::1")
    async with sign_in_form(served.url) as (client, csrf):
        # What nginx's $proxy_add_x_forwarded_for sends: whatever the client claimed, then the
        # address nginx saw. The last address the proxy did not add itself is the client.
        attacker = {"X-Forwarded-For": "10.9.9.9, 203.0.113.7"}
        for number in range(5):
            claimed = {"X-Forwarded-For": f"10.0.0.{number}, 203.0.113.7"}
            assert await sign_in(client, csrf, "guess-" * 5, **claimed) == 401
        assert await sign_in(client, csrf, "guess-" * 5, **attacker) == 429
        owner = {"X-Forwarded-For": "198.51.100.2"}
        assert await sign_in(client, csrf, ADMIN_TOKEN, **owner) == 303, "the owner is not locked"
        shown = (await client.get("/console/settings")).text
        assert "127.0.0.1, ::1" in shown and "TRUSTED_PROXIES" in shown, "the owner sees whom"


def test_trusted_proxies_must_be_addresses_or_networks(tmp_path: Path) -> None:
    started = subprocess.run(
        [str(CLI), "serve", "--port", str(free_port())],
        env=serve_env(tmp_path / "data", ADMIN_TOKEN=ADMIN_TOKEN, TRUSTED_PROXIES="nginx"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 2, started.stderr[-2000:]
    assert "TRUSTED_PROXIES" in started.stderr and "nginx" in started.stderr


async def test_addresses_taking_turns_meet_a_cap_on_everyone_that_ends_within_the_window(
    tmp_path: Path,
) -> None:
    settings = service_settings(
        tmp_path / "data", None, embedder="none", trusted_proxies="127.0.0.1"
    )
    async with running_service(settings) as service, sign_in_form(service.url) as (client, csrf):
        refused = []
        for number in range(30):
            rotating = {"X-Forwarded-For": f"203.0.{number // 250}.{number % 250 + 1}"}
            refused.append(await sign_in(client, csrf, "guess-" * 5, **rotating))
        assert refused.count(401) == SignInThrottle().total and refused[-1] == 429
        answer = await client.post(
            "/console/login",
            data={"csrf": csrf, "token": ADMIN_TOKEN},
            headers={"X-Forwarded-For": "198.51.100.2"},
        )
        assert answer.status_code == 429, "while the cap holds, sign-in waits for everyone"
        assert 0 < int(answer.headers["retry-after"]) <= 300, "but never past the window"


def unpadded(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


async def test_a_cookie_is_no_oracle_for_the_admin_token(tmp_path: Path) -> None:
    # Anyone may fetch the sign-in page and keep its cookie. Had its key been derived from the
    # token alone, trying candidate tokens against its signature offline would find the token.
    settings = service_settings(tmp_path / "data", None, embedder="none")
    async with running_service(settings) as service, sign_in_form(service.url) as (client, _):
        payload, _, signature = (client.cookies.get(COOKIE_NAME) or "").partition(".")
    for label in (b"talkme-console-session-v1", b"talkme-console-session-v2", b""):
        derived = hmac.new(ADMIN_TOKEN.encode(), label, hashlib.sha256).digest()
        guessed = hmac.new(derived, payload.encode(), hashlib.sha256).digest()
        assert unpadded(guessed) != signature
        direct = hmac.new(ADMIN_TOKEN.encode(), payload.encode(), hashlib.sha256).digest()
        assert unpadded(direct) != signature


async def test_the_cookie_key_is_kept_owner_only_in_data_dir_and_outlives_a_restart(
    tmp_path: Path, spawned: list[Served]
) -> None:
    first = await serve(spawned, tmp_path)
    cookie = await signed_in_cookie(first.url)
    key_file = tmp_path / "data" / "console_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    kept = key_file.read_bytes()
    assert ADMIN_TOKEN.encode() not in kept
    first.stop()

    again = await serve(spawned, tmp_path)
    assert key_file.read_bytes() == kept
    assert await console_status(again.url, cookie) == 200, "a restart signs nobody out"


async def test_processes_sharing_a_data_dir_share_the_cookie_key(
    tmp_path: Path, spawned: list[Served]
) -> None:
    one, other = await asyncio.gather(serve(spawned, tmp_path), serve(spawned, tmp_path))
    assert await console_status(other.url, await signed_in_cookie(one.url)) == 200
    assert await console_status(one.url, await signed_in_cookie(other.url)) == 200
    assert [p.name for p in (tmp_path / "data").iterdir() if "console_key" in p.name] == [
        "console_key"
    ]


async def test_processes_on_hosts_of_their_own_share_the_key_and_sign_outs_through_postgresql(
    tmp_path: Path, spawned: list[Served], postgres_url: str
) -> None:
    # Two hosts: one database, a DATA_DIR each.
    one, other = await asyncio.gather(
        serve(spawned, tmp_path, tmp_path / "host-1", DATABASE_URL=postgres_url),
        serve(spawned, tmp_path, tmp_path / "host-2", DATABASE_URL=postgres_url),
    )
    cookie = await signed_in_cookie(one.url)
    assert await console_status(other.url, cookie) == 200
    assert await console_status(one.url, await signed_in_cookie(other.url)) == 200
    assert not (tmp_path / "host-1" / "console_key").exists(), "the database keeps it"

    assert await sign_out(other.url, cookie) == 303
    assert await console_status(one.url, cookie) == 303, "signed out on one, out on all"


async def sign_out(url: str, cookie: str) -> int:
    """Press «Выйти» in a browser holding `cookie`; the status it answers."""
    async with httpx.AsyncClient(base_url=url, cookies={COOKIE_NAME: cookie}) as client:
        csrf = csrf_of((await client.get("/console")).text)
        return (await client.post("/console/logout", data={"csrf": csrf})).status_code


async def test_a_copied_cookie_is_refused_after_sign_out(tmp_path: Path) -> None:
    settings = service_settings(tmp_path / "data", None, embedder="none")
    async with running_service(settings) as service:
        cookie = await signed_in_cookie(service.url)
        phone = await signed_in_cookie(service.url)
        async with httpx.AsyncClient(base_url=service.url, cookies={COOKIE_NAME: cookie}) as copy:
            csrf = csrf_of((await copy.get("/console")).text)

            assert await sign_out(service.url, cookie) == 303
            page = await copy.get("/console/leads")
            assert page.status_code == 303 and page.headers["location"] == "/console/login"
            change = await copy.post(
                "/console/leads/1/status", data={"csrf": csrf, "status": "done"}
            )
            assert change.status_code == 401, "the copy changes nothing, its CSRF token neither"
            again = await copy.get("/console/login")
            assert again.status_code == 200 and 'data-testid="login-token"' in again.text
        assert await console_status(service.url, phone) == 200, "another device stays signed in"
