"""The console's sessions hold against a guessed token, a forged proxy header and a copied cookie.

The service runs as an owner starts it (`talkme-consultant serve`, configured by its environment)
where the promise is about starting, and in the test's event loop otherwise.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from talkme_consultant.config import SAMPLE_KNOWLEDGE_DIR
from talkme_consultant.web.auth import AdminTokenTooShort
from tests.support.processes import CLI, free_port
from tests.support.service import running_service, service_settings


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
